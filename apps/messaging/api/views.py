"""Ingest API views: thin, they parse, call one service and shape the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse

from apps.messaging.api import parsing, stats
from apps.messaging.api.auth import api_endpoint, check_account, error
from apps.messaging.api.openapi import schema
from apps.messaging.services import conversions_record_batch, messages_record_batch
from apps.messaging.services.inputs import ItemResult, Outcome

MAX_BATCH = 1000
NOT_AN_OBJECT = 'The body must be a JSON object: one item, or {"items": [...]} for a batch.'
ITEMS_NOT_LIST = "items must be a JSON array of objects."
UNKNOWN_BATCH_FIELD = "Unknown field: a batch body holds items and, optionally, account."
BATCH_FIELDS = ("items", "account")
BATCH_EMPTY = "items must contain at least one item."
BATCH_TOO_LARGE = "A batch holds at most {max} items; this one has {count}."
ITEM_REFUSED = "The item was refused: see errors."
QUERY_INVALID = "The query is invalid: see errors."
BATCH_REFUSED = "Every item of the batch was refused: see items."


@api_endpoint("POST", json_body=True)
def messages(request: HttpRequest, token, body: Any) -> JsonResponse:
    return _ingest(token, body, parsing.parse_message, messages_record_batch)


@api_endpoint("POST", json_body=True)
def conversions(request: HttpRequest, token, body: Any) -> JsonResponse:
    return _ingest(token, body, parsing.parse_conversion, conversions_record_batch)


@api_endpoint("GET")
def conversion_stats(request: HttpRequest, token, body: None) -> JsonResponse:
    query, errors = stats.parse_query(request.GET)
    if errors:
        return error(400, QUERY_INVALID, errors)
    refusal = check_account(token, request.GET.get("account"))
    if refusal:
        return refusal
    return JsonResponse(stats.conversion_stats(account=token.account, query=query))


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(schema(request.build_absolute_uri("/api/v1/")))


def _ingest(token, body: Any, parse: Callable, record: Callable) -> JsonResponse:
    if not isinstance(body, dict):
        return error(400, NOT_AN_OBJECT, {"body": NOT_AN_OBJECT})
    refusal = check_account(token, body.get("account"))
    if refusal:
        return refusal
    if "items" not in body:
        item = {key: value for key, value in body.items() if key != "account"}
        return _single(_process(token, [item], parse, record)[0])
    unknown = [str(key)[:64] for key in body if key not in BATCH_FIELDS]
    if unknown:
        return error(400, UNKNOWN_BATCH_FIELD, dict.fromkeys(unknown, UNKNOWN_BATCH_FIELD))
    items = body["items"]
    if not isinstance(items, list):
        return error(400, ITEMS_NOT_LIST, {"items": ITEMS_NOT_LIST})
    if not items:
        return error(400, BATCH_EMPTY, {"items": BATCH_EMPTY})
    if len(items) > MAX_BATCH:
        message = BATCH_TOO_LARGE.format(max=MAX_BATCH, count=len(items))
        return error(413, message, {"items": message})
    return _batch(_process(token, items, parse, record))


def _process(token, raw_items: list, parse: Callable, record: Callable) -> list[ItemResult]:
    """Parse every item; record the valid ones in one call; answer in the submitted order."""
    results: list[ItemResult | None] = [None] * len(raw_items)
    valid: list = []
    positions: list[int] = []
    for index, raw in enumerate(raw_items):
        parsed, errors = parse(raw)
        if errors:
            results[index] = ItemResult.error(index, errors)
        else:
            valid.append(parsed)
            positions.append(index)
    if valid:
        for position, result in zip(positions, record(account=token.account, items=valid), strict=True):
            result.index = position
            results[position] = result
    return results


def _single(result: ItemResult) -> JsonResponse:
    if result.outcome == Outcome.ERROR:
        return error(422, ITEM_REFUSED, result.errors)
    return JsonResponse(
        {"result": result.outcome, "id": result.id}, status=201 if result.outcome == Outcome.CREATED else 200
    )


def _batch(results: list[ItemResult]) -> JsonResponse:
    counts = {outcome: 0 for outcome in (Outcome.CREATED, Outcome.DUPLICATE, Outcome.ERROR)}
    for result in results:
        counts[result.outcome] += 1
    body = {
        "created": counts[Outcome.CREATED],
        "duplicates": counts[Outcome.DUPLICATE],
        "errors": counts[Outcome.ERROR],
        "items": [result.as_dict() for result in results],
    }
    if counts[Outcome.ERROR] == len(results):
        body["error"] = BATCH_REFUSED
        return JsonResponse(body, status=422)
    return JsonResponse(body, status=200)
