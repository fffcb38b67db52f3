"""Webhook URL tokens never reach a log.

Alibaba and Tencent do not sign their delivery callbacks, so the path itself carries the secret:
/webhooks/aliyun/report/<account id>/<token>. Django logs that path on every 4xx ("Not Found: ...",
"Bad Request: ...", "Method Not Allowed ..."), runserver and gunicorn on every request. Whoever reads
the log could then post forged receipts. The filter rewrites a record's message so that whatever
follows the account id is replaced; it never drops a record.

Used in settings.LOGGING (on the loggers that log paths and on every handler, since a logger's own
filters do not see records that propagate from its children) and by smsdash/gunicorn_conf.py for
gunicorn's access and error logs.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# /webhooks/<provider>/<kind>/ then an optional numeric account id (possessive: Plivo's path ends
# with the id and carries no token), then the rest of the path and query string up to a space or
# quote (access logs quote the request line). The prefix is matched
# case-insensitively and also when its slashes are percent-encoded, as a raw request line may carry.
WEBHOOK_PATH = re.compile(
    r"(?P<keep>/webhooks(?:/|%2f)[^/\s\"'?%]+(?:/|%2f)[^/\s\"'?%]+(?:/|%2f)(?:\d+(?:/|%2f)?)?+)"
    r"(?P<secret>[^\s\"']+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """The text with whatever follows a webhook path's account id replaced by REDACTED."""
    if "webhooks" not in text.lower():
        return text
    return WEBHOOK_PATH.sub(lambda m: m.group("keep") + REDACTED, text)


class RedactWebhookTokens(logging.Filter):
    """Rewrites a record whose message, traceback or stack names a webhook path; keeps every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's to report, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is printed redacted.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
