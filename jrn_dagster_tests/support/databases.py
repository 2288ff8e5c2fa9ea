"""Real databases for tests: a migrated SQLite file per test, a private PostgreSQL database per
test session (per xdist worker), emptied between tests."""

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import make_url, select, text

from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.models import Base
from jrn_dagster.db.unit_of_work import Database

DATABASE_KINDS = ["sqlite", "postgresql"]


POSTGRES_SERVER_URL_ENV = "JRN_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_server_url() -> str:
    return os.environ.get(POSTGRES_SERVER_URL_ENV, DEFAULT_POSTGRES_SERVER_URL)


def _admin_connect() -> psycopg.Connection:
    return psycopg.connect(postgres_server_url(), autocommit=True, connect_timeout=5)


def create_postgres_database(prefix: str = "jrn_test") -> str:
    """Create an empty database; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin_connect() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(postgres_server_url()).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    with _admin_connect() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name or ""))
        )


@contextmanager
def temporary_postgres_database(prefix: str = "jrn_test") -> Iterator[str]:
    url = create_postgres_database(prefix)
    try:
        yield url
    finally:
        drop_postgres_database(url)


def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.sqlite"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / "jrn.sqlite"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def empty_all_tables(database: Database) -> None:
    """Delete every row and restart ids (PostgreSQL: TRUNCATE, identities restarted)."""
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            return
        for table in tables:
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608
        # Ids start again from 1, as on PostgreSQL: a gap below the first id would look like
        # an insert still in flight (docs/cursors.md, "Event-id holes").
        connection.execute(text("DELETE FROM sqlite_sequence"))


def database_text(database: Database) -> str:
    """Every row of every table as text: what a test searches for a string that must not have
    been stored anywhere."""
    lines = []
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            # Every value in full (a Row's repr cuts long values short); text as it is stored.
            lines.extend(
                " | ".join(
                    value if isinstance(value, str) else json.dumps(value, default=str)
                    for value in (table.name, *row)
                )
                for row in connection.execute(select(table))
            )
    return "\n".join(lines)
