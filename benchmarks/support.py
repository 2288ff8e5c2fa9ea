"""Shared by the benchmarks: a throwaway PostgreSQL database and a statement counter."""

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg import sql
from sqlalchemy import Engine, event, make_url

from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database

POSTGRES_SERVER_URL = os.environ.get(
    "JRN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
T = TypeVar("T")


@contextmanager
def scratch_postgres() -> Iterator[Database]:
    """A migrated PostgreSQL database that is dropped afterwards."""
    name = f"jrn_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database = Database(make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(False))
    try:
        upgrade(database)
        yield database
    finally:
        database.dispose()
        with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def counting_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def timed(function: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start
