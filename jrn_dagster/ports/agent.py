"""The agent port: what proposes doc updates in a run's sandbox. Adapters: ``NoticeAgent`` and
``CommandAgent`` (``jrn_dagster.adapters.agents``), ``LLMAgent``
(``jrn_dagster.adapters.llm_agent``); see docs/agents.md."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from jrn_dagster.domain.commits import SourceCommits
from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.steps import Checkouts, RefusedDoc
from jrn_dagster.ports.sandbox import Sandbox


class AgentError(RuntimeError):
    """The agent could not do its work (e.g. the LLM API gave no answer); the message says why
    and is safe to show (adapters redact it). Fails the agent step without a retry: the adapter
    already retried what is worth retrying."""


@dataclass(frozen=True)
class AgentTask:
    """What an agent works on: the sandbox with the docs (``docs_dir``) and the checkouts, the
    impact report, the checkouts that say which commit ranges were analysed, and the commits of
    those ranges (read before the agent runs)."""

    sandbox: Sandbox
    docs_dir: str
    report: ImpactReport
    checkouts: Checkouts
    commits: list[SourceCommits] = field(default_factory=list)


@dataclass
class AgentOutcome:
    """What the agent says about its work: warnings worth showing to the reviewer, and the docs
    whose answer it refused (with the reason; those docs are left as they were)."""

    warnings: list[str] = field(default_factory=list)
    refused: list[RefusedDoc] = field(default_factory=list)


class Agent(ABC):
    """Edits docs in ``task.docs_dir`` inside the sandbox; ``sync_back`` turns what changed there
    into a changeset for review. An agent never sees git credentials."""

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def update_docs(self, task: AgentTask) -> AgentOutcome:
        """Make the edits; say what the reviewer should know."""
