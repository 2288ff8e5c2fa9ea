"""Shared fixtures. Every test that takes ``database`` runs on SQLite and on PostgreSQL; ``remote``
is a real git repository to clone, ``local_sandbox`` a real local sandbox."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jrn_dagster.adapters.local_sandbox import LocalSandbox
from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.redaction import clear_registered_secrets
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster_tests.support.databases import (
    DATABASE_KINDS,
    create_postgres_database,
    drop_postgres_database,
    empty_all_tables,
    migrated_sqlite_template,
    sqlite_copy,
)
from jrn_dagster_tests.support.git_repos import RemoteRepo, make_remote_repo
from jrn_dagster_tests.support.recording_sandbox import RecordingSandbox


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


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    clear_registered_secrets()


@pytest.fixture
def remote(tmp_path: Path) -> RemoteRepo:
    return make_remote_repo(tmp_path / "git", "github.com/acme/widgets")


@pytest.fixture
def local_sandbox(tmp_path: Path) -> Iterator[LocalSandbox]:
    resource = LocalSandboxResource(base_dir=str(tmp_path / "sandboxes"), kill_grace_seconds=1.0)
    sandbox = resource.open("checkout-test")
    assert isinstance(sandbox, LocalSandbox)
    try:
        yield sandbox
    finally:
        resource.release_all()


@pytest.fixture
def spy(local_sandbox: LocalSandbox) -> RecordingSandbox:
    return RecordingSandbox(local_sandbox)
