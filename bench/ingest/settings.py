"""Benchmark settings: the project's own, plus the anchor view's URL (bench/ingest/anchor.py)."""

import os

from smsdash.settings import *  # noqa: F403
from smsdash.settings import CONVERSION_REPORTING

ROOT_URLCONF = "bench.ingest.urls"
# Report threads per worker job, to compare settings without editing smsdash/settings.py.
CONVERSION_REPORTING = {
    **CONVERSION_REPORTING,
    "THREADS": int(os.environ.get("BENCH_REPORT_THREADS", CONVERSION_REPORTING["THREADS"])),
}
