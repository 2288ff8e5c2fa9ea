"""The demo's settings, kept in ``$DAGSTER_HOME/demo.env`` for the processes that open the same
instance next: ``make dev`` (and the command the demo prints) load it, so runs launched,
re-executed or backfilled from the UI clone from the demo's local repository as the demo's runs
did (docs/operations.md#from-the-demo-to-the-ui).

The file is shell syntax (``set -a; . demo.env``) and holds no secret: the demo's clone URLs are
``file://`` ones, which take no credential, and a database URL with a password is left out."""

import shlex
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import make_url

from jrn_dagster.db.engine import DATABASE_URL_ENV, default_database_url

DEMO_ENV_FILE = "demo.env"
_HEADER = """\
# Written by `jrn-dagster demo`: the settings its runs used, loaded by `make dev` (or
# `set -a; . THIS_FILE; set +a` before `dagster dev -w workspace.yaml`). No secret here.
"""


def demo_env_path(home: Path) -> Path:
    return home / DEMO_ENV_FILE


def write_demo_env(home: Path, settings: Mapping[str, str], database_url: str) -> Path:
    """Write ``settings`` and, unless it is the default or carries a password, the database URL
    (a URL with a password stays in the environment it came from)."""
    lines = [_HEADER]
    for name, value in settings.items():
        lines.append(f"{name}={shlex.quote(value)}\n")
    if database_url != default_database_url():
        if make_url(database_url).password is None:
            lines.append(f"{DATABASE_URL_ENV}={shlex.quote(database_url)}\n")
        else:
            lines.append(
                f"# {DATABASE_URL_ENV} holds a password: set it in the environment yourself.\n"
            )
    path = demo_env_path(home)
    path.write_text("".join(lines))
    return path
