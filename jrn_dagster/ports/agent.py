"""The agent port: what proposes doc updates in a run's sandbox. Adapters: ``NoticeAgent`` and
``CommandAgent`` (``jrn_dagster.adapters.agents``); see docs/agents.md."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.steps import Checkouts
from jrn_dagster.ports.sandbox import Sandbox


@dataclass(frozen=True)
class AgentTask:
    """What an agent works on: the sandbox with the docs (``docs_dir``) and the checkouts, the
    impact report, and the checkouts that say which commit ranges were analysed."""

    sandbox: Sandbox
    docs_dir: str
    report: ImpactReport
    checkouts: Checkouts


class Agent(ABC):
    """Edits docs in ``task.docs_dir`` inside the sandbox; ``sync_back`` turns what changed there
    into a changeset for review. An agent never sees git credentials."""

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def update_docs(self, task: AgentTask) -> list[str]:
        """Make the edits; return warnings worth showing to the reviewer."""
