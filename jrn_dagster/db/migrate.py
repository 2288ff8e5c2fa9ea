"""Schema migrations: ``jrn-dagster db upgrade`` brings any database to the current schema."""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from jrn_dagster.db.unit_of_work import Database

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed 64-bit number: serialises concurrent upgrades of one PostgreSQL database.
_PG_MIGRATION_LOCK = 7_260_418_335_112


class SchemaOutOfDateError(RuntimeError):
    pass


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError("no migrations found in the package")
    return head


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database) -> tuple[str | None, str]:
    """Upgrade to head; safe to run again and from several processes at once.

    Returns (revision before, revision after).
    """
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(_config(connection), "head")
        after = MigrationContext.configure(connection).get_current_revision()
    if before != after:
        logger.info("database %s upgraded from %s to %s", database.describe(), before, after)
    return before, after or head_revision()


def ensure_up_to_date(database: Database) -> None:
    """Fail with what to do when the schema is not the one this code expects."""
    current, head = current_revision(database), head_revision()
    if current != head:
        raise SchemaOutOfDateError(
            f"database {database.describe()} is at schema revision {current or 'none'}, "
            f"this code needs {head}: run `jrn-dagster db upgrade`"
        )
