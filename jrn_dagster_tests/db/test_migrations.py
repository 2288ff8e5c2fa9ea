from pathlib import Path

from sqlalchemy import inspect

from jrn_dagster.db.migrate import current_revision, ensure_up_to_date, head_revision, upgrade
from jrn_dagster.db.models import Base
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster_tests.support.databases import temporary_postgres_database


def _check_fresh_upgrade(url: str) -> None:
    database = Database(url)
    try:
        assert current_revision(database) is None
        assert upgrade(database) == (None, head_revision())
        assert upgrade(database) == (head_revision(), head_revision())  # idempotent
        ensure_up_to_date(database)
        tables = set(inspect(database.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        database.dispose()


def test_upgrade_on_empty_sqlite(tmp_path: Path) -> None:
    _check_fresh_upgrade(f"sqlite:///{tmp_path}/fresh.sqlite")


def test_upgrade_on_empty_postgresql() -> None:
    with temporary_postgres_database() as url:
        _check_fresh_upgrade(url)


def test_plain_postgresql_url_works_with_the_shipped_driver() -> None:
    with temporary_postgres_database() as url:
        assert url.startswith("postgresql://")  # as users copy it from their provider
        database = Database(url)
        try:
            assert database.engine.dialect.driver == "psycopg"
            upgrade(database)
        finally:
            database.dispose()


def test_models_and_migrations_agree(database: Database) -> None:
    """Autogenerate finds nothing to do: the migration builds exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
