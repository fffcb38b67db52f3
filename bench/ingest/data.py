"""Data for the ingest benchmark: an account, a token and pools of sent messages, bulk-inserted."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from apps.messaging.models import SentMessage
from apps.messaging.services import ConversionInput, api_token_create, conversions_record_batch
from apps.providers.models import ProviderAccount
from apps.providers.simulator import defaults


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE messaging_conversion, messaging_sentmessage, messaging_apitoken, "
            "providers_provideraccount RESTART IDENTITY CASCADE"
        )


def ingest_account(name: str = "bench ingest") -> tuple[ProviderAccount, str]:
    # Points nowhere: the ingest benchmark measures recording; no report is sent during it.
    account = ProviderAccount.objects.create(
        provider="plivo",
        name=name,
        key_id="MABENCH0000000000001",
        key_secret="x",
        endpoint="http://127.0.0.1:9",
    )
    return account, api_token_create(account=account, name="bench")[1]


def report_account(simulator_url: str) -> ProviderAccount:
    key_id, secret = defaults.DEMO_TENCENT_KEY
    return ProviderAccount.objects.create(
        provider="tencent",
        name="bench reporting",
        key_id=key_id,
        key_secret=secret,
        region="ap-guangzhou",
        sdk_app_id=defaults.DEMO_TENCENT_APP_ID,
        endpoint=simulator_url,
    )


def messages(account: ProviderAccount, prefix: str, count: int) -> list[tuple[int, str]]:
    """count messages sent an hour ago; returns (pk, provider message id) in order."""
    sent_at = timezone.now() - timedelta(hours=1)
    for start in range(0, count, 5000):
        SentMessage.objects.bulk_create(
            SentMessage(
                account=account,
                provider_message_id=f"{prefix}-{n}",
                phone=f"+86138{n:08d}",
                country="CN",
                sent_at=sent_at,
            )
            for n in range(start, min(count, start + 5000))
        )
    with connection.cursor() as cursor:  # fresh statistics, as a production table has: plans depend on them
        cursor.execute("ANALYZE messaging_sentmessage, messaging_conversion")
    rows = SentMessage.objects.filter(account=account, provider_message_id__startswith=f"{prefix}-")
    return sorted(rows.values_list("pk", "provider_message_id"), key=lambda row: int(row[1].rsplit("-", 1)[1]))


def conversions(account: ProviderAccount, messages: list[tuple[int, str]]) -> None:
    """A converted conversion for each message, recorded (and queued for reporting) as the API does
    it for batches: one report job per 1,000."""
    now = timezone.now()
    for begin in range(0, len(messages), 1000):
        items = [
            ConversionInput(status="converted", converted_at=now, provider_message_id=message_id)
            for _, message_id in messages[begin : begin + 1000]
        ]
        conversions_record_batch(account=account, items=items)
