from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from jrn_dagster.db.models import WebhookEventRow
from jrn_dagster.db.row_parameters import BIG_INTEGER, TEXT, row_parameters
from jrn_dagster.db.types import utcnow
from jrn_dagster.db.upsert import conflict_free_insert, insert_ignoring_conflicts
from jrn_dagster.domain.errors import InvalidInputError, NotFoundError
from jrn_dagster.domain.push import PushEvent, normalize_push
from jrn_dagster.domain.records import Push, WebhookEvent

PUSH_EVENT = "push"


def push_facts(event_type: str, payload: Any, push: PushEvent | None) -> dict[str, Any]:
    """The columns a push keeps beside its payload (none for other events, or a payload that
    does not normalise: the sensor reports those as invalid)."""
    if event_type != PUSH_EVENT:
        return {}
    if push is None:
        try:
            push = normalize_push(payload)
        except InvalidInputError:
            return {}
    return {
        "repo_key": push.coordinate.key,
        "branch": push.branch,
        "before_sha": push.before,
        "after_sha": push.after,
        "forced": push.forced,
        "installation_id": push.installation_id,
    }


@dataclass(frozen=True, slots=True)
class NewWebhookEvent:
    """A delivery to store (``WebhookEventRepository.store_many``)."""

    delivery_id: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]
    push: PushEvent | None = None


class WebhookEventRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def store(
        self,
        *,
        delivery_id: str,
        event_type: str,
        payload: dict[str, Any],
        headers: dict[str, str],
        push: PushEvent | None = None,
    ) -> tuple[WebhookEvent, bool]:
        """Store a delivery once. Returns the stored event and whether this call created it.

        A redelivery reuses the delivery GUID; the unique constraint decides, so concurrent
        receivers (or receiver replicas) never store one twice. ``push``: the payload already
        normalised (it is normalised here otherwise).
        """
        existing = self._by_delivery(delivery_id)
        if existing is not None:
            return WebhookEvent.model_validate(existing), False
        statement = insert_ignoring_conflicts(
            self._session,
            WebhookEventRow,
            ["delivery_id"],
            delivery_id=delivery_id,
            event_type=event_type,
            payload=payload,
            headers=headers,
            **push_facts(event_type, payload, push),
        )
        inserted = self._session.execute(
            statement.returning(*WebhookEventRow.__table__.columns)
        ).first()
        if inserted is not None:
            return WebhookEvent.model_validate(dict(inserted._mapping)), True
        row = self._by_delivery(delivery_id)  # a concurrent receiver stored it first
        if row is None:  # pragma: no cover - the unique constraint says it exists
            raise NotFoundError(f"delivery {delivery_id!r} vanished while being stored")
        return WebhookEvent.model_validate(row), False

    def store_many(self, events: Sequence[NewWebhookEvent]) -> list[tuple[WebhookEvent, bool]]:
        """``store`` for several deliveries in the session's transaction, in two statements
        whatever their number (one lookup of known delivery ids, one multi-row insert): what a
        group commit of the receiver runs (docs/webhooks.md#group-commit).

        Returns, in order, each delivery's stored event and whether it was created by it. A
        delivery id repeated within ``events`` is created by its first occurrence; the later
        ones are redeliveries of it. Known ids are looked up before inserting, so a redelivery
        does not use up an id (ids are the sensor's cursor; a gap looks like a transaction still
        in flight, docs/cursors.md).
        """
        known = self._by_deliveries(list({event.delivery_id for event in events}))
        fresh: dict[str, NewWebhookEvent] = {}
        for event in events:
            if event.delivery_id not in known:
                fresh.setdefault(event.delivery_id, event)
        created: dict[str, WebhookEvent] = {}
        if fresh:
            received_at = utcnow()
            rows = [
                {
                    "delivery_id": event.delivery_id,
                    "event_type": event.event_type,
                    "payload": event.payload,
                    "headers": event.headers,
                    "received_at": received_at,
                    **_ALL_PUSH_FACTS,
                    **push_facts(event.event_type, event.payload, event.push),
                }
                for event in fresh.values()
            ]
            # One cached statement run with many rows: SQLAlchemy sends it as multi-row
            # INSERTs ("insertmanyvalues"). Only the new ids come back, not the payloads.
            statement = conflict_free_insert(
                self._session, WebhookEventRow, ["delivery_id"]
            ).returning(WebhookEventRow.id, WebhookEventRow.delivery_id)
            for event_id, delivery_id in self._session.connection().execute(statement, rows):
                event = fresh[delivery_id]
                created[delivery_id] = WebhookEvent(
                    id=event_id,
                    delivery_id=delivery_id,
                    event_type=event.event_type,
                    payload=event.payload,
                    headers=event.headers,
                    received_at=received_at,
                )
            # Ids another writer stored between the lookup and the insert.
            known.update(self._by_deliveries([i for i in fresh if i not in created]))
        results: list[tuple[WebhookEvent, bool]] = []
        for event in events:
            new = created.pop(event.delivery_id, None)
            if new is not None:
                known[event.delivery_id] = new
                results.append((new, True))
            elif event.delivery_id in known:
                results.append((known[event.delivery_id], False))
            else:  # pragma: no cover - the unique constraint says it exists
                raise NotFoundError(f"delivery {event.delivery_id!r} vanished while being stored")
        return results

    def get(self, event_id: int) -> WebhookEvent:
        row = self._session.get(WebhookEventRow, event_id)
        if row is None:
            raise NotFoundError(f"event {event_id} does not exist")
        return WebhookEvent.model_validate(row)

    def recent(self, *, limit: int = 100, before_id: int | None = None) -> list[WebhookEvent]:
        """Newest first."""
        query = select(WebhookEventRow).order_by(WebhookEventRow.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(WebhookEventRow.id < before_id)
        return [WebhookEvent.model_validate(row) for row in self._session.scalars(query)]

    def after(
        self, last_id: int, *, also_ids: Sequence[int] = (), limit: int = 100
    ) -> list[WebhookEvent]:
        """Events with ``id > last_id`` (oldest first), plus any of ``also_ids`` that exist now.

        ``also_ids`` are holes below ``last_id`` that a slower transaction may still fill:
        ids are handed out at insert, not at commit.
        """
        condition = WebhookEventRow.id > last_id
        if also_ids:
            condition = or_(condition, WebhookEventRow.id.in_(list(also_ids)))
        query = select(WebhookEventRow).where(condition).order_by(WebhookEventRow.id).limit(limit)
        return [WebhookEvent.model_validate(row) for row in self._session.scalars(query)]

    def pushes(
        self,
        repo_key: str,
        branch: str,
        *,
        after_id: int = 0,
        up_to_id: int | None = None,
        since: datetime | None = None,
        newest_first: bool = False,
        limit: int = 1000,
    ) -> list[Push]:
        """Stored pushes to one branch of one repository with ids in ``(after_id, up_to_id]``
        received at or after ``since``; the oldest ``limit`` (or the newest), oldest first."""
        query = select(*_PUSH_COLUMNS).where(
            WebhookEventRow.repo_key == repo_key,
            WebhookEventRow.branch == branch,
            WebhookEventRow.id > after_id,
        )
        if up_to_id is not None:
            query = query.where(WebhookEventRow.id <= up_to_id)
        if since is not None:
            query = query.where(WebhookEventRow.received_at >= since)
        order = WebhookEventRow.id.desc() if newest_first else WebhookEventRow.id
        pushes = [_push(row) for row in self._session.execute(query.order_by(order).limit(limit))]
        return sorted(pushes, key=lambda push: push.event_id)

    def last_push_id(self, repo_key: str, branch: str) -> int:
        """The newest stored push to one branch of one repository (0: none)."""
        return (
            self._session.scalar(
                select(WebhookEventRow.id)
                .where(WebhookEventRow.repo_key == repo_key, WebhookEventRow.branch == branch)
                .order_by(WebhookEventRow.id.desc())
                .limit(1)
            )
            or 0
        )

    def pushes_by_id(self, event_ids: Sequence[int]) -> list[Push]:
        if not event_ids:
            return []
        rows = self._session.execute(
            select(*_PUSH_COLUMNS)
            .where(WebhookEventRow.id.in_(list(event_ids)), WebhookEventRow.branch.is_not(None))
            .order_by(WebhookEventRow.id)
        )
        return [_push(row) for row in rows]

    def previous_pushes(self, pushes: Sequence[tuple[int, str, str]]) -> dict[int, Push]:
        """For each (event id, repository key, branch): the newest stored push to that branch
        with a smaller id, if any. One statement for a whole tick, on the
        ``(repo_key, branch, id)`` index."""
        if not pushes:
            return {}
        asked = row_parameters(
            self._session,
            "asked",
            [("event_id", BIG_INTEGER), ("repo_key", TEXT), ("branch", TEXT)],
            pushes,
        )
        earlier = aliased(WebhookEventRow)
        previous_id = (
            select(func.max(earlier.id))
            .where(
                earlier.repo_key == asked.c.repo_key,
                earlier.branch == asked.c.branch,
                earlier.id < asked.c.event_id,
            )
            .scalar_subquery()
        )
        rows = self._session.execute(
            select(asked.c.event_id, *_PUSH_COLUMNS)
            .select_from(asked)
            .join(WebhookEventRow, WebhookEventRow.id == previous_id)
        )
        return {event_id: _push(push) for event_id, *push in rows}

    def received(self, *, after_id: int, up_to_id: int) -> list[tuple[int, datetime]]:
        """(id, received time) of every event in ``(after_id, up_to_id]``, oldest first: where
        ids are missing, a transaction may still be inserting a push."""
        rows = self._session.execute(
            select(WebhookEventRow.id, WebhookEventRow.received_at)
            .where(WebhookEventRow.id > after_id, WebhookEventRow.id <= up_to_id)
            .order_by(WebhookEventRow.id)
        )
        return [(event_id, received) for event_id, received in rows]

    def max_id(self) -> int:
        return (
            self._session.scalar(
                select(WebhookEventRow.id).order_by(WebhookEventRow.id.desc()).limit(1)
            )
            or 0
        )

    def _by_deliveries(self, delivery_ids: list[str]) -> dict[str, WebhookEvent]:
        if not delivery_ids:
            return {}
        rows = self._session.scalars(
            select(WebhookEventRow).where(WebhookEventRow.delivery_id.in_(delivery_ids))
        )
        return {row.delivery_id: WebhookEvent.model_validate(row) for row in rows}

    def _by_delivery(self, delivery_id: str) -> WebhookEventRow | None:
        return self._session.scalar(
            select(WebhookEventRow).where(WebhookEventRow.delivery_id == delivery_id)
        )


# Every row of a multi-row insert names the same columns: a non-push row sets them to NULL.
_ALL_PUSH_FACTS: dict[str, Any] = dict.fromkeys(
    ("repo_key", "branch", "before_sha", "after_sha", "forced", "installation_id")
)

_PUSH_COLUMNS = (
    WebhookEventRow.id,
    WebhookEventRow.repo_key,
    WebhookEventRow.branch,
    WebhookEventRow.before_sha,
    WebhookEventRow.after_sha,
    WebhookEventRow.forced,
    WebhookEventRow.received_at,
)


def _push(row: Any) -> Push:
    event_id, repo_key, branch, before, after, forced, received = row
    return Push(
        event_id=event_id,
        repo_key=repo_key,
        branch=branch,
        before_sha=before,
        after_sha=after,
        forced=bool(forced),
        received_at=received,
    )
