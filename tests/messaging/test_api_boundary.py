"""The ingest API holds at its edges: hostile values are a 4xx naming the field and the rule, never a 500,
and the OpenAPI document says exactly what the parser accepts."""

from __future__ import annotations

import re
import sys

import jsonschema_rs
import pytest
from django.utils import timezone

from apps.messaging.api import auth, fields, openapi, parsing, stats, views
from apps.messaging.models import Conversion, SentMessage
from smsdash import boundary
from tests.factories import make_message

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def a_message(n: int = 1, **overrides) -> dict:
    item = {"message_id": f"uuid-{n}", "phone": f"+4477009{n:05d}", "sent_at": iso(timezone.now())}
    return {**item, **overrides}


@pytest.mark.parametrize("field", ["message_id", "out_id", "template_code", "content"])
@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "a\x1bb", "\x85"])
def test_a_control_character_or_lone_surrogate_in_a_text_field_is_a_422_naming_it(api, field, value):
    response = api.post("messages", a_message(1, **{field: value}))
    assert response.status_code == 422
    assert response.json()["errors"] == {field: boundary.CONTROL_CHARACTER}
    assert SentMessage.objects.count() == 0


def test_content_keeps_its_line_breaks_and_tabs(api):
    assert api.post("messages", a_message(1, content="Your code:\r\n\t1234")).status_code == 201
    assert SentMessage.objects.get().content == "Your code:\r\n\t1234"


def test_a_nul_in_a_conversion_reference_is_a_422_naming_it(api, account):
    response = api.post("conversions", {"out_id": "x\x00", "status": "converted"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"out_id": boundary.CONTROL_CHARACTER}


@pytest.mark.parametrize(
    "sent_at, rule",
    [
        ("0001-01-01T00:30:00+01:00", boundary.TOO_EARLY.format(earliest="2000-01-01")),
        ("1900-06-01T00:00:00Z", boundary.TOO_EARLY.format(earliest="2000-01-01")),
        ("2026-01-01T00:00:00+19:59", boundary.OFFSET_OUT_OF_RANGE),
        ("9999-12-31T23:59:59-14:00", boundary.TOO_LATE.format(seconds=300)),
    ],
)
def test_a_send_time_outside_the_window_is_refused_inside_a_batch_while_the_good_items_are_stored(api, sent_at, rule):
    response = api.post("messages", {"items": [a_message(1), a_message(2, sent_at=sent_at), a_message(3)]})
    assert response.status_code == 200
    assert response.json()["items"][1] == {"index": 1, "result": "error", "errors": {"sent_at": rule}}
    assert sorted(SentMessage.objects.values_list("provider_message_id", flat=True)) == ["uuid-1", "uuid-3"]


def test_a_conversion_time_with_an_impossible_offset_is_refused_in_a_batch(api, account):
    make_message(account, provider_message_id="m-1", phone="+447700900001")
    late = {"message_id": "m-1", "status": "converted", "converted_at": "2026-01-01T00:00:00-23:00"}
    response = api.post("conversions", {"items": [late]})
    assert response.status_code == 422
    assert response.json()["items"][0]["errors"] == {"converted_at": boundary.OFFSET_OUT_OF_RANGE}
    assert Conversion.objects.count() == 0


@pytest.mark.parametrize("phone", ["+1٤١٥٥٥٥٠١٢٣", "+1𝟡4155550123"])
def test_a_phone_with_digits_outside_ascii_is_refused(api, phone):
    response = api.post("messages", a_message(1, phone=phone))
    assert response.status_code == 422
    assert response.json()["errors"] == {"phone": boundary.NOT_ASCII_DIGITS}
    assert SentMessage.objects.count() == 0


def test_a_phone_with_a_trailing_newline_is_refused(api):
    response = api.post("messages", a_message(1, phone="+447700900001\n"))
    assert response.json()["errors"] == {"phone": boundary.CONTROL_CHARACTER}


@pytest.mark.parametrize("name", ["country", "template", "provider", "account"])
def test_a_nul_in_a_stats_parameter_is_a_400_naming_it(api, name):
    response = api.get("stats", {name: "\x00"})
    assert response.status_code == 400
    assert response.json()["errors"] == {name: boundary.CONTROL_CHARACTER}


@pytest.mark.parametrize(
    "params, errors",
    [
        ({"start": "q"}, {"start": stats.BAD_MOMENT}),
        ({"start": "0001-01-01"}, {"start": boundary.TOO_EARLY.format(earliest="2000-01-01")}),
        ({"end": "9999-12-31T23:59:59-14:00"}, {"end": stats.PERIOD_TOO_LATE}),
        ({"start": "2026-02-30"}, {"start": parsing.NO_SUCH_DAY}),
        ({"colour": "red"}, {"colour": stats.UNKNOWN_PARAMETER.format(names=stats.ACCEPTED)}),
    ],
)
def test_a_stats_query_outside_its_formats_is_a_400_naming_the_parameter(api, params, errors):
    response = api.get("stats", params)
    assert response.status_code == 400
    assert response.json()["errors"] == errors


def test_an_empty_message_id_is_refused_as_the_schema_says(api, client):
    message = client.get("/api/v1/openapi.json").json()["paths"]["/messages"]["post"]
    item = message["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert item["properties"]["message_id"]["minLength"] == 1
    assert api.post("messages", a_message(1, message_id="")).json()["errors"] == {"message_id": parsing.REQUIRED}


def test_null_for_an_optional_field_is_absent_as_the_schema_says(api, client):
    item = openapi.object_schema(parsing.MESSAGE)
    assert item["properties"]["out_id"]["type"] == ["string", "null"]
    assert item["properties"]["trackable"]["type"] == ["boolean", "null"]
    response = api.post("messages", a_message(1, out_id=None, template_code=None, content=None, trackable=None))
    assert response.status_code == 201
    stored = SentMessage.objects.get()
    assert (stored.out_id, stored.template_code, stored.content, stored.trackable) == ("", "", "", True)


def test_null_for_a_required_field_is_refused_as_the_schema_says(api):
    assert openapi.object_schema(parsing.MESSAGE)["properties"]["phone"]["type"] == "string"
    assert api.post("messages", a_message(1, phone=None)).json()["errors"] == {"phone": parsing.REQUIRED}


def test_the_stats_start_parameter_is_described_by_the_pattern_the_parser_uses(client):
    params = client.get("/api/v1/openapi.json").json()["paths"]["/stats"]["get"]["parameters"]
    start = next(p for p in params if p["name"] == "start")
    assert start["schema"]["pattern"] == fields.DAY_OR_MOMENT_PATTERN
    assert not re.search(start["schema"]["pattern"], "q")
    assert re.search(start["schema"]["pattern"], "2026-11-23") and re.search(start["schema"]["pattern"], "")


def test_a_batch_refused_whole_answers_the_body_its_schema_describes(api, client):
    response = api.post("messages", {"items": [a_message(1, phone="1")]})
    described = client.get("/api/v1/openapi.json").json()["paths"]["/messages"]["post"]["responses"]["422"]
    assert jsonschema_rs.validator_for(described["content"]["application/json"]["schema"]).is_valid(response.json())
    assert response.json()["errors"] == 1 and response.json()["error"] == views.BATCH_REFUSED


def test_every_field_of_the_schema_is_the_parsers_field():
    document = openapi.schema("http://testserver/api/v1/")
    bodies = {"/messages": parsing.MESSAGE, "/conversions": parsing.CONVERSION}
    for path, table in bodies.items():
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        batch_item = body["oneOf"][1]["properties"]["items"]["items"]
        assert batch_item["properties"] == {f.name: f.schema() for f in table}
        assert batch_item["required"] == [f.name for f in table if f.required]
        assert batch_item["additionalProperties"] is False


def test_the_text_patterns_refuse_exactly_what_the_boundary_refuses():
    """Every code point outside the surrogates (which JSON Schema cannot name): the schema's pattern and
    text_rule agree, single-line and multi-line."""
    every = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    for multiline, pattern in ((False, fields.LINE_PATTERN), (True, fields.MULTILINE_PATTERN)):
        regex = re.compile(pattern)
        by_pattern = {ch for ch in every if not regex.fullmatch(ch)}
        by_rule = {ch for ch in every if boundary.text_rule(ch, multiline=multiline)}
        assert by_pattern == by_rule


def test_an_inactive_accounts_token_is_refused_with_the_reason(api, account):
    assert api.get("stats").status_code == 200  # the token is now remembered by this process
    account.is_active = False
    account.save()
    response = api.post("messages", a_message(1))
    assert response.status_code == 403
    assert response.json()["errors"] == {"Authorization": auth.ACCOUNT_INACTIVE}
    assert SentMessage.objects.count() == 0
