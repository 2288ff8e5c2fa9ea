"""Shared fixtures. Every test that takes ``database`` runs on SQLite and on PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster_tests.support.databases import (
    DATABASE_KINDS,
    create_postgres_database,
    drop_postgres_database,
    empty_all_tables,
    migrated_sqlite_template,
    sqlite_copy,
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One migrated PostgreSQL database per test session (so per xdist worker)."""
    url = create_postgres_database()
    database = Database(url)
    upgrade(database)
    database.dispose()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(params=DATABASE_KINDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """URL of an empty, migrated application database of each kind."""
    if request.param == "sqlite":
        yield sqlite_copy(sqlite_template, tmp_path)
        return
    url = request.getfixturevalue("postgres_session_url")
    database = Database(url)
    empty_all_tables(database)
    database.dispose()
    yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture(autouse=True)
def _no_ambient_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI commands keep partitions on the instance in $DAGSTER_HOME: a developer's own
    instance must never receive a test's partitions. Tests that want one set it."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
