import click

from jrn_dagster.cli.context import CliContext, pass_cli
from jrn_dagster.webhooks.server import (
    DEFAULT_DATABASE_TIMEOUT_SECONDS,
    DEFAULT_HOST,
    DEFAULT_PORT,
    configure_logging,
    secret_from_environment,
    serve,
)


@click.group(help="The GitHub webhook receiver.")
def webhooks() -> None:
    pass


@webhooks.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on (0: any free port, logged at startup).",
)
@click.option(
    "--database-timeout",
    type=click.FloatRange(0.5, 60),
    default=DEFAULT_DATABASE_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds a delivery may wait on the database before the answer is 503.",
)
@click.option(
    "--log-format",
    type=click.Choice(["logfmt", "json"]),
    default="logfmt",
    show_default=True,
    help="Format of the log lines on stderr (one access line per request).",
)
@pass_cli
def webhooks_serve(
    cli: CliContext, host: str, port: int, database_timeout: float, log_format: str
) -> None:
    """Serve POST /webhooks/github and GET /healthz.

    The webhook secret is read from $JRN_WEBHOOK_SECRET (never from the command line); the
    receiver refuses to start without one, and when the database schema is not current.
    """
    configure_logging("json" if log_format == "json" else "logfmt")
    secret = secret_from_environment()
    serve(
        cli.existing_url(),
        secret,
        host=host,
        port=port,
        database_timeout_seconds=database_timeout,
    )
