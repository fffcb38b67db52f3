from collections import defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.dashboard.demo import DIP_DAYS_AGO, load_demo
from apps.messaging.models import Conversion, ConversionStatus, SentMessage
from apps.providers.models import ProviderAccount
from apps.sms_templates.models import SmsTemplate, TemplateStatus

pytestmark = pytest.mark.django_db


def conversion_rates(messages) -> dict:
    counts = defaultdict(lambda: [0, 0])
    converted = set(Conversion.objects.filter(status=ConversionStatus.CONVERTED).values_list("message_id", flat=True))
    for pk, provider, country in messages.values_list("pk", "account__provider", "country"):
        counts[(provider, country)][0] += 1
        counts[(provider, country)][1] += pk in converted
    return {key: verified / requested for key, (requested, verified) in counts.items()}


def test_the_demo_has_every_provider_every_template_status_and_30_days_of_traffic(capsys):
    call_command("load_demo")
    assert "Demo data loaded" in capsys.readouterr().out
    assert sorted(ProviderAccount.objects.values_list("provider", flat=True)) == ["aliyun", "plivo", "tencent"]
    assert all(a.endpoint.startswith("http://127.0.0.1:") for a in ProviderAccount.objects.all())
    assert set(SmsTemplate.objects.values_list("status", flat=True)) == set(TemplateStatus.values)
    for template in SmsTemplate.objects.all():
        template.full_clean()
    assert SentMessage.objects.count() >= 50_000
    assert SentMessage.objects.values("country").distinct().count() >= 6
    oldest = SentMessage.objects.order_by("sent_at").first().sent_at
    assert timezone.now() - oldest > timedelta(days=29)


def test_conversion_differs_by_provider_and_country_with_a_dip_on_one_day():
    load_demo()
    rates = conversion_rates(SentMessage.objects.all())
    assert rates[("aliyun", "CN")] > 0.8
    assert rates[("plivo", "NG")] < 0.4
    assert max(rates.values()) - min(rates.values()) > 0.3
    day = (timezone.now() - timedelta(days=DIP_DAYS_AGO)).date()
    dip = conversion_rates(SentMessage.objects.filter(sent_at__date=day, account__provider="aliyun", country="CN"))
    assert dip[("aliyun", "CN")] < rates[("aliyun", "CN")] * 0.6


def test_loading_the_demo_twice_adds_nothing(capsys):
    load_demo(messages_scale=0.02)
    before = (SentMessage.objects.count(), Conversion.objects.count(), SmsTemplate.objects.count())
    call_command("load_demo")
    assert "already loaded" in capsys.readouterr().out
    assert (SentMessage.objects.count(), Conversion.objects.count(), SmsTemplate.objects.count()) == before
