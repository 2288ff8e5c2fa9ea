from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jrn_dagster.db.models import WebhookEventRow
from jrn_dagster.db.upsert import insert_ignoring_conflicts
from jrn_dagster.domain.errors import NotFoundError
from jrn_dagster.domain.records import WebhookEvent


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
    ) -> tuple[WebhookEvent, bool]:
        """Store a delivery once. Returns the stored event and whether this call created it.

        A redelivery reuses the delivery GUID; the unique constraint decides, so concurrent
        receivers (or receiver replicas) never store one twice.
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

    def max_id(self) -> int:
        return (
            self._session.scalar(
                select(WebhookEventRow.id).order_by(WebhookEventRow.id.desc()).limit(1)
            )
            or 0
        )

    def _by_delivery(self, delivery_id: str) -> WebhookEventRow | None:
        return self._session.scalar(
            select(WebhookEventRow).where(WebhookEventRow.delivery_id == delivery_id)
        )
