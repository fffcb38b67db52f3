"""Erasure of one phone number on request: its messages and receipts are anonymised, not deleted.

Anonymised rather than deleted so the dashboard's figures (counted per account, template, country
and hour) and the conversion reports still owed to providers stay as they were: the number goes, and
with it the message's text (which may name the person), its country, template, status and times
stay. An update of the phone and text changes no counted column, so the rollup triggers mark nothing.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.messaging import phone as phones
from apps.messaging.models import Conversion, DeliveryReceipt, SentMessage

ERASED_PHONE = ""  # what an erased row holds instead of its number


def phone_rows_anonymise(*, phone: str) -> dict[str, int]:
    """Remove the number (and the messages' text) from every message and receipt that holds it;
    returns how many messages, conversions (of those messages) and receipts it touched."""
    if not phones.is_e164(phone):
        raise ValidationError({"phone": phones.INVALID_PHONE})
    messages = SentMessage.objects.filter(phone=phone)
    conversions = Conversion.objects.filter(message__phone=phone).count()
    return {
        "messages": messages.update(phone=ERASED_PHONE, content=""),
        "conversions": conversions,
        "receipts": DeliveryReceipt.objects.filter(phone=phone).update(phone=ERASED_PHONE),
    }
