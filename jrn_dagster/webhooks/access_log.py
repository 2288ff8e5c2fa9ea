"""One structured log line per request, and the logfmt / JSON formatters that render it.

Only what an operator needs: method, path (never the query string), status, duration, client,
body size, and the delivery's id, event type and outcome. Never a body, a signature or the secret.
"""

import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "jrn_dagster.webhooks.access"
# Where handlers add fields for the access line (the ASGI scope is shared with the request).
SCOPE_KEY = "jrn.access"
MAX_FIELD_LENGTH = 120

access_logger = logging.getLogger(ACCESS_LOGGER)
_UNSAFE = re.compile(r"[^\x21-\x7e]")


def access_fields(scope: Scope) -> dict[str, Any]:
    """The access-log fields of the current request, for handlers to add to."""
    return scope.setdefault(SCOPE_KEY, {})


def safe_value(value: str, limit: int = MAX_FIELD_LENGTH) -> str:
    """Client-controlled text made safe for one log line: printable, no spaces, bounded."""
    return _UNSAFE.sub("?", value[:limit])


class AccessLogMiddleware:
    """Pure ASGI middleware, so it sees the final status even when a handler fails."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        fields = access_fields(scope)
        status = 500  # what the server answers if the app fails before starting a response

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            client = scope.get("client")
            line = {
                "method": scope["method"],
                "path": safe_value(scope["path"]),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "client": client[0] if client else None,
                **fields,
            }
            access_logger.info("request", extra={"fields": line})


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if text and not re.search(r'[\s="\\]', text):
        return text
    return json.dumps(text)


class LogfmtFormatter(logging.Formatter):
    """``ts=... level=info logger=... msg=request method=POST status=201 ...``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _record_fields(record)
        line = " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, same fields as the logfmt formatter."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _record_fields(record)
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json.dumps(fields, default=str)


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    extra = getattr(record, "fields", None)
    if isinstance(extra, dict):
        fields.update({key: value for key, value in extra.items() if value is not None})
    return fields
