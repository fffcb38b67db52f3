"""Messaging services: every write to messages, conversions and API tokens goes through here."""

from apps.messaging.services.conversions import conversion_record, conversions_record_batch
from apps.messaging.services.inputs import ConversionInput, ItemResult, MessageInput, Outcome
from apps.messaging.services.messages import message_record, messages_record_batch
from apps.messaging.services.reporting import (
    conversion_resend,
    conversions_due,
    conversions_report,
    conversions_sweep,
)
from apps.messaging.services.tokens import api_token_authenticate, api_token_create, api_token_revoke

__all__ = [
    "ConversionInput",
    "ItemResult",
    "MessageInput",
    "Outcome",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "conversion_record",
    "conversion_resend",
    "conversions_due",
    "conversions_record_batch",
    "conversions_report",
    "conversions_sweep",
    "message_record",
    "messages_record_batch",
]
