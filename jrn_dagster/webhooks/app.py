"""The ASGI app: ``POST /webhooks/github`` and ``GET /healthz`` (status codes: docs/webhooks.md).

Nothing is acknowledged with a 2xx before it is committed: a delivery the database could not take
gets a 503, so GitHub's delivery log shows the failure and a redelivery (same delivery id) stores
it later, once. The only 5xx is 503: whatever goes wrong, the sender is told to redeliver.

Bodies are held in memory until their signature is checked. The bytes held for bodies not yet
verified, across all requests at once, are bounded (``max_unverified_bytes``): past it, a request
is answered 503 with ``Retry-After`` without its body being read, so unsigned senders cannot
exhaust the receiver's memory.
"""

import asyncio
import functools
import logging
import traceback
import weakref
from pathlib import Path

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
from jrn_dagster.webhooks.group_commit import GroupCommitter
from jrn_dagster.webhooks.signature import (
    SIGNATURE_HEADER,
    require_secret,
    signature_matches,
    signer,
)
from jrn_dagster.webhooks.store import (
    StoredDelivery,
    check_database,
    describe_database_error,
    is_database_unavailable,
    store_group,
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
# Two deliveries at GitHub's size limit at once, or many ordinary ones.
DEFAULT_MAX_UNVERIFIED_BYTES = 64 * 1024 * 1024
STACK_FRAMES_LOGGED = 8
# Answered before the body was read to its end (too large, no room to hold it).
_UNREAD_BODY_OUTCOMES = frozenset({"too_large", "over_budget"})


class _RejectedError(Exception):
    """A delivery refused before it reaches the database."""

    def __init__(self, status: int, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.outcome, self.detail = status, outcome, detail


class UnverifiedBytesBudget:
    """Bytes held for bodies whose signature is not checked yet, across all requests. Used
    from the event loop only (no locking needed)."""

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("the budget of unverified bytes must be positive")
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def give_back(self, size: int) -> None:
        self.held -= size


def create_app(
    database: Database,
    secret: str,
    *,
    max_body_bytes: int = MAX_PAYLOAD_BYTES,
    database_concurrency: int | None = None,
    queue_timeout_seconds: float = DEFAULT_QUEUE_TIMEOUT_SECONDS,
    max_unverified_bytes: int = DEFAULT_MAX_UNVERIFIED_BYTES,
) -> Starlette:
    """The receiver for ``database``, verifying signatures with ``secret`` (never empty).

    At most ``max_unverified_bytes`` are held for bodies not verified yet, across all requests;
    a request that would pass it gets a 503 with ``Retry-After``, its body unread.

    Deliveries are stored by group commit (``webhooks.group_commit``): those that arrive while
    the database is busy are committed together, and each is answered after that commit.
    ``database_concurrency`` bounds the groups in flight (default: 1 on SQLite, whose writers
    queue on one lock anyway, 4 on PostgreSQL); a delivery that no group takes within
    ``queue_timeout_seconds`` gets a 503. Bound the database's own waits with
    ``Database(url, timeout_seconds=...)``.
    """
    receiver = _GitHubReceiver(
        database,
        require_secret(secret),
        max_body_bytes=max_body_bytes,
        database_concurrency=database_concurrency or (1 if database.dialect == "sqlite" else 4),
        queue_timeout_seconds=queue_timeout_seconds,
        unverified=UnverifiedBytesBudget(max(max_unverified_bytes, max_body_bytes)),
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
        unverified: UnverifiedBytesBudget,
    ) -> None:
        if max_body_bytes <= 0 or database_concurrency <= 0:
            raise ValueError("max_body_bytes and database_concurrency must be positive")
        self._database = database
        self._secret = secret
        self._max_body_bytes = max_body_bytes
        self._database_concurrency = database_concurrency
        self._queue_timeout_seconds = queue_timeout_seconds
        self._unverified = unverified
        self._committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommitter] = (
            weakref.WeakKeyDictionary()
        )

    async def receive(self, request: Request) -> Response:
        log = access_fields(request.scope)
        log["event"] = safe_value(request.headers.get(EVENT_HEADER, "-"))
        log["delivery"] = safe_value(request.headers.get(DELIVERY_HEADER, "-"))
        try:
            return await self._receive(request, log)
        except Exception as error:
            # A bug: never a 500 (GitHub would show it as our failure without saying to retry).
            return _unexpected(log, error)

    async def _receive(self, request: Request, log: dict[str, object]) -> Response:
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
            outcome = await self._committer().store(
                delivery, size=len(body), queue_timeout=self._queue_timeout_seconds
            )
        except TimeoutError:
            return _answer(log, 503, "database_busy", "the database is busy, redeliver later")
        if isinstance(outcome, StoredDelivery):
            return _stored(log, outcome)
        if isinstance(outcome, Exception):
            return _database_failure(log, outcome)
        raise TypeError(f"unexpected outcome {type(outcome).__name__}")  # pragma: no cover

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
        held = 0
        try:
            # A declared length is reserved whole before anything is read.
            if declared is not None:
                held = self._hold(int(declared))
            mac = signer(self._secret)
            chunks: list[bytes] = []
            size = 0
            try:
                # Counted while streaming: a chunked body has no Content-Length to check up front.
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self._max_body_bytes:
                        raise too_large
                    if size > held:
                        held += self._hold(size - held)
                    mac.update(chunk)
                    chunks.append(chunk)
            except ClientDisconnect:
                raise _RejectedError(400, "client_disconnected", "the client went away") from None
            log["bytes"] = size
            if not signature_matches(mac, signature):
                raise _RejectedError(401, "bad_signature", f"{SIGNATURE_HEADER} does not match")
            return b"".join(chunks)
        finally:
            self._unverified.give_back(held)

    def _hold(self, size: int) -> int:
        """Reserve ``size`` more unverified bytes, or refuse the request with a 503."""
        if not self._unverified.take(size):
            raise _RejectedError(
                503,
                "over_budget",
                "too many unverified bytes in flight, nothing was stored: redeliver later",
            )
        return size

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

    def _committer(self) -> GroupCommitter:
        """The group committer of the running event loop (one per loop: a test client may run
        several loops in turn)."""
        loop = asyncio.get_running_loop()
        committer = self._committers.get(loop)
        if committer is None:
            committer = self._committers[loop] = GroupCommitter(
                functools.partial(store_group, self._database),
                groups_in_flight=self._database_concurrency,
            )
        return committer


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
        headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else {}
        if outcome in _UNREAD_BODY_OUTCOMES:
            # The body is not drained: closing the connection stops the sender.
            headers["Connection"] = "close"
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
    return _unexpected(log, error)


def _unexpected(log: dict[str, object], error: Exception) -> Response:
    """A bug or a refusal we did not foresee: 503 with ``Retry-After`` (the only 5xx), so the
    delivery is redelivered once it is fixed. Logged on one line with the exception's type and
    its innermost frames, never its message: SQLAlchemy puts the statement's parameters (the
    payload) in it."""
    log["outcome"] = "error"
    frames = traceback.extract_tb(error.__traceback__)[-STACK_FRAMES_LOGGED:]
    logger.error(
        "delivery not stored: unexpected error",
        extra={
            "fields": {
                "error": type(error).__name__,
                "stack": " < ".join(
                    f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
                    for frame in reversed(frames)
                ),
            }
        },
    )
    return JSONResponse(
        {"error": "internal error, nothing was stored: redeliver later"},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )
