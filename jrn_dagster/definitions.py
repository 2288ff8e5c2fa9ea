"""The code location: ``jrn_dagster.definitions:defs`` (``workspace.yaml`` loads it)."""

import logging
import os

from dagster import Definitions, EnvVar

from jrn_dagster.db.engine import DATABASE_URL_ENV
from jrn_dagster.jobs import cli_impact
from jrn_dagster.redaction import install_redaction
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.resources.agent import agent_resource_from_env
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import sandbox_resource_from_env
from jrn_dagster.sensors import (
    cli_impact_cancel_sensor,
    cli_impact_failure_sensor,
    webhook_event_sensor,
)


def database_resource() -> DatabaseResource:
    # Only the variable's presence is looked at here: its value (it may hold a password) is
    # resolved by Dagster when a run or tick uses the resource, and the UI shows its name.
    if os.environ.get(DATABASE_URL_ENV):
        return DatabaseResource(url=EnvVar(DATABASE_URL_ENV))
    return DatabaseResource()  # the embedded default: SQLite under $DAGSTER_HOME


def build_resources() -> dict[str, object]:
    return with_run_sandbox(
        {
            "database": database_resource(),
            "sandbox": sandbox_resource_from_env(),
            "repository_access": RepositoryAccessResource(),
            "agent": agent_resource_from_env(),
        }
    )


install_redaction(logging.getLogger("jrn_dagster"))

defs = Definitions(
    jobs=[cli_impact],
    sensors=[webhook_event_sensor, cli_impact_failure_sensor, cli_impact_cancel_sensor],
    resources=build_resources(),
)
