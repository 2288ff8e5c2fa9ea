"""The agent resources: thin Dagster wrappers that build the agent a run uses
(``jrn_dagster.adapters.agents``). ``definitions.agent_resource`` picks one from the environment."""

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping

from dagster import ConfigurableResource
from pydantic import Field

from jrn_dagster.adapters.agents import CommandAgent, NoticeAgent
from jrn_dagster.adapters.llm_agent import LLMAgent
from jrn_dagster.adapters.llm_client import DEFAULT_RETRY_DELAYS, ChatCompletionsClient
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.ports.agent import Agent
from jrn_dagster.redaction import register_secret


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
