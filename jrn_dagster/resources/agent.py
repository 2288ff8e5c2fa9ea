"""The agent resources: thin Dagster wrappers that build the agent a run uses
(``jrn_dagster.adapters.agents``). ``definitions.agent_resource`` picks one from the environment."""

from abc import ABC, abstractmethod

from dagster import ConfigurableResource
from pydantic import Field

from jrn_dagster.adapters.agents import CommandAgent, NoticeAgent
from jrn_dagster.ports.agent import Agent


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

    def build(self) -> CommandAgent:
        return CommandAgent(
            self.command, timeout_seconds=self.timeout_seconds, env=self.env, network=self.network
        )
