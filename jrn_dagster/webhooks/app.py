"""The ASGI app: ``POST /webhooks/github`` and ``GET /healthz`` (status codes: docs/webhooks.md).

Nothing is acknowledged with a 2xx before it is committed: a delivery the database could not take
gets a 503, so GitHub's delivery log shows the failure and a redelivery (same delivery id) stores
it later, once.
"""

import asyncio
import logging
import traceback
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.webhooks.access_log import AccessLogMiddleware, access_fields, safe_value
from jrn_dagster.webhooks.deliveries import (
    MAX_PAYLOAD_BYTES,
    Delivery,
    DeliveryKind,
    prepare_delivery,
)
from jrn_dagster.webhooks.signature import SIGNATURE_HEADER, require_secret, verify_signature
from jrn_dagster.webhooks.store import (
    StoredDelivery,
    check_database,
    describe_database_error,
    is_database_unavailable,
    store_delivery,
)

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/github"
HEALTH_PATH = "/healthz"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
JSON_CONTENT_TYPE = "application/json"
# GitHub gives up on a delivery after 10 s; waiting longer for a database slot helps no one.
DEFAULT_QUEUE_TIMEOUT_SECONDS = 8.0
RETRY_AFTER_SECONDS = "30"

T = TypeVar("T")


class _RejectedError(Exception):
    """A delivery refused before it reaches the database."""

    def __init__(self, status: int, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.outcome, self.detail = status, outcome, detail


def create_app(
    database: Database,
    secret: str,
    *,
    max_body_bytes: int = MAX_PAYLOAD_BYTES,
    database_concurrency: int | None = None,
    queue_timeout_seconds: float = DEFAULT_QUEUE_TIMEOUT_SECONDS,
) -> Starlette:
    """The receiver for ``database``, verifying signatures with ``secret`` (never empty).

    ``database_concurrency`` bounds the store calls in flight (default: 1 on SQLite, whose
    writers queue on one lock anyway, 10 on PostgreSQL); a request that waits longer than
    ``queue_timeout_seconds`` for its turn gets a 503. Bound the database's own waits with
    ``Database(url, timeout_seconds=...)``.
    """
    receiver = _GitHubReceiver(
        database,
        require_secret(secret),
        max_body_bytes=max_body_bytes,
        database_concurrency=database_concurrency or (1 if database.dialect == "sqlite" else 10),
        queue_timeout_seconds=queue_timeout_seconds,
    )
    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, receiver.receive, methods=["POST"]),
            Route(HEALTH_PATH, receiver.health, methods=["GET"]),
        ],
        middleware=[Middleware(AccessLogMiddleware)],
    )


class _GitHubReceiver:
    def __init__(
        self,
        database: Database,
        secret: str,
        *,
        max_body_bytes: int,
        database_concurrency: int,
        queue_timeout_seconds: float,
    ) -> None:
        if max_body_bytes <= 0 or database_concurrency <= 0:
            raise ValueError("max_body_bytes and database_concurrency must be positive")
        self._database = database
        self._secret = secret
        self._max_body_bytes = max_body_bytes
        self._database_concurrency = database_concurrency
        self._queue_timeout_seconds = queue_timeout_seconds
        # anyio limiters belong to one event loop; a test client may run several in turn.
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    async def receive(self, request: Request) -> Response:
        log = access_fields(request.scope)
        log["event"] = safe_value(request.headers.get(EVENT_HEADER, "-"))
        log["delivery"] = safe_value(request.headers.get(DELIVERY_HEADER, "-"))
        try:
            body = await self._authenticated_body(request, log)
            delivery = _delivery(request, body)
        except _RejectedError as rejection:
            return _answer(log, rejection.status, rejection.outcome, rejection.detail)

        if delivery.kind is DeliveryKind.PING:
            return _answer(log, 200, "pong", None)
        if delivery.kind is DeliveryKind.UNHANDLED:
            return _answer(
                log, 202, "ignored", f"event type {delivery.event_type!r} is not handled"
            )
        try:
            stored = await self._in_database(store_delivery, self._database, delivery)
        except TimeoutError:
            return _answer(log, 503, "database_busy", "the database is busy, redeliver later")
        except Exception as error:
            return _database_failure(log, error)
        return _stored(log, stored)

    async def _authenticated_body(self, request: Request, log: dict[str, object]) -> bytes:
        """The raw body, once its size and signature are right (nothing else is looked at
        before the sender is authenticated)."""
        too_large = _RejectedError(413, "too_large", f"payload over {self._max_body_bytes} bytes")
        declared = request.headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                raise _RejectedError(400, "invalid", "Content-Length is not a number")
            if int(declared) > self._max_body_bytes:
                raise too_large
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            raise _RejectedError(401, "unsigned", f"missing {SIGNATURE_HEADER} header")
        chunks: list[bytes] = []
        size = 0
        try:
            # Counted while streaming: a chunked body has no Content-Length to check up front.
            async for chunk in request.stream():
                size += len(chunk)
                if size > self._max_body_bytes:
                    raise too_large
                chunks.append(chunk)
        except ClientDisconnect:
            raise _RejectedError(400, "client_disconnected", "the client went away") from None
        body = b"".join(chunks)
        log["bytes"] = size
        if not verify_signature(body, signature, self._secret):
            raise _RejectedError(401, "bad_signature", f"{SIGNATURE_HEADER} does not match")
        return body

    async def health(self, request: Request) -> Response:
        log = access_fields(request.scope)
        try:
            await anyio.to_thread.run_sync(check_database, self._database)
        except Exception as error:
            log["outcome"] = "database_unavailable"
            logger.warning(
                "health check failed",
                extra={"fields": {"error": describe_database_error(error)}},
            )
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def _in_database(self, function: Callable[..., T], *args: object) -> T:
        """Run a synchronous database call in a worker thread, at most N at a time."""
        limiter = self._limiter()
        with anyio.move_on_after(self._queue_timeout_seconds) as waiting:
            await limiter.acquire()
        if waiting.cancelled_caught:
            raise TimeoutError
        try:
            return await anyio.to_thread.run_sync(function, *args)
        finally:
            limiter.release()

    def _limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self._database_concurrency)
        return limiter


def _delivery(request: Request, body: bytes) -> Delivery:
    headers = request.headers
    event_type, delivery_id = headers.get(EVENT_HEADER), headers.get(DELIVERY_HEADER)
    if not event_type:
        raise _RejectedError(400, "invalid", f"missing {EVENT_HEADER} header")
    if not delivery_id:
        raise _RejectedError(400, "invalid", f"missing {DELIVERY_HEADER} header")
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON_CONTENT_TYPE:
        raise _RejectedError(
            400,
            "invalid",
            f"content type must be {JSON_CONTENT_TYPE} (set it on the GitHub webhook), "
            f"got {safe_value(media_type or 'none', 60)}",
        )
    try:
        return prepare_delivery(
            event_type=event_type, delivery_id=delivery_id, body=body, headers=headers
        )
    except InvalidInputError as error:
        raise _RejectedError(400, "invalid", str(error)) from None


def _answer(log: dict[str, object], status: int, outcome: str, detail: str | None) -> Response:
    log["outcome"] = outcome
    if status >= 400:
        if status == 400:
            log["error"] = detail
        # An oversize body is not drained: closing the connection stops the sender.
        headers = {"Connection": "close"} if status == 413 else None
        return JSONResponse({"error": detail}, status_code=status, headers=headers)
    body: dict[str, object] = {"status": outcome}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


def _stored(log: dict[str, object], stored: StoredDelivery) -> Response:
    log["outcome"] = "stored" if stored.created else "duplicate"
    log["event_id"] = stored.event.id
    return JSONResponse(
        {
            "status": log["outcome"],
            "event_id": stored.event.id,
            "delivery_id": stored.event.delivery_id,
        },
        status_code=201 if stored.created else 200,
    )


def _database_failure(log: dict[str, object], error: Exception) -> Response:
    if is_database_unavailable(error):
        log["outcome"] = "database_unavailable"
        logger.warning(
            "delivery not stored: database unavailable",
            extra={"fields": {"error": describe_database_error(error)}},
        )
        return JSONResponse(
            {"error": "the database is unavailable, nothing was stored: redeliver later"},
            status_code=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    # A bug or a database refusal we did not foresee. Logged without the exception's message:
    # SQLAlchemy puts the statement's parameters (the payload) in it.
    log["outcome"] = "error"
    logger.error(
        "delivery not stored: unexpected error",
        extra={
            "fields": {
                "error": type(error).__name__,
                "stack": "".join(traceback.format_tb(error.__traceback__)),
            }
        },
    )
    return JSONResponse({"error": "internal error, nothing was stored"}, status_code=500)
