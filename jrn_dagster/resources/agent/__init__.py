"""The agent that proposes doc updates: ``NoticeAgent`` (default) or ``CommandAgent``."""

from jrn_dagster.resources.agent.base import AgentResource, AgentTask
from jrn_dagster.resources.agent.command import CommandAgent
from jrn_dagster.resources.agent.notice import NoticeAgent

__all__ = ["AgentResource", "AgentTask", "CommandAgent", "NoticeAgent"]
