from collections.abc import Iterator

import httpx
import pytest

from jrn_dagster_tests.support.receiver import running_receiver


@pytest.fixture
def receiver(database_url: str) -> Iterator[httpx.Client]:
    """A real receiver (uvicorn, loopback) on the test database; an HTTP client for it."""
    with running_receiver(database_url) as client:
        yield client
