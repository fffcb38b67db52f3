"""Posting a receipt body to an account's webhook, as the provider does."""

from __future__ import annotations

import json

from apps.messaging.delivery import webhooks


def post_json(client, account, body):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(webhooks.webhook_path(account), data, content_type="application/json")
