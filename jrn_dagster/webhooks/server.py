"""Serving the receiver with uvicorn, as ``jrn-dagster webhooks serve`` does."""

import logging
import os
import socket
import sys
from collections.abc import Mapping
from typing import Literal

import uvicorn
from starlette.applications import Starlette

from jrn_dagster.db.migrate import ensure_up_to_date
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.webhooks.access_log import JsonFormatter, LogfmtFormatter
from jrn_dagster.webhooks.app import create_app
from jrn_dagster.webhooks.signature import require_secret

logger = logging.getLogger(__name__)

SECRET_ENV = "JRN_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DATABASE_TIMEOUT_SECONDS = 5.0
# In-flight deliveries get this long to be stored after SIGTERM before the server stops.
GRACEFUL_SHUTDOWN_SECONDS = 20
MIN_RECOMMENDED_SECRET_LENGTH = 20

LogFormat = Literal["logfmt", "json"]


def secret_from_environment(environ: Mapping[str, str] = os.environ) -> str:
    """``JRN_WEBHOOK_SECRET``; raises ``InvalidInputError`` when unset or blank."""
    value = environ.get(SECRET_ENV)
    if value is None or not value.strip():
        raise InvalidInputError(
            f"{SECRET_ENV} is not set: the receiver refuses to start without the secret "
            "configured on the GitHub webhook"
        )
    secret = require_secret(value)
    if len(secret) < MIN_RECOMMENDED_SECRET_LENGTH:
        logger.warning(
            "the webhook secret is short: use a random string of %d or more characters",
            MIN_RECOMMENDED_SECRET_LENGTH,
        )
    return secret


def uvicorn_config(
    app: Starlette, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> uvicorn.Config:
    """The server settings, shared by ``serve`` and the tests that start a real server."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        # Our access log is structured and secret-free; uvicorn's own is neither needed nor
        # configured (log_config=None leaves logging to us).
        access_log=False,
        log_config=None,
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def configure_logging(log_format: LogFormat = "logfmt") -> None:
    """Every log line on stderr in one structured format; access lines at INFO."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else LogfmtFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    for name in ("jrn_dagster", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)


def serve(
    database_url: str,
    secret: str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    database_timeout_seconds: float = DEFAULT_DATABASE_TIMEOUT_SECONDS,
) -> None:
    """Check the schema, then serve until SIGINT/SIGTERM (in-flight deliveries finish first).

    Raises ``SchemaOutOfDateError`` when the database needs ``jrn-dagster db upgrade``, and
    SQLAlchemy's ``OperationalError`` when it cannot be reached: a receiver that cannot store
    must not look healthy.
    """
    database = Database(database_url, timeout_seconds=database_timeout_seconds)
    try:
        ensure_up_to_date(database)
        config = uvicorn_config(create_app(database, secret), host=host, port=port)
        listener = config.bind_socket()
        # Listen now: a client that reads the log line below may connect before uvicorn's loop
        # accepts, and is queued rather than refused.
        listener.listen(config.backlog)
        bound_host, bound_port = _address(listener)
        logger.info(
            "webhook receiver listening",
            extra={
                "fields": {
                    "url": f"http://{bound_host}:{bound_port}/webhooks/github",
                    "database": database.describe(),
                }
            },
        )
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        database.dispose()


def _address(listener: socket.socket) -> tuple[str, int]:
    address = listener.getsockname()
    host = address[0]
    return (f"[{host}]" if ":" in host else host), address[1]
