"""The code location: ``jrn_dagster.definitions:defs`` (``workspace.yaml`` loads it)."""

import logging
import os
import re
import shlex
from collections.abc import Mapping
from typing import Any

from dagster import Definitions, EnvVar

from jrn_dagster.db.engine import DATABASE_URL_ENV
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.jobs import cli_impact
from jrn_dagster.redaction import install_redaction
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.resources.agent import (
    AgentResource,
    CommandAgentResource,
    LLMAgentResource,
    NoticeAgentResource,
)
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import env_flag, sandbox_resource_from_env
from jrn_dagster.sensors import (
    cli_impact_cancel_sensor,
    cli_impact_failure_sensor,
    webhook_event_sensor,
)

AGENT_COMMAND_ENV = "JRN_AGENT_COMMAND"
AGENT_NETWORK_ENV = "JRN_AGENT_NETWORK"
AGENT_ENV_ALLOWLIST_ENV = "JRN_AGENT_ENV_ALLOWLIST"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LLM_MODEL_ENV = "JRN_LLM_MODEL"
LLM_BASE_URL_ENV = "JRN_LLM_BASE_URL"
LLM_API_KEY_ENV_ENV = "JRN_LLM_API_KEY_ENV"
LLM_TIMEOUT_ENV = "JRN_LLM_TIMEOUT_SECONDS"
LLM_MAX_RETRIES_ENV = "JRN_LLM_MAX_RETRIES"
DEFAULT_LLM_API_KEY_ENV = "OPENAI_API_KEY"


def database_resource() -> DatabaseResource:
    # Only the variable's presence is looked at here: its value (it may hold a password) is
    # resolved by Dagster when a run or tick uses the resource, and the UI shows its name.
    if os.environ.get(DATABASE_URL_ENV):
        return DatabaseResource(url=EnvVar(DATABASE_URL_ENV))
    return DatabaseResource()  # the embedded default: SQLite under $DAGSTER_HOME


def _number(environ: Mapping[str, str], name: str, kind: type[float] | type[int]) -> Any:
    value = environ.get(name, "").strip()
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInputError(f"invalid {name}={value!r}: expected a number") from None


def llm_agent_resource(environ: Mapping[str, str]) -> LLMAgentResource:
    """The LLM agent, from ``JRN_LLM_*`` (docs/agents.md). The API key is an ``EnvVar`` of the
    variable ``JRN_LLM_API_KEY_ENV`` names: only its name is read here."""
    key_env = environ.get(LLM_API_KEY_ENV_ENV, "").strip() or DEFAULT_LLM_API_KEY_ENV
    options: dict[str, Any] = {
        "timeout_seconds": _number(environ, LLM_TIMEOUT_ENV, float),
        "max_retries": _number(environ, LLM_MAX_RETRIES_ENV, int),
        "base_url": environ.get(LLM_BASE_URL_ENV, "").strip() or None,
    }
    return LLMAgentResource(
        model=environ[LLM_MODEL_ENV].strip(),
        api_key=EnvVar(key_env),
        **{name: value for name, value in options.items() if value is not None},
    )


def agent_resource(environ: Mapping[str, str] | None = None) -> AgentResource:
    environ = os.environ if environ is None else environ
    command = environ.get(AGENT_COMMAND_ENV, "").strip()
    if environ.get(LLM_MODEL_ENV, "").strip():
        if command:
            raise InvalidInputError(
                f"both {LLM_MODEL_ENV} and {AGENT_COMMAND_ENV} are set: choose one agent"
            )
        return llm_agent_resource(environ)
    if not command:
        return NoticeAgentResource()
    return CommandAgentResource(
        command=shlex.split(command),
        network=env_flag(environ, AGENT_NETWORK_ENV),
        env_allowlist=env_allowlist(environ),
    )


def env_allowlist(environ: Mapping[str, str]) -> list[str]:
    """The names in ``JRN_AGENT_ENV_ALLOWLIST`` (comma-separated); only names are read here."""
    names = [n.strip() for n in environ.get(AGENT_ENV_ALLOWLIST_ENV, "").split(",") if n.strip()]
    for name in names:
        if not ENV_NAME.fullmatch(name) or name.startswith("JRN_"):
            raise InvalidInputError(
                f"invalid name {name!r} in {AGENT_ENV_ALLOWLIST_ENV}: list environment variable "
                "names (letters, digits, '_'; not the JRN_ settings), separated by commas"
            )
    return sorted(set(names))


def build_resources() -> dict[str, object]:
    return with_run_sandbox(
        {
            "database": database_resource(),
            "sandbox": sandbox_resource_from_env(),
            "repository_access": RepositoryAccessResource(),
            "agent": agent_resource(),
        }
    )


install_redaction(logging.getLogger("jrn_dagster"))

defs = Definitions(
    jobs=[cli_impact],
    sensors=[webhook_event_sensor, cli_impact_failure_sensor, cli_impact_cancel_sensor],
    resources=build_resources(),
)
