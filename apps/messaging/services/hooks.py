"""Optional hooks of other parts of smsdash, called inside the recording transaction.

- apps.messaging.delivery.receipts.match_pending_receipts(messages): delivery receipts that
  arrived before the application told us about the message.
- apps.dashboard.rollups.on_messages_recorded(messages) / on_conversions_recorded(conversions).

A hook whose module does not exist is skipped; an import error inside an existing module is not.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any


@cache
def _hook(module: str, name: str) -> Callable[..., Any] | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ModuleNotFoundError as error:
        if error.name and module.startswith(error.name):
            return None
        raise


def messages_recorded(messages: list) -> None:
    for module, name in (
        ("apps.messaging.delivery.receipts", "match_pending_receipts"),
        ("apps.dashboard.rollups", "on_messages_recorded"),
    ):
        hook = _hook(module, name)
        if hook is not None and messages:
            hook(messages)


def wants_conversions() -> bool:
    """Whether a hook takes the new conversions: the batch then loads them as model instances."""
    return _hook("apps.dashboard.rollups", "on_conversions_recorded") is not None


def conversions_recorded(conversions: list) -> None:
    hook = _hook("apps.dashboard.rollups", "on_conversions_recorded")
    if hook is not None and conversions:
        hook(conversions)
