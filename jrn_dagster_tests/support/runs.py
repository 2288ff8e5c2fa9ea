"""Synthetic runs on a linear history, for cursor tests that need no git: push n moves the
branch from commit n-1 to commit n, and a run records what ``clone`` would have decided."""

from dataclasses import dataclass

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import Ancestry, CoveredRange, decide_range
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.domain.steps import Checkouts, PlanMode, SourceCheckout, SourcePlan, SpacePlan
from jrn_dagster_tests.support.github import sha_for
from jrn_dagster_tests.support.world import store_push


def head_of(n: int) -> str:
    """Commit n of the linear history (commit 0 is where the first push starts)."""
    return sha_for(f"commit-{n}")


@dataclass
class LinearSource:
    source_id: int
    integration_id: int
    spaces: dict[str, int]


def linear_source(database: Database, slugs: list[str]) -> LinearSource:
    with database.unit_of_work() as uow:
        uow.integrations.add_token("gh", token_env="GH_TOKEN")
        source = uow.sources.add(
            "widgets", repo="github.com/acme/widgets", branch="main", integration="gh"
        )
        spaces = {slug: uow.spaces.add(slug).id for slug in slugs}
        for slug in slugs:
            uow.spaces.bind(slug, "widgets")
        uow.commit()
    return LinearSource(source.id, source.integration_id or 0, spaces)


def push(database: Database, n: int) -> WebhookEvent:
    """Store push n (commit n-1 -> commit n) as the receiver would."""
    return store_push(database, before=head_of(n - 1), after=head_of(n))


def _linear_facts(n: int, covered: CoveredRange | None) -> Ancestry:
    """What git would say where commit i is an ancestor of commit j iff i <= j."""
    number = {head_of(i): i for i in range(n + 1000)}
    head = number[covered.head_sha] if covered else None
    start = number.get(covered.covered_from_sha or "") if covered else None
    return Ancestry(
        event_base_reachable=True,
        event_base_present=True,
        covered_head_in_head=head is not None and head <= n,
        head_in_covered_head=head is not None and n <= head,
        covered_head_present=head is not None,
        covered_from_in_event_base=start is not None and start <= n - 1,
        event_base_in_covered_from=start is not None and n - 1 <= start,
        covered_from_in_head=start is not None and start <= n,
    )


def start_run(
    database: Database, source: LinearSource, event: WebhookEvent, n: int, slug: str, *, run_id: str
) -> Checkouts:
    """What the ``clone`` step records and returns for push n (``event``) in space ``slug``."""
    space_id = source.spaces[slug]
    with database.unit_of_work() as uow:
        covered = uow.coverage.binding_cursor(space_id, source.source_id, "main")
        record, _ = uow.coverage.claim_push(event.id, source.source_id, space_id, run_id)
        decision = decide_range(
            head_sha=head_of(n),
            event_base_sha=head_of(n - 1),
            rewind=False,
            covered=covered,
            facts=_linear_facts(n, covered),
        )
        started = None
        if not decision.skipped:
            started = uow.coverage.start_range(
                space_id=space_id,
                source_id=source.source_id,
                branch="main",
                head_sha=decision.head_sha,
                base_sha=decision.base_sha,
                link_from_sha=decision.link_from_sha,
                comparison=decision.comparison,
                extension=decision.extension,
                event_id=event.id,
                dagster_run_id=run_id,
            )
        uow.commit()
    work = SourcePlan(
        source_id=source.source_id,
        source_name="widgets",
        integration_id=source.integration_id,
        coordinate=RepoCoordinate.parse("github.com/acme/widgets"),
        branch="main",
        head_sha=head_of(n),
        event_base_sha=head_of(n - 1),
        covered=covered,
        event_ids=[event.id],
    )
    checkout = SourceCheckout(
        plan=work,
        branch="main",
        path="repos/1-main",
        range=decision,
        range_id=started.id if started else None,
        push_ids=[record.id],
    )
    plan = SpacePlan(
        mode=PlanMode.EVENT,
        space_id=space_id,
        space_slug=slug,
        bound_source_names=["widgets"],
        works=[work],
    )
    return Checkouts(plan=plan, sandbox_id="sandbox", sources=[checkout])
