"""Shared set-up of the reporting tests: messages known to the simulator and to smsdash."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.messaging.models import Conversion, SentMessage
from apps.providers.models import Provider

PHONES = {Provider.ALIYUN: "+6591{:06d}", Provider.TENCENT: "+8613{:09d}", Provider.PLIVO: "+1415555{:04d}"}


def sent_messages(simulator, account, count: int, *, trackable: bool = True) -> list[SentMessage]:
    """count messages sent ten minutes ago, known to the simulated provider and recorded in smsdash."""
    sent_at = (timezone.now() - timedelta(minutes=10)).replace(microsecond=0)
    messages = []
    for n in range(count):
        message_id = f"{account.provider}-{account.pk}-{n}"
        phone = PHONES[account.provider].format(n)
        simulator.add_message(account.provider, message_id, phone, sent_at, trackable=trackable)
        messages.append(
            SentMessage(
                account=account,
                provider_message_id=message_id,
                phone=phone,
                country="SG" if account.provider == Provider.ALIYUN else "",
                sent_at=sent_at,
                trackable=trackable,
            )
        )
    for message in messages:
        message.country = message.country or ("CN" if account.provider == Provider.TENCENT else "US")
    return SentMessage.objects.bulk_create(messages)


def convert(messages, status: str = "converted") -> list[Conversion]:
    when = timezone.now() - timedelta(seconds=5)
    return Conversion.objects.bulk_create(Conversion(message=m, status=status, converted_at=when) for m in messages)


def simulator_counts(simulator, conversions) -> list[int]:
    counts = simulator.stats()["conversions"]
    return [counts.get(c.message.provider_message_id, 0) for c in conversions]
