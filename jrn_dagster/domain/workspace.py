"""What the ops of one ``cli_impact`` run hand to each other: small, serialisable facts.

The sandbox is a cache of these facts (a checkout at a SHA, docs at versions): every op output
holds what is needed to rebuild it, so a re-executed step never depends on a sandbox that an
earlier run released.
"""

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.cursors import Relation
from jrn_dagster.domain.ranges import BaseOrigin, RangeDecision
from jrn_dagster.domain.run_plan import RunPlan, SourceWork

REPOS_DIR = "repos"
DOCS_DIR = "docs"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class CommitRange(Frozen):
    base_sha: str | None
    head_sha: str
    origin: BaseOrigin
    relation: Relation | None
    stale: bool
    base_precedes_covered_from: bool

    @classmethod
    def of(cls, decision: RangeDecision) -> "CommitRange":
        return cls(
            base_sha=decision.base_sha,
            head_sha=decision.head_sha,
            origin=decision.origin,
            relation=decision.relation,
            stale=decision.stale,
            base_precedes_covered_from=decision.base_precedes_covered_from,
        )

    def decision(self) -> RangeDecision:
        return RangeDecision(
            base_sha=self.base_sha,
            head_sha=self.head_sha,
            origin=self.origin,
            relation=self.relation,
            stale=self.stale,
            base_precedes_covered_from=self.base_precedes_covered_from,
        )


class SourceCheckout(Frozen):
    """One source branch checked out in the sandbox at exactly ``range.head_sha``."""

    work: SourceWork
    branch: str
    path: str  # relative to the sandbox root
    range: CommitRange
    idempotency_key: str
    space_run_id: int | None  # None for a virtual source cloned read-only for analysis
    already_done: bool  # an earlier run finished this (event, space)

    @property
    def needs_work(self) -> bool:
        return not (self.already_done or self.range.stale)


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
