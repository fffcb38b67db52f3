"""Benchmark settings: the project's own, plus the anchor view's URL (bench/ingest/anchor.py)."""

from smsdash.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ingest.urls"
