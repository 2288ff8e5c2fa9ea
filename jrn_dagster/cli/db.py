import click

from jrn_dagster.cli.context import CliContext, pass_cli
from jrn_dagster.db.engine import describe_url, sqlite_file_path
from jrn_dagster.db.migrate import current_revision, head_revision, upgrade


@click.group(help="Application database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Create or migrate the schema to the current version (idempotent).")
@pass_cli
def db_upgrade(cli: CliContext) -> None:
    before, after = upgrade(cli.database)
    where = cli.database.describe()
    if before == after:
        click.echo(f"{where}: schema already at {after}")
    else:
        click.echo(f"{where}: schema upgraded from {before or 'empty'} to {after}")


@db.command("status", help="Show the schema revision of the database and of this code.")
@pass_cli
def db_status(cli: CliContext) -> None:
    head = head_revision()
    path = sqlite_file_path(cli.url)
    if path is not None and not path.exists():
        click.echo(
            f"{describe_url(cli.url)}: does not exist, code expects {head} "
            "(create it with `jrn-dagster db upgrade`)"
        )
        return
    current = current_revision(cli.database)
    state = "up to date" if current == head else "needs `jrn-dagster db upgrade`"
    click.echo(f"{cli.database.describe()}: at {current or 'empty'}, code expects {head} ({state})")
