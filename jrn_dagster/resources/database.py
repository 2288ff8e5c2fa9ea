from functools import cache

from dagster import ConfigurableResource
from pydantic import Field

from jrn_dagster.db.engine import resolve_database_url
from jrn_dagster.db.unit_of_work import Database


@cache
def _database_for(url: str) -> Database:
    """One engine (and pool) per URL and process, shared by sensor ticks and ops."""
    # alembic is imported when a run or tick first uses the database, not when the code
    # location loads (docs/operations.md#start-up-time).
    from jrn_dagster.db.migrate import ensure_up_to_date

    database = Database(url)
    ensure_up_to_date(database)
    return database


class DatabaseResource(ConfigurableResource):
    """The application database (integrations, sources, spaces, docs, events, records).

    ``url`` is usually ``EnvVar("JRN_DATABASE_URL")``; left unset, the URL is resolved when the
    resource is used: ``JRN_DATABASE_URL`` if set, else the embedded SQLite default under
    ``$DAGSTER_HOME``.
    """

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL (a plain postgresql:// URL works). Default: "
        "JRN_DATABASE_URL, else SQLite under $DAGSTER_HOME.",
    )

    @property
    def database(self) -> Database:
        return _database_for(resolve_database_url(self.url))
