"""The agent resources: thin Dagster wrappers that build the agent a run uses
(``jrn_dagster.adapters``), and ``agent_resource_from_env``, which picks one from the environment
when the definitions load (docs/agents.md)."""

import os
import shlex
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from jrn_dagster.adapters.agents import CommandAgent, NoticeAgent
from jrn_dagster.adapters.llm_agent import LLMAgent
from jrn_dagster.adapters.llm_client import DEFAULT_RETRY_DELAYS, ChatCompletionsClient
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.validation import is_env_var_name
from jrn_dagster.ports.agent import Agent
from jrn_dagster.redaction import register_secret
from jrn_dagster.resources.sandbox import env_flag


class AgentResource(ConfigurableResource, ABC):
    """Builds the run's agent."""

    @abstractmethod
    def build(self) -> Agent: ...


class NoticeAgentResource(AgentResource):
    """The default: a "source changed" notice in each impacted doc (no LLM)."""

    def build(self) -> NoticeAgent:
        return NoticeAgent()


class CommandAgentResource(AgentResource):
    """Any command-line coding agent, run isolated in the sandbox (docs/agents.md)."""

    command: list[str] = Field(description="argument list, e.g. ['my-agent', '--apply']")
    timeout_seconds: float = Field(default=900, gt=0)
    env: dict[str, str] = Field(
        default_factory=dict, description="extra, non-secret environment for the command"
    )
    network: bool = Field(
        default=False,
        description="Let the command use the network (an agent that calls an LLM API). On the "
        "local sandbox it then also reaches services on this machine's loopback interface.",
    )

    env_allowlist: list[str] = Field(
        default_factory=list,
        description="Names of variables of the orchestrator's environment given to the command "
        "(e.g. an LLM API key), read when the agent step runs. On the local sandbox only to an "
        "agent bubblewrap isolates (docs/agents.md).",
    )

    def build(self) -> CommandAgent:
        return CommandAgent(
            self.command,
            timeout_seconds=self.timeout_seconds,
            env=self.env,
            network=self.network,
            secret_env=allowed_environment(self.env_allowlist, os.environ),
        )


def allowed_environment(names: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The values of ``names``, each registered with the redaction helper: read when the agent
    step runs (never at import time), a missing one a clear error."""
    values = {}
    for name in names:
        if name.startswith("JRN_"):
            raise InvalidInputError(
                f"JRN_AGENT_ENV_ALLOWLIST names {name}: the JRN_ settings are never given to an "
                "agent"
            )
        value = environ.get(name)
        if not value:
            raise InvalidInputError(
                f"JRN_AGENT_ENV_ALLOWLIST names {name}, which is not set in the environment of "
                "the process running the agent step"
            )
        register_secret(value)
        values[name] = value
    return values


class LLMAgentResource(AgentResource):
    """Asks an LLM to update each impacted doc, through an OpenAI-compatible chat-completions
    API (docs/agents.md). Give ``api_key`` as ``EnvVar("OPENAI_API_KEY")`` (or the variable
    ``JRN_LLM_API_KEY_ENV`` names): Dagster resolves it when a run starts, the UI shows only
    the variable's name, and the key goes to the LLM client alone."""

    model: str = Field(description="the model name the API knows, e.g. 'gpt-4.1-mini'")
    api_key: str = Field(description="the API key; use EnvVar('OPENAI_API_KEY')")
    base_url: str | None = Field(
        default=None,
        description="the API's base URL, e.g. http://llm.internal:8000/v1 for a self-hosted "
        "model server; default OpenAI's",
    )
    timeout_seconds: float = Field(default=120.0, gt=0, description="per request")
    max_retries: int = Field(
        default=3, ge=0, le=10, description="retries of transport errors and 429s, with backoff"
    )
    retry_delays_seconds: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_DELAYS),
        description="backoff before each retry (the last one repeats); a 429's Retry-After wins",
    )

    def build(self) -> LLMAgent:
        return LLMAgent(
            ChatCompletionsClient(
                model=self.model,
                api_key=self.api_key,
                base_url=self.base_url,
                timeout_seconds=self.timeout_seconds,
                max_retries=self.max_retries,
                retry_delays=self.retry_delays_seconds,
            )
        )


AGENT_COMMAND_ENV = "JRN_AGENT_COMMAND"
AGENT_NETWORK_ENV = "JRN_AGENT_NETWORK"
AGENT_ENV_ALLOWLIST_ENV = "JRN_AGENT_ENV_ALLOWLIST"
LLM_MODEL_ENV = "JRN_LLM_MODEL"
LLM_BASE_URL_ENV = "JRN_LLM_BASE_URL"
LLM_API_KEY_ENV_ENV = "JRN_LLM_API_KEY_ENV"
LLM_TIMEOUT_ENV = "JRN_LLM_TIMEOUT_SECONDS"
LLM_MAX_RETRIES_ENV = "JRN_LLM_MAX_RETRIES"
DEFAULT_LLM_API_KEY_ENV = "OPENAI_API_KEY"


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


def agent_resource_from_env(environ: Mapping[str, str] | None = None) -> AgentResource:
    """The notice agent, unless ``JRN_AGENT_COMMAND`` names a command or ``JRN_LLM_MODEL`` a
    model (docs/agents.md). Only names and settings are read here: secrets are ``EnvVar``s."""
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
        if not is_env_var_name(name) or name.startswith("JRN_"):
            raise InvalidInputError(
                f"invalid name {name!r} in {AGENT_ENV_ALLOWLIST_ENV}: list environment variable "
                "names (letters, digits, '_'; not the JRN_ settings), separated by commas"
            )
    return sorted(set(names))
