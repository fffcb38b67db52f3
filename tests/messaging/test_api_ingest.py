"""The ingest API as the OTP application uses it: record messages and conversions, idempotently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.messaging.api import auth, parsing, views
from apps.messaging.models import Conversion, ReportState, SentMessage
from apps.messaging.services import conversions as conversion_service
from apps.messaging.services import preconditions
from smsdash import boundary
from tests.factories import make_message

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def a_message(n: int = 1, **overrides) -> dict:
    item = {
        "message_id": f"uuid-{n}",
        "phone": f"+4477009{n:05d}",
        "sent_at": iso(timezone.now() - timedelta(minutes=5)),
        "template_code": "SMS_1",
        "out_id": f"login-{n}",
        "trackable": True,
    }
    item.update(overrides)
    return item


def test_it_records_a_sent_message_and_answers_created(api, account):
    response = api.post("messages", a_message(1))
    assert response.status_code == 201
    assert response.json()["result"] == "created"
    message = SentMessage.objects.get(pk=response.json()["id"])
    assert (message.account, message.provider_message_id, message.country) == (account, "uuid-1", "GB")


def test_repeating_a_message_creates_no_second_row_and_says_duplicate(api):
    first = api.post("messages", a_message(1)).json()
    again = api.post("messages", a_message(1))
    assert again.status_code == 200
    assert again.json() == {"result": "duplicate", "id": first["id"]}
    assert SentMessage.objects.count() == 1


def test_a_batch_stores_the_good_items_and_reports_the_bad_ones_item_by_item(api):
    items = [a_message(1), a_message(2, phone="0044 7700 900"), a_message(3), a_message(1)]
    response = api.post("messages", {"items": items})
    body = response.json()
    assert response.status_code == 200
    assert (body["created"], body["duplicates"], body["errors"]) == (2, 1, 1)
    assert body["items"][1] == {"index": 1, "result": "error", "errors": {"phone": parsing.phones.INVALID_PHONE}}
    assert body["items"][3]["result"] == "duplicate" and body["items"][3]["id"] == body["items"][0]["id"]
    assert sorted(SentMessage.objects.values_list("provider_message_id", flat=True)) == ["uuid-1", "uuid-3"]


def test_a_conversion_is_recorded_by_message_id_and_by_out_id(api, account):
    first = make_message(account, provider_message_id="m-1", phone="+447700900001")
    second = make_message(account, provider_message_id="m-2", out_id="login-2", phone="+447700900002")
    by_id = api.post("conversions", {"message_id": "m-1", "status": "converted", "converted_at": iso(timezone.now())})
    by_out = api.post("conversions", {"out_id": "login-2", "status": "not_converted"})
    assert (by_id.status_code, by_out.status_code) == (201, 201)
    assert Conversion.objects.get(message=first).status == "converted"
    assert Conversion.objects.get(message=second).report_state == ReportState.PENDING


def test_a_repeated_conversion_is_a_duplicate_and_is_counted(api, account):
    make_message(account, provider_message_id="m-1", phone="+447700900001")
    item = {"message_id": "m-1", "status": "converted"}
    created = api.post("conversions", item).json()
    batch = api.post("conversions", {"items": [item, item]}).json()
    assert [i["result"] for i in batch["items"]] == ["duplicate", "duplicate"]
    assert {i["id"] for i in batch["items"]} == {created["id"]}
    conversion = Conversion.objects.get()
    assert conversion.duplicate_submissions == 1  # once per request that repeated it


def test_a_conversion_plivo_cannot_count_is_stored_and_says_why(api, account):
    make_message(account, provider_message_id="m-1", phone="+447700900001", trackable=False)
    api.post("conversions", {"message_id": "m-1", "status": "converted"})
    conversion = Conversion.objects.get()
    assert conversion.report_state == ReportState.SKIPPED
    assert conversion.last_error == preconditions.PLIVO_NOT_TRACKABLE


def sent_ten_minutes_ago(account):
    make_message(account, provider_message_id="m-2", phone="+447700900002", out_id="shared")
    make_message(account, provider_message_id="m-3", phone="+447700900003", out_id="shared")
    return make_message(account, provider_message_id="m-1", phone="+447700900001")


@pytest.mark.parametrize(
    "item, field, rule",
    [
        ({"message_id": "nope", "status": "converted"}, "message_id", conversion_service.UNKNOWN_MESSAGE),
        ({"out_id": "nope", "status": "converted"}, "out_id", conversion_service.UNKNOWN_OUT_ID),
        ({"out_id": "shared", "status": "converted"}, "out_id", conversion_service.AMBIGUOUS_OUT_ID),
        (
            {"message_id": "m-1", "status": "verified"},
            "status",
            parsing.UNKNOWN_CHOICE.format(
                name="status", value="verified", choices="converted, not_converted, converted_with_others"
            ),
        ),
        ({"message_id": "m-1"}, "status", parsing.REQUIRED),
        ({"status": "converted"}, "message_id", parsing.NO_MESSAGE_REF),
        (
            {"message_id": "m-1", "status": "converted", "converted_at": "yesterday"},
            "converted_at",
            parsing.BAD_DATETIME,
        ),
        (
            {"message_id": "m-1", "status": "converted", "converted_at": "2026-11-23T08:00:00"},
            "converted_at",
            parsing.BAD_DATETIME,
        ),
        ({"message_id": "m-1", "status": "converted", "code": "1234"}, "code", "Unknown field"),
    ],
)
def test_each_bad_conversion_field_is_named_with_its_rule(api, account, item, field, rule):
    sent_ten_minutes_ago(account)
    response = api.post("conversions", item)
    assert response.status_code == 422
    assert response.json()["errors"][field].startswith(rule)
    assert Conversion.objects.count() == 0


def test_a_conversion_before_the_send_time_or_in_the_future_is_refused(api, account):
    message = sent_ten_minutes_ago(account)
    before = api.post("conversions", {"message_id": "m-1", "status": "converted", "converted_at": iso(message.sent_at)})
    future = timezone.now() + timedelta(minutes=5)
    later = api.post("conversions", {"message_id": "m-1", "status": "converted", "converted_at": iso(future)})
    assert before.status_code == later.status_code == 422
    assert before.json()["errors"]["converted_at"].startswith("Conversion time must be after the message was sent")
    assert later.json()["errors"] == {"converted_at": "Conversion time must not be in the future."}
    assert Conversion.objects.count() == 0


@pytest.mark.parametrize(
    "item, field, rule",
    [
        ({"phone": "+86 138 0013 8000"}, "phone", parsing.phones.INVALID_PHONE),
        ({"phone": None}, "phone", parsing.REQUIRED),
        ({"sent_at": "2026-13-40T00:00:00Z"}, "sent_at", parsing.BAD_DATETIME),
        ({"sent_at": iso(timezone.now() + timedelta(hours=1))}, "sent_at", boundary.TOO_LATE.format(seconds=300)),
        ({"trackable": "yes"}, "trackable", parsing.NOT_BOOLEAN),
        ({"message_id": "x" * 65}, "message_id", boundary.TOO_LONG.format(max=64)),
        ({"message_id": 42}, "message_id", parsing.NOT_STRING),
    ],
)
def test_each_bad_message_field_is_named_with_its_rule(api, item, field, rule):
    response = api.post("messages", a_message(1, **item))
    assert response.status_code == 422
    assert response.json()["errors"] == {field: rule}
    assert SentMessage.objects.count() == 0


def test_an_oversized_batch_is_refused_whole(api):
    response = api.post("messages", {"items": [a_message(n) for n in range(1001)]})
    assert response.status_code == 413
    assert response.json()["errors"] == {"items": views.BATCH_TOO_LARGE.format(max=1000, count=1001)}
    assert SentMessage.objects.count() == 0


def test_invalid_json_is_a_400_naming_the_body(api):
    response = api.post("messages", '{"message_id": "uuid-1",')
    assert response.status_code == 400
    assert response.json()["errors"]["body"].startswith("The body is not valid JSON")


def test_a_wrong_content_type_is_a_415(api):
    response = api.post("messages", "message_id=uuid-1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["errors"] == {"Content-Type": auth.WRONG_CONTENT_TYPE}


def test_an_oversized_body_is_a_413_before_it_is_read(api, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = api.post("messages", {"items": [a_message(n, content="x" * 200) for n in range(10)]})
    assert response.status_code == 413
    assert response.json()["errors"] == {"body": auth.BODY_TOO_LARGE.format(limit=1000)}


@pytest.mark.parametrize("body", ["[]", "42", '{"items": {}}', '{"items": []}', "   "])
def test_bodies_of_the_wrong_shape_are_a_400(api, body):
    response = api.post("messages", body)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_a_batch_where_every_item_is_bad_is_a_422(api):
    response = api.post("messages", {"items": [a_message(1, phone="1"), "not an object"]})
    assert response.status_code == 422
    assert response.json()["items"][1]["errors"] == {"item": parsing.NOT_OBJECT}


def test_get_on_an_ingest_endpoint_is_a_405(api):
    response = api.get("messages")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_the_openapi_schema_describes_every_endpoint_and_field(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert set(schema["paths"]) == {"/messages", "/conversions", "/stats"}
    message = schema["paths"]["/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert set(message["properties"]) == {*parsing.MESSAGE_FIELDS, "account"}
    conversion = schema["paths"]["/conversions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(conversion["oneOf"][0]["properties"]) == {*parsing.CONVERSION_FIELDS, "account"}


def test_a_delivery_receipt_that_came_first_is_applied_when_the_message_is_posted(api, account):
    from apps.messaging.delivery.services import delivery_apply
    from apps.providers.clients.base import DeliveryRecord, DeliveryState

    delivery_apply(account=account, records=[DeliveryRecord("uuid-1", "+447700900001", DeliveryState.DELIVERED, "D")])
    assert api.post("messages", a_message(1, phone="+447700900001")).status_code == 201
    message = SentMessage.objects.get()
    assert (message.delivery_status, message.error_code) == ("delivered", "D")


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8",
        "[" * 5000 + "]" * 5000,
        "null",
        '{"items": [null, 1, "x", [], {"message_id": ["a"], "status": {}, "converted_at": 5}]}',
        '{"message_id": "m-1", "status": "converted", "converted_at": "2026-02-30T00:00:00Z"}',
        '{"message_id": "m-1", "status": ["converted"]}',
        '{"out_id": 7, "status": "converted"}',
    ],
)
def test_odd_bodies_get_a_4xx_naming_what_is_wrong_never_a_500(api, account, body):
    sent_ten_minutes_ago(account)
    response = api.post("conversions", body)
    assert 400 <= response.status_code < 500
    assert response.json()["errors"] or response.json()["items"]
    assert Conversion.objects.count() == 0


@pytest.mark.django_db(transaction=True)  # no test transaction around it: the single path's own autocommit
def test_a_conversion_stored_by_another_request_between_lookup_and_insert_is_answered_as_duplicate(monkeypatch):
    from apps.messaging.services import ConversionInput, conversions_record_batch
    from apps.messaging.services.inputs import Outcome
    from tests.factories import make_conversion

    message = make_message()
    lookup = conversion_service._resolve_messages

    def racing_lookup(account, items):  # the other request commits right after our lookup
        found = lookup(account, items)
        if not Conversion.objects.filter(message=message).exists():
            make_conversion(message)
        return found

    monkeypatch.setattr(conversion_service, "_resolve_messages", racing_lookup)
    item = ConversionInput(
        status="converted", converted_at=timezone.now(), provider_message_id=message.provider_message_id
    )
    [result] = conversions_record_batch(account=message.account, items=[item])
    assert result.outcome == Outcome.DUPLICATE
    assert Conversion.objects.filter(message=message).count() == 1
    assert Conversion.objects.get(message=message).duplicate_submissions == 1
