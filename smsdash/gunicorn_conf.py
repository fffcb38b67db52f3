"""gunicorn settings for production: `gunicorn -c smsdash/gunicorn_conf.py smsdash.wsgi`.

Command-line options still win (`-b`, `-w`, `--access-logfile`...). What this file adds is a logger
whose access and error logs pass through smsdash.logging_filters, so the token in an Alibaba or
Tencent receipt URL never reaches them; Django's own log records are redacted by settings.LOGGING.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from smsdash.logging_filters import RedactWebhookTokens

# Requests are logged to stdout, as a container platform collects them.
accesslog = "-"


class RedactingLogger(Logger):
    """gunicorn's logger with webhook tokens redacted from every access and error line."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        # setup() runs again on a configuration reload (HUP): add the filter once.
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactWebhookTokens) for f in log.filters):
                log.addFilter(RedactWebhookTokens())


logger_class = RedactingLogger
