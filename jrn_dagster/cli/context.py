"""What every command shares: the database, error reporting and output formats."""

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from pydantic import BaseModel

from jrn_dagster.db.engine import describe_url, resolve_database_url, sqlite_file_path
from jrn_dagster.db.migrate import ensure_up_to_date
from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.redaction import redact

if TYPE_CHECKING:
    from dagster import DagsterInstance

EXIT_INVALID_INPUT = 2
EXIT_INSTANCE_UNAVAILABLE = 1
DAGSTER_HOME_ENV = "DAGSTER_HOME"


@dataclass
class CliContext:
    database_url: str | None
    _database: Database | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return resolve_database_url(self.database_url)

    @property
    def database(self) -> Database:
        """The database, created if it is a SQLite file that does not exist yet: for the
        commands that create it (``db upgrade``, ``demo``). Others use ``existing_database``."""
        if self._database is None:
            self._database = Database(self.url)
        return self._database

    def existing_url(self) -> str:
        """The URL, refusing a SQLite file that does not exist: connecting would leave an empty
        file (and its directory) behind, which no command but ``db upgrade`` can use."""
        url = self.url
        path = sqlite_file_path(url)
        if path is not None and not path.exists():
            raise InvalidInputError(
                f"database {describe_url(url)} does not exist: create it with "
                "`jrn-dagster db upgrade`"
            )
        return url

    def existing_database(self) -> Database:
        if self._database is None:
            self.existing_url()
        return self.database

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        database = self.existing_database()
        ensure_up_to_date(database)
        with database.unit_of_work() as uow:
            yield uow

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()


pass_cli = click.make_pass_decorator(CliContext)


def fail(message: str, code: int = EXIT_INVALID_INPUT) -> NoReturn:
    """One clear line on stderr, and a non-zero exit."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def note(message: str) -> None:
    """A remark on stderr, so that stdout (``--json``) stays machine-readable."""
    click.echo(f"note: {message}", err=True)


def configured_dagster_home() -> Path | None:
    """The Dagster instance the CLI keeps partitions on: ``$DAGSTER_HOME``, when it holds a
    ``dagster.yaml`` (as Dagster's own tools find it). A DAGSTER_HOME without one only says
    where the embedded SQLite database lives: no instance is created there behind one's back."""
    home = os.environ.get(DAGSTER_HOME_ENV)
    if not home or not (Path(home) / "dagster.yaml").is_file():
        return None
    return Path(home).resolve()


@contextmanager
def instance_failures(home: Path | None) -> Iterator[None]:
    """A failure of the Dagster instance (its storage unreachable, a bad dagster.yaml) as one
    redacted line and exit code 1; nothing was committed."""
    try:
        yield
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0][:200]
        fail(
            redact(
                f"the Dagster instance in {home} failed, nothing changed: "
                f"{type(error).__name__}: {first_line}"
            ),
            EXIT_INSTANCE_UNAVAILABLE,
        )


@contextmanager
def dagster_instance(home: Path) -> Iterator["DagsterInstance"]:
    # Dagster loads slowly: imported only by the commands that use an instance.
    from dagster import DagsterInstance

    root = logging.getLogger()
    level = root.level
    if level == logging.WARNING:
        # Without --verbose, Dagster's multi-line "Retrying failed database connection"
        # warnings would bury the one-line error that follows them.
        root.setLevel(logging.ERROR)
    try:
        with instance_failures(home):
            instance = DagsterInstance.from_config(str(home))
        with instance:
            yield instance
    finally:
        root.setLevel(level)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def echo_json(value: Any) -> None:
    """Stable, machine-readable output: sorted keys, ISO timestamps, one document."""
    click.echo(json.dumps(_jsonable(value), indent=2, sort_keys=True))


def echo_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[("" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
