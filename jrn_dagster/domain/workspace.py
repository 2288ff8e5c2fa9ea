"""What the ops of one ``cli_impact`` run hand to each other: small, serialisable facts.

The sandbox is a cache of these facts (a checkout at a SHA, docs at versions): every op output
holds what is needed to rebuild it, so a re-executed step never depends on a sandbox that an
earlier run released.
"""

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.coverage import RangeDecision
from jrn_dagster.domain.run_plan import RunPlan, SourceWork

REPOS_DIR = "repos"
DOCS_DIR = "docs"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SourceCheckout(Frozen):
    """One source branch checked out in the sandbox at exactly ``range.head_sha``."""

    work: SourceWork
    branch: str
    path: str  # relative to the sandbox root ("" when nothing was checked out)
    range: RangeDecision
    range_id: int | None  # the space range this run records (None: nothing to process)
    push_ids: list[int] = []  # the space push records this run claimed
    already_done: bool = False  # every push the run is for was done before it started

    @property
    def needs_work(self) -> bool:
        return not (self.already_done or self.range.skipped)


class Workspace(Frozen):
    plan: RunPlan
    sandbox_id: str | None
    checkouts: list[SourceCheckout]

    @property
    def true_checkouts(self) -> list[SourceCheckout]:
        return [c for c in self.checkouts if c.work.is_true]

    @property
    def has_work(self) -> bool:
        return any(c.needs_work for c in self.true_checkouts)


class SyncedDoc(Frozen):
    path: str
    version: int
    sha256: str


class SyncedDocs(Frozen):
    """The space's docs as written into the sandbox (``DOCS_DIR``), with their versions."""

    docs: list[SyncedDoc]

    def version_of(self, path: str) -> int | None:
        return next((d.version for d in self.docs if d.path == path), None)


class ProposedDoc(Frozen):
    path: str
    base_version: int | None
    content: str


class Proposals(Frozen):
    """What the agent proposes, with the content itself (not only in the sandbox)."""

    agent: str
    docs: list[ProposedDoc]
    rejected_paths: list[str] = []  # edits outside the docs directory, refused
