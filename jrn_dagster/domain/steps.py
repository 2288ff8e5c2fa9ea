"""The contract of one ``cli_impact`` run, and what its steps hand to each other.

The run's input is ``CliImpactJobParams`` (the seed's payload); ``clone`` turns it into a
``SpacePlan`` and returns ``Checkouts``; ``sync_docs`` returns ``SyncedDocs``; the agent step
``Proposals``. All are small, serialisable facts: the sandbox is a cache of them (a checkout at a
SHA, docs at versions), so a re-executed step never depends on a sandbox an earlier run released.
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from jrn_dagster.domain.base import Frozen
from jrn_dagster.domain.commits import SourceCommits
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import CoveredRange, RangeDecision
from jrn_dagster.domain.covers import CoveredChange
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.impact import Evidence
from jrn_dagster.domain.refs import is_sha


class CliImpactJobParams(BaseModel):
    """One matched true source for one push; Python uses snake_case, JSON the seed's camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    source_id: int = Field(gt=0, description="FK to sources")
    integration_id: int = Field(gt=0)
    event_jrn: str = Field(min_length=1)
    head_sha: str | None = Field(default=None, description="webhook `after`")
    base_sha: str | None = Field(
        default=None,
        description="webhook `before`, or the source cursor when `before` is zero or forced",
    )
    affected_space_ids: list[int] = Field(min_length=1, description="sorted, unique")

    @field_validator("head_sha", "base_sha")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not is_sha(value):
            raise ValueError(f"{value!r} is not a 40 or 64 hex digit commit SHA")
        return value

    @field_validator("affected_space_ids")
    @classmethod
    def _sorted_unique(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    def to_json_dict(self) -> dict[str, object]:
        return self.model_dump(by_alias=True, mode="json")


def run_key(
    source_id: int, event_ids: list[int], space_slug: str, *, head_sha: str | None = None
) -> str:
    """The key of the run that brings one space up to date with pushes of one source: the work
    itself (docs/cursors.md, "Run identity"). A redelivery, a re-evaluated tick or a reset sensor
    cursor reads the same stored pushes, so the same key; a rewind, or the same head pushed
    again, is a new push with a key of its own. Without stored pushes (params launched by hand):
    the head."""
    if not event_ids:
        return f"{source_id}@{head_sha or '-'}|{space_slug}"
    first, last = min(event_ids), max(event_ids)
    pushes = str(first) if first == last else f"{first}-{last}"
    return f"{source_id}@{pushes}|{space_slug}"


class PlanMode(StrEnum):
    EVENT = "event"  # launched for pushes (sensor, or a pasted CliImpactJobParams)
    CATCH_UP = "catch_up"  # launched with no params: bring the space up to every branch head


class OnboardingMode(StrEnum):
    """What the first run of a binding with no cursor does (docs/cursors.md, "Onboarding")."""

    BASELINE = "baseline"  # record the head as covered, propose nothing (the default)
    REVIEW = "review"  # a full review: propose for every impacted doc, as any other run

    @classmethod
    def parse(cls, value: str | None) -> "OnboardingMode":
        if value is None or not value.strip():
            return cls.BASELINE
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(mode.value for mode in cls)
            raise InvalidInputError(
                f"invalid onboarding mode {value!r}: use one of {choices}"
            ) from None


ONBOARDING_ENV = "JRN_ONBOARDING"
ONBOARDING_NOTE = "baseline recorded, nothing proposed"


def is_onboarding(work: "SourcePlan", mode: PlanMode, decision: RangeDecision) -> bool:
    """The first run of a binding with no cursor: a branch's creation (nothing to compare with),
    or a space's first catch-up or backfill of the source. Its range is the space's baseline."""
    if work.covered is not None or decision.skipped:
        return False
    return mode is PlanMode.CATCH_UP or decision.base_sha is None


class SourcePlan(BaseModel):
    """One source branch to analyse for the run's space."""

    model_config = ConfigDict(frozen=True)

    source_id: int
    source_name: str
    integration_id: int | None
    coordinate: RepoCoordinate  # parsed once, when the run is planned
    branch: str
    head_sha: str | None  # None: the branch head at clone time (catch-up)
    # Where the range starts when the coverage does not say: for a space with no coverage yet,
    # the source cursor (its coverage joins the other spaces'); else the push's `before`.
    event_base_sha: str | None
    covered: CoveredRange | None  # the space's binding cursor when the run was planned
    source_cursor_sha: str | None = None
    event_ids: list[int] = Field(default_factory=list)  # its pushes (none: catch-up, by hand)
    forced: bool = False  # one of them was a forced push

    @property
    def is_true(self) -> bool:
        return self.integration_id is not None

    @property
    def repo(self) -> str:
        return str(self.coordinate)

    @property
    def rewind(self) -> bool:
        """An older head is a deliberate rewind, not a push delivered late: a forced push newer
        than the coverage, or a catch-up to the branch head (the head is what the branch is)."""
        if self.head_sha is None:
            return True
        newest = max(self.event_ids, default=0)
        covered_event = self.covered.event_id if self.covered else None
        return self.forced and (covered_event is None or newest > covered_event)


class SpacePlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: PlanMode
    space_id: int
    space_slug: str
    bound_source_names: list[str]
    works: list[SourcePlan]
    skip_reason: str | None = None


REPOS_DIR = "repos"
DOCS_DIR = "docs"


class SourceCheckout(Frozen):
    """One source branch checked out in the sandbox at exactly ``range.head_sha``."""

    plan: SourcePlan
    branch: str
    path: str  # relative to the sandbox root ("" when nothing was checked out)
    range: RangeDecision
    range_id: int | None  # the space range this run records (None: nothing to process)
    push_ids: list[int] = Field(default_factory=list)  # space push records this run claimed
    already_done: bool = False  # every push the run is for was done before it started
    # Onboarding: the range is recorded and covered like any other, but nothing is proposed
    # for it (docs/cursors.md, "Onboarding").
    baseline: bool = False

    @property
    def needs_work(self) -> bool:
        return not (self.already_done or self.range.skipped)

    @property
    def to_review(self) -> bool:
        """Its changes are analysed and proposed for."""
        return self.needs_work and not self.baseline


class Checkouts(Frozen):
    """What ``clone`` hands on: the plan, the run's sandbox, and each source checked out."""

    plan: SpacePlan
    sandbox_id: str | None
    sources: list[SourceCheckout]

    @property
    def true_sources(self) -> list[SourceCheckout]:
        return [c for c in self.sources if c.plan.is_true]

    @property
    def has_work(self) -> bool:
        return any(c.needs_work for c in self.true_sources)

    @property
    def to_review(self) -> list[SourceCheckout]:
        """The true sources whose changes the run analyses and proposes for."""
        return [c for c in self.true_sources if c.to_review]

    @property
    def onboarding_only(self) -> bool:
        """Every range the run processes is a baseline: it proposes nothing."""
        return self.has_work and not self.to_review


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
    # Why the doc was proposed: its impact evidence (empty for a doc no rule flagged).
    evidence: list[Evidence] = Field(default_factory=list)
    # The ranges the proposal covers, those of the open proposal it takes over first
    # (docs/decisions.md, "One open proposal per doc").
    covers: list[CoveredChange] = Field(default_factory=list)


class RefusedDoc(Frozen):
    """An agent's answer for one doc that was not proposed, and why (docs/agents.md)."""

    path: str
    reason: str


class Proposals(Frozen):
    """What the agent proposes, with the content itself (not only in the sandbox), the
    evidence of each doc and the commits of the run's ranges."""

    agent: str
    docs: list[ProposedDoc]
    rejected_paths: list[str] = Field(default_factory=list)  # edits refused (outside the docs)
    commits: list[SourceCommits] = Field(default_factory=list)
    refused: list[RefusedDoc] = Field(default_factory=list)  # answers the agent refused
