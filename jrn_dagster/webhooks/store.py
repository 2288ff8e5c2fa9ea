"""Durable, deduplicated storage of deliveries, and how database failures are told apart."""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import exc

from jrn_dagster.db.repositories.events import NewWebhookEvent
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.installations import InstallationEffect
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.webhooks.deliveries import Delivery

logger = logging.getLogger(__name__)

# Failures of the database, not of the request: the sender should retry (HTTP 503).
_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, exc.DisconnectionError)


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    event: WebhookEvent
    created: bool  # False: a redelivery of an event stored before
    lifecycle: InstallationEffect | None = None  # what a GitHub App lifecycle delivery changed


def store_delivery(database: Database, delivery: Delivery) -> StoredDelivery:
    """Commit the delivery in one transaction; a known delivery id stores nothing new.

    A GitHub App lifecycle delivery is applied in the same transaction (installation state,
    repositories, integration status), once: a redelivery applies nothing again.

    Synchronous: the receiver runs it in a worker thread. On SQLite the transaction takes the
    write lock at BEGIN, so concurrent writers wait for the busy timeout instead of failing on
    a read-to-write upgrade.
    """
    with database.unit_of_work(serializable_write=True) as uow:
        event, created = uow.events.store(
            delivery_id=delivery.delivery_id,
            event_type=delivery.event_type,
            payload=delivery.payload,
            headers=delivery.headers,
            push=delivery.push,
        )
        lifecycle = None
        if created and delivery.installation is not None:
            lifecycle = uow.installations.apply(delivery.installation, event.id)
        uow.commit()
    if lifecycle is not None and delivery.installation is not None:
        logger.info(
            "GitHub App lifecycle applied",
            extra={
                "fields": {
                    "event_id": event.id,
                    "installation": delivery.installation.installation_id,
                    "action": delivery.installation.action,
                    "effect": lifecycle.describe(),
                }
            },
        )
    return StoredDelivery(event=event, created=created, lifecycle=lifecycle)


def store_deliveries(database: Database, deliveries: Sequence[Delivery]) -> list[StoredDelivery]:
    """Commit several deliveries in one transaction (a group commit, docs/webhooks.md): what
    ``store_delivery`` does for each, in two statements and one commit for all of them.

    GitHub App lifecycle deliveries are refused (``ValueError``): they change other tables and
    are stored one at a time, with ``store_delivery``.
    """
    if any(delivery.installation is not None for delivery in deliveries):
        raise ValueError("GitHub App lifecycle deliveries are stored one at a time")
    with database.unit_of_work(serializable_write=True) as uow:
        stored = uow.events.store_many(
            [
                NewWebhookEvent(
                    delivery_id=delivery.delivery_id,
                    event_type=delivery.event_type,
                    payload=delivery.payload,
                    headers=delivery.headers,
                    push=delivery.push,
                )
                for delivery in deliveries
            ]
        )
        uow.commit()
    return [StoredDelivery(event=event, created=created) for event, created in stored]


def store_group(
    database: Database, deliveries: Sequence[Delivery]
) -> list[StoredDelivery | Exception]:
    """Store a group of deliveries, committed together when possible; each delivery's outcome,
    in order: what was stored, or why it was not (an exception, never raised here).

    A lifecycle delivery, or a group of one, is stored alone (``store_delivery``). When the
    database is unavailable every delivery gets that error. Any other failure of the group (a
    payload the database refuses, a bug) may be one delivery's: each is then stored in its own
    transaction, so one bad delivery refuses no other.
    """
    if len(deliveries) == 1 or any(d.installation is not None for d in deliveries):
        return [_outcome(store_delivery, database, delivery) for delivery in deliveries]
    try:
        return list(store_deliveries(database, deliveries))
    except Exception as error:
        if is_database_unavailable(error):
            return [error] * len(deliveries)
    return [_outcome(store_delivery, database, delivery) for delivery in deliveries]


def _outcome(
    store: Callable[[Database, Delivery], StoredDelivery], database: Database, delivery: Delivery
) -> StoredDelivery | Exception:
    try:
        return store(database, delivery)
    except Exception as error:
        return error


def check_database(database: Database) -> int:
    """A cheap query that needs the schema: the newest event id (0 when there is none)."""
    with database.unit_of_work() as uow:
        return uow.events.max_id()


def is_database_unavailable(error: BaseException) -> bool:
    return isinstance(error, _UNAVAILABLE)


def describe_database_error(error: BaseException) -> str:
    """One line naming the failure, without SQL or parameters (they would hold the payload).

    Only the driver's own message is shown (e.g. "connection refused", "database is locked");
    other errors are named by type alone.
    """
    if isinstance(error, exc.DBAPIError) and error.orig is not None:
        original = error.orig
        first_line = (str(original).strip().splitlines() or [""])[0][:200]
        return f"{type(original).__name__}: {first_line}"
    return type(error).__name__
