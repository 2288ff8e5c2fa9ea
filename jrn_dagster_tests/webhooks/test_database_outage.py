"""When the database cannot take a delivery the sender gets a 503 quickly, and a redelivery
stores it later, once.

"Database stopped" without stopping the shared PostgreSQL server: the receiver reaches PostgreSQL
through a TCP proxy the test stops (refusing connections, cutting open ones) and starts again.
SQLite's equivalent is another process holding the write lock beyond the busy timeout. A third
outage, for both, is a lock held on the events table longer than the receiver's timeout.
"""

import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy import make_url

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster_tests.support.github import new_delivery_id, send_push
from jrn_dagster_tests.support.receiver import running_receiver, stored_events
from jrn_dagster_tests.support.tcp_proxy import proxied_postgres_url

RECEIVER_TIMEOUT_SECONDS = 1.0


@dataclass
class Outage:
    begin: Callable[[], None]
    end: Callable[[], None]


def _is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


@contextmanager
def _stoppable(database_url: str) -> Iterator[tuple[str, Outage]]:
    """(URL the receiver uses, how to take that database away and bring it back)."""
    if _is_postgres(database_url):
        with proxied_postgres_url(database_url) as (url, proxy):
            yield url, Outage(begin=proxy.stop, end=proxy.start)
        return
    with _locked_tables(database_url) as outage:
        yield database_url, outage


@contextmanager
def _locked_tables(database_url: str) -> Iterator[Outage]:
    """Another client holding the write lock on the events (SQLite: the whole database)."""
    holder: list[sqlite3.Connection | psycopg.Connection] = []

    def begin() -> None:
        if _is_postgres(database_url):
            connection = psycopg.connect(
                make_url(database_url).set(drivername="postgresql").render_as_string(False)
            )
            connection.execute("LOCK TABLE webhook_events IN EXCLUSIVE MODE")
        else:
            path = make_url(database_url).database or ""
            connection = sqlite3.connect(path, isolation_level=None)
            connection.execute("BEGIN EXCLUSIVE")
        holder.append(connection)

    def end() -> None:
        while holder:
            connection = holder.pop()
            connection.rollback()
            connection.close()

    try:
        yield Outage(begin=begin, end=end)
    finally:
        end()


def _outage_then_redelivery(database: Database, outage: Outage, receiver_url: str) -> None:
    with running_receiver(receiver_url, timeout_seconds=RECEIVER_TIMEOUT_SECONDS) as client:
        assert send_push(client).status_code == 201
        delivery_id = new_delivery_id()

        # The outage lasts until the answer has come: a 503 (not a late 201) shows the receiver
        # gave up after its own timeout instead of waiting for the database.
        outage.begin()
        response = send_push(client, delivery_id=delivery_id)
        outage.end()

        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "30"
        assert "nothing was stored" in response.json()["error"]
        assert delivery_id not in {event.delivery_id for event in stored_events(database)}

        redelivered = send_push(client, delivery_id=delivery_id)
        again = send_push(client, delivery_id=delivery_id)

    assert (redelivered.status_code, again.status_code) == (201, 200)
    delivery_ids = [event.delivery_id for event in stored_events(database)]
    assert len(delivery_ids) == 2
    assert delivery_ids.count(delivery_id) == 1


def test_database_stopped_gives_503_and_a_later_redelivery_is_stored(
    database_url: str, database: Database
) -> None:
    with _stoppable(database_url) as (url, outage):
        _outage_then_redelivery(database, outage, url)


def test_events_table_locked_gives_503_within_the_timeout(
    database_url: str, database: Database
) -> None:
    with _locked_tables(database_url) as outage:
        _outage_then_redelivery(database, outage, database_url)


def test_health_reports_a_stopped_database(database_url: str) -> None:
    with (
        _stoppable(database_url) as (url, outage),
        running_receiver(url, timeout_seconds=RECEIVER_TIMEOUT_SECONDS) as client,
    ):
        assert client.get("/healthz").status_code == 200
        outage.begin()
        if _is_postgres(database_url):
            response = client.get("/healthz")
            assert (response.status_code, response.json()) == (503, {"status": "unavailable"})
        else:
            # A write lock leaves SQLite readable (WAL): health says so, deliveries get 503.
            assert client.get("/healthz").status_code == 200
            assert send_push(client).status_code == 503
        outage.end()
        assert client.get("/healthz").status_code == 200


def test_requests_queued_behind_a_stuck_database_are_answered_in_bounded_time(
    database_url: str, database: Database
) -> None:
    """Concurrent deliveries during an outage all get a 503 while it lasts, none a 2xx: each
    gave up after the queue or database timeout instead of waiting for the outage to end."""
    with (
        _locked_tables(database_url) as outage,
        running_receiver(
            database_url,
            timeout_seconds=RECEIVER_TIMEOUT_SECONDS,
            database_concurrency=1,
            queue_timeout_seconds=1.5,
        ) as client,
    ):
        outage.begin()
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: send_push(client), range(6)))
        outage.end()

    assert [a.status_code for a in answers] == [503] * 6
    assert stored_events(database) == []
