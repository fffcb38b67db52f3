"""The changelist exports under `make run`'s settings: DEBUG on, SQL logged at DEBUG level."""

from __future__ import annotations

import csv
import io
import logging

import pytest
from django.urls import reverse

from apps.dashboard.export import BOM
from apps.dashboard.models import ExportRecord, ExportState
from apps.messaging.models import Conversion, SentMessage
from apps.providers.models import Provider
from apps.sms_templates.models import SmsTemplate
from tests.conftest import PASSWORD
from tests.dashboard.fixture import load_fixture
from tests.factories import make_account, make_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_run_settings(settings, caplog):
    # What `make run` does: DEBUG on (Django then logs every statement it runs, with its parameters).
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    return settings


@pytest.mark.parametrize(
    ("changelist", "model"),
    [
        ("messaging_sentmessage", SentMessage),
        ("messaging_conversion", Conversion),
        ("sms_templates_smstemplate", SmsTemplate),
    ],
)
def test_every_changelist_export_writes_all_its_rows_with_sql_logging_on(
    make_run_settings, client, root, changelist, model
):
    data = load_fixture()
    make_template(data["accounts"][Provider.ALIYUN], name="Login", content="Your code is ${code}.")
    make_template(make_account(Provider.TENCENT), name="Signup", content="Code ${code}.")
    client.login(username="root", password=PASSWORD)

    response = client.get(reverse(f"admin:{changelist}_export"))
    text = b"".join(response.streaming_content).decode("utf-8")

    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))[1:]
    assert len(rows) == model.objects.count() > 0
    record = ExportRecord.objects.get()
    assert (record.state, record.rows, record.total) == (ExportState.STREAMED, len(rows), len(rows))
