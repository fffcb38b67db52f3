"""Fixtures of the ingest API and reporting tests."""

from __future__ import annotations

import json

import pytest

from apps.messaging.services import api_token_create
from tests.factories import make_account


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, client, raw_token: str | None):
        self.client = client
        self.raw_token = raw_token

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.raw_token}"} if self.raw_token else {}

    def post(self, path: str, body, **extra):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        extra.setdefault("content_type", "application/json")
        return self.client.post(f"/api/v1/{path}", data, **self._headers(), **extra)

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"/api/v1/{path}", params or {}, **self._headers())


@pytest.fixture
def account(db):
    return make_account("plivo")


@pytest.fixture
def api(client, account):
    _, raw = api_token_create(account=account, name="login service")
    return ApiClient(client, raw)
