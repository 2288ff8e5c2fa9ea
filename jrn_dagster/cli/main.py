"""``jrn-dagster``: manage integrations, sources, spaces, docs and events; serve webhooks."""

import logging
from typing import Any

import click
from sqlalchemy.exc import IntegrityError, OperationalError

from jrn_dagster.cli.changesets import changesets
from jrn_dagster.cli.context import CliContext, fail
from jrn_dagster.cli.db import db
from jrn_dagster.cli.demo import demo
from jrn_dagster.cli.docs import doc
from jrn_dagster.cli.events import events
from jrn_dagster.cli.integrations import integration
from jrn_dagster.cli.match import match
from jrn_dagster.cli.rules import rules
from jrn_dagster.cli.sources import source
from jrn_dagster.cli.spaces import space
from jrn_dagster.cli.webhooks import webhooks
from jrn_dagster.db.engine import describe_url
from jrn_dagster.db.migrate import SchemaOutOfDateError
from jrn_dagster.domain.errors import ConflictError, InvalidInputError, NotFoundError

EXIT_DATABASE_UNAVAILABLE = 1


class JrnGroup(click.Group):
    """Turns the errors users can fix into one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (InvalidInputError, NotFoundError, ConflictError, SchemaOutOfDateError) as error:
            fail(str(error))
        except IntegrityError as error:
            # A concurrent writer won a uniqueness race after our own check passed.
            fail(f"conflicting change, nothing written: {str(error.orig).splitlines()[0]}")
        except OperationalError as error:
            url = describe_url(_url_of(ctx))
            fail(
                f"database {url} is unavailable: {str(error.orig).splitlines()[0]}",
                EXIT_DATABASE_UNAVAILABLE,
            )


def _url_of(ctx: click.Context) -> str:
    obj = ctx.find_object(CliContext)
    return obj.url if obj else "?"


@click.group(cls=JrnGroup)
@click.option(
    "--database-url",
    envvar="JRN_DATABASE_URL",
    help="SQLAlchemy URL of the application database (a plain postgresql:// URL works). "
    "Default: SQLite under $DAGSTER_HOME, or ./.jrn/.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = CliContext(database_url=database_url)
    ctx.call_on_close(ctx.obj.close)


for command in (
    db,
    integration,
    source,
    space,
    doc,
    rules,
    match,
    events,
    webhooks,
    changesets,
    demo,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="jrn-dagster")
