from collections.abc import Iterator

import httpx
import pytest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster_tests.support.receiver import running_receiver


@pytest.fixture
def receiver(database_url: str) -> Iterator[httpx.Client]:
    """A real receiver (uvicorn, loopback) on the test database; an HTTP client for it."""
    with running_receiver(database_url) as client:
        yield client


def stored_events(database: Database) -> list[WebhookEvent]:
    """Every stored event, oldest first."""
    with database.unit_of_work() as uow:
        return uow.events.after(0, limit=100_000)
