"""The input boundary's rules (smsdash/boundary.py), on hand-picked and generated values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from smsdash import boundary

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", ["a\x00b", "\x1b[31m", "id\x7f", "\x85", "\ud800", "x\udfff"])
def test_it_refuses_control_characters_and_lone_surrogates(value):
    assert boundary.text_rule(value) == boundary.CONTROL_CHARACTER


def test_it_allows_line_breaks_and_tabs_only_in_multiline_text():
    assert boundary.text_rule("Your code is 1234.\nValid 5 min.\t", multiline=True) is None
    assert boundary.text_rule("line\nbreak") == boundary.CONTROL_CHARACTER


def test_it_names_the_length_rule():
    assert boundary.text_rule("x" * 65, max_length=64) == "Must be at most 64 characters."
    assert boundary.text_rule("验证码" * 21, max_length=64) is None


@given(st.text())
def test_any_text_it_accepts_is_storable_in_postgresql_and_utf8(value):
    if boundary.text_rule(value, multiline=True) is None:
        assert "\x00" not in value
        value.encode("utf-8")  # a lone surrogate would raise here, as it does in psycopg


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "Must not be before 2000-01-01."),
        (datetime(1, 1, 1, tzinfo=UTC), "Must not be before 2000-01-01."),
        (datetime(1900, 6, 1, tzinfo=UTC), "Must not be before 2000-01-01."),
        (NOW + timedelta(minutes=6), "Must not be more than 300 seconds in the future."),
        (datetime(2026, 11, 23, tzinfo=timezone(timedelta(hours=19, minutes=59))), boundary.OFFSET_OUT_OF_RANGE),
        (datetime(2026, 11, 23), boundary.NAIVE_TIME),
    ],
)
def test_it_refuses_times_outside_the_window(value, rule):
    assert boundary.moment_rule(value, now=NOW) == rule


@pytest.mark.parametrize(
    "value",
    [
        datetime(2000, 1, 1, tzinfo=UTC),
        NOW + timedelta(minutes=4),
        datetime(2026, 11, 23, tzinfo=timezone(timedelta(hours=14))),
        datetime(2026, 11, 22, tzinfo=timezone(timedelta(hours=-12))),
    ],
)
def test_it_accepts_times_inside_the_window(value):
    assert boundary.moment_rule(value, now=NOW) is None


def test_the_window_follows_the_settings(settings):
    settings.INPUT_EARLIEST_DATE = "2020-01-01"
    settings.INPUT_FUTURE_TOLERANCE_SECONDS = 60
    assert boundary.moment_rule(datetime(2019, 12, 31, tzinfo=UTC), now=NOW) == "Must not be before 2020-01-01."
    too_late = "Must not be more than 60 seconds in the future."
    assert boundary.moment_rule(NOW + timedelta(seconds=61), now=NOW) == too_late


@pytest.mark.parametrize("value", ["+1٤١٥٥٥٥٠١٢٣", "+1𝟡4155550123", "+８６138"])
def test_it_refuses_digits_outside_ascii(value):
    assert boundary.digits_rule(value) == boundary.NOT_ASCII_DIGITS


def test_the_form_validators_raise_with_the_rule():
    with pytest.raises(ValidationError, match="control characters"):
        boundary.validate_text("SMS_\x00001")
    boundary.validate_multiline_text("line one\nline two")
