"""Database URLs and engines, the same way for the CLI, the receiver and Dagster runs."""

import math
import os
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from jrn_dagster.domain.errors import InvalidInputError

DATABASE_URL_ENV = "JRN_DATABASE_URL"
SQLITE_FILE_NAME = "jrn.sqlite"
# Per-connection option that makes a SQLite transaction take the write lock at BEGIN, so a
# read-then-write (compare-and-swap) cannot interleave with another writer.
SQLITE_IMMEDIATE = "jrn_sqlite_immediate"
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def default_database_url() -> str:
    """A SQLite file under ``$DAGSTER_HOME``, or under ``./.jrn/`` when that is unset."""
    home = os.environ.get("DAGSTER_HOME")
    directory = Path(home) if home else Path.cwd() / ".jrn"
    return f"sqlite:///{(directory / SQLITE_FILE_NAME).resolve()}"


def resolve_database_url(explicit: str | None = None) -> str:
    """Explicit URL, else ``JRN_DATABASE_URL``, else the embedded default."""
    return explicit or os.environ.get(DATABASE_URL_ENV) or default_database_url()


def normalize_database_url(url: str) -> URL:
    """Accept the URLs users copy from their provider.

    ``postgres://`` and ``postgresql://`` (no driver) become ``postgresql+psycopg://``: psycopg 3
    is the driver this project ships, whatever SQLAlchemy's default for the bare scheme is.
    """
    try:
        parsed = make_url(url)
    except Exception as error:  # sqlalchemy.exc.ArgumentError, ValueError (e.g. a bad port)
        raise InvalidInputError(
            f"invalid database URL {_masked(url)!r}: expected sqlite:///PATH or "
            "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
        ) from error
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not (parsed.drivername.startswith("postgresql") or parsed.drivername.startswith("sqlite")):
        raise InvalidInputError(
            f"unsupported database {parsed.drivername!r}: use sqlite:/// or postgresql://"
        )
    return parsed


def describe_url(url: str | URL) -> str:
    """The URL without its password, for logs and messages."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def _masked(url: str, limit: int = 120) -> str:
    """An unparseable URL as it can be shown: everything before its last ``@`` (user and
    password, whatever their form) replaced, and bounded."""
    if "@" in url:
        scheme, separator, _ = url.partition("://")
        tail = url.rsplit("@", 1)[1]
        url = f"{scheme}://***@{tail}" if separator else f"***@{tail}"
    return url if len(url) <= limit else url[: limit - 3] + "..."


def sqlite_file_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = normalize_database_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def create_database_engine(url: str, *, timeout_seconds: float | None = None) -> Engine:
    """``timeout_seconds`` bounds every wait of one database call (connecting, a pool checkout,
    a lock or a statement), for callers that must fail fast rather than queue, like the webhook
    receiver answering 503. None keeps the defaults: 10 s to connect to PostgreSQL, a 30 s
    SQLite busy timeout, no statement timeout."""
    parsed = normalize_database_url(url)
    if parsed.drivername.startswith("sqlite"):
        return _sqlite_engine(parsed, timeout_seconds or SQLITE_BUSY_TIMEOUT_SECONDS)
    return _postgres_engine(parsed, timeout_seconds)


def _postgres_engine(url: URL, timeout_seconds: float | None) -> Engine:
    # libpq counts whole seconds.
    connect_timeout = max(1, math.ceil(timeout_seconds)) if timeout_seconds else 10
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=timeout_seconds or 30,
        connect_args={"connect_timeout": connect_timeout, "application_name": "jrn_dagster"},
    )
    if timeout_seconds is None:
        return engine
    statement_timeout_ms = max(1, round(timeout_seconds * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET statement_timeout = {statement_timeout_ms}")
        cursor.close()
        # SET is transactional in PostgreSQL: keep it past the pool's reset-on-return rollback.
        dbapi_connection.commit()

    return engine


def _sqlite_engine(url: URL, busy_timeout_seconds: float = SQLITE_BUSY_TIMEOUT_SECONDS) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" hook, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {max(1, round(busy_timeout_seconds * 1000))}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
