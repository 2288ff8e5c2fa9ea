"""Synthetic (event, space) runs on a linear history, for cursor tests without git."""

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.jrn import event_jrn
from jrn_dagster.domain.params import idempotency_key
from jrn_dagster.domain.ranges import Ancestry, decide_range
from jrn_dagster.domain.run_plan import CoveredRange, RunMode, RunPlan, SourceWork
from jrn_dagster.domain.workspace import CommitRange, SourceCheckout, Workspace
from jrn_dagster_tests.support.github import sha_for

JRN = event_jrn("github.com", "acme", "widgets", "main")


def head_of(event_id: int) -> str:
    """Event n pushes commit n on a linear history (commit 0 is the root)."""
    return sha_for(f"commit-{event_id}")


def claim(
    database: Database,
    *,
    source_id: int,
    integration_id: int,
    event_id: int,
    space_id: int,
    space_slug: str,
    fanout: list[int],
    run_id: str,
) -> Workspace:
    """What the clone step records and returns for (event, space), on a linear history."""
    key = idempotency_key(source_id, JRN, head_of(event_id))
    with database.unit_of_work() as uow:
        covered = uow.cursors.binding_cursor(space_id, source_id, "main")
        job_id = uow.runs.ensure_job(
            idempotency_key=key,
            source_id=source_id,
            integration_id=integration_id,
            event_id=event_id,
            event_jrn=JRN,
            branch="main",
            head_sha=head_of(event_id),
            base_sha=head_of(event_id - 1),
            forced=False,
            affected_space_ids=fanout,
        )
        record, done = uow.runs.start(job_id, space_id, run_id)
        uow.commit()
    work = SourceWork(
        source_id=source_id,
        source_name="widgets",
        integration_id=integration_id,
        repo="github.com/acme/widgets",
        branch="main",
        head_sha=head_of(event_id),
        event_base_sha=head_of(event_id - 1),
        covered=covered,
        idempotency_key=key,
        event_id=event_id,
        event_jrn=JRN,
        affected_space_ids=fanout,
    )
    decision = decide_range(
        head_sha=head_of(event_id),
        event_base_sha=head_of(event_id - 1),
        covered=covered,
        ancestry=linear_ancestry(event_id, covered),
    )
    checkout = SourceCheckout(
        work=work,
        branch="main",
        path="repos/1-main",
        range=CommitRange.of(decision),
        idempotency_key=key,
        space_run_id=record.id,
        already_done=done,
    )
    plan = RunPlan(
        mode=RunMode.EVENT,
        space_id=space_id,
        space_slug=space_slug,
        bound_source_names=["widgets"],
        works=[work],
    )
    return Workspace(plan=plan, sandbox_id="sandbox", checkouts=[checkout])


def linear_ancestry(event_id: int, covered: CoveredRange | None) -> Ancestry:
    """What git would say on a history where commit i is an ancestor of commit j iff i <= j."""
    base = event_id - 1
    head_c = event_of(covered.head_sha) if covered else None
    from_c = event_of(covered.covered_from_sha) if covered and covered.covered_from_sha else None
    return Ancestry(
        event_base_reachable=True,
        covered_head_in_head=head_c is not None and head_c <= event_id,
        head_in_covered_head=head_c is not None and event_id <= head_c,
        covered_from_in_event_base=covered is not None and (from_c is None or from_c <= base),
        event_base_in_covered_from=from_c is not None and base <= from_c,
    )


_EVENT_OF = {head_of(n): n for n in range(-1, 1000)}


def event_of(sha: str) -> int:
    return _EVENT_OF[sha]
