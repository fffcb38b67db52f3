"""Phone numbers are personal data: masked in every page and export for users without the
"view phone numbers" permission; superusers and users with it see them in full."""

from __future__ import annotations

import pytest

from apps.messaging.phone import mask_phone


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+8613800138000", "+86 138****8000"),
        ("+14155550100", "+1 415****0100"),
        ("+919876543210", "+91 987****3210"),
        ("+4420123456", "+44 ****56"),  # too short to keep 7 digits: only the last 2
        ("13800138000", "****00"),  # not E.164
        ("", ""),
    ],
)
def test_a_masked_number_keeps_its_calling_code_first_three_and_last_four_digits(phone, shown):
    assert mask_phone(phone) == shown
