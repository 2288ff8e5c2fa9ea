"""The ``clone`` step: plan the run (event or catch-up), claim its pushes, check each source out at
exactly its head in the run's sandbox, and decide and record the range each source is analysed
over (docs/cursors.md). Also rebuilds a released sandbox for a re-executed step.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import (
    Comparison,
    CoveredRange,
    Extension,
    RangeDecision,
    decide_range,
)
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.impact import ContextSource
from jrn_dagster.domain.jrn import parse_event_jrn
from jrn_dagster.domain.records import Integration, Push, Source, SourceCursor, Space
from jrn_dagster.domain.steps import (
    REPOS_DIR,
    Checkouts,
    CliImpactJobParams,
    OnboardingMode,
    PlanMode,
    SourceCheckout,
    SourcePlan,
    SpacePlan,
    is_onboarding,
)
from jrn_dagster.ports.git import CheckoutRequest, Repositories
from jrn_dagster.ports.sandbox import Sandbox, SandboxFileNotFoundError, SandboxProvider


def plan_run(
    database: Database,
    *,
    space_slug: str,
    params: CliImpactJobParams | None,
    event_ids: list[int],
) -> SpacePlan:
    """Event mode with ``params``; catch-up mode without (reads only).

    Raises InvalidInputError when the config contradicts the partition (a space the event
    does not affect) or names things that do not exist. A source that stopped being an enabled
    true source, or a space archived since the event, gives a plan with ``skip_reason``: such
    a run ends without any effect.
    """
    with database.unit_of_work() as uow:
        return _plan(uow, space_slug, params, event_ids)


def _plan(
    uow: UnitOfWork, space_slug: str, params: CliImpactJobParams | None, event_ids: list[int]
) -> SpacePlan:
    space = uow.spaces.get_by_slug(space_slug)
    bound = [b.source_name for b in space.bindings]
    if params is None:
        return _catch_up_plan(uow, space, bound)
    if space.id not in params.affected_space_ids:
        raise InvalidInputError(
            f"space {space_slug!r} (id {space.id}) is not among the event's affectedSpaceIds "
            f"{params.affected_space_ids}: launch the partition of an affected space"
        )
    source = uow.sources.get(params.source_id)
    _, _, _, branch = parse_event_jrn(params.event_jrn)
    skip = _event_skip_reason(space, source, params)
    pushes = [_push_of(uow, event_id, source, branch) for event_id in event_ids]
    if pushes and pushes[-1].after_sha != params.head_sha:
        raise InvalidInputError(
            f"event {pushes[-1].event_id} pushed {pushes[-1].after_sha}, but the run config "
            f"says head {params.head_sha}"
        )
    source_cursor = uow.coverage.source_cursor(source.id, branch)
    covered = uow.coverage.binding_cursor(space.id, source.id, branch)
    if skip is None and not source.repo:
        skip = f"source {source.name!r} has no repository any more"
    if skip is not None:
        return SpacePlan(
            mode=PlanMode.EVENT,
            space_id=space.id,
            space_slug=space.slug,
            bound_source_names=bound,
            works=[],
            skip_reason=skip,
        )
    work = SourcePlan(
        source_id=source.id,
        source_name=source.name,
        integration_id=params.integration_id,
        coordinate=RepoCoordinate.parse(source.repo or ""),
        branch=branch,
        head_sha=params.head_sha,
        event_base_sha=_event_base(params, pushes, covered, source_cursor),
        covered=covered,
        source_cursor_sha=source_cursor.head_sha if source_cursor else None,
        event_ids=[push.event_id for push in pushes],
        forced=any(push.forced for push in pushes),
    )
    return SpacePlan(
        mode=PlanMode.EVENT,
        space_id=space.id,
        space_slug=space.slug,
        bound_source_names=bound,
        works=[work],
    )


def _event_skip_reason(space: Space, source: Source, params: CliImpactJobParams) -> str | None:
    if space.archived:
        return f"space {space.slug!r} was archived after the event"
    if not source.is_true:
        return f"source {source.name!r} is virtual now: virtual sources have no server-side effect"
    if not source.enabled:
        return f"source {source.name!r} was disabled after the event"
    if source.integration_id != params.integration_id:
        return (
            f"source {source.name!r} moved to integration {source.integration_id} after the "
            f"event (params say {params.integration_id})"
        )
    binding = next((b for b in space.bindings if b.source_id == source.id), None)
    if binding is None or not binding.enabled:
        return f"space {space.slug!r} is no longer bound to source {source.name!r}"
    return None


def _event_base(
    params: CliImpactJobParams,
    pushes: list[Push],
    covered: CoveredRange | None,
    source_cursor: SourceCursor | None,
) -> str | None:
    """What the range starts from when the space's coverage does not say (docs/cursors.md): a
    space with no coverage joins the others at the source cursor; otherwise a push older than
    the coverage starts at its own ``before``."""
    if covered is None and source_cursor is not None:
        return source_cursor.head_sha
    if pushes:
        oldest = min(pushes, key=lambda push: push.event_id)
        return None if oldest.created_branch else oldest.before_sha
    return params.base_sha


def _push_of(uow: UnitOfWork, event_id: int, source: Source, branch: str) -> Push:
    """A stored push the run was launched for: a push to the params' source and branch."""
    found = uow.events.pushes_by_id([event_id])
    if not found:
        raise InvalidInputError(f"event {event_id} is not a stored push to a branch")
    push = found[0]
    repo_key = RepoCoordinate.parse(source.repo).key if source.repo else None
    if (push.repo_key, push.branch) != (repo_key, branch):
        raise InvalidInputError(
            f"event {event_id} is a push to {push.repo_key} {push.branch}, but the run config "
            f"names source {source.name!r} ({source.repo}) branch {branch}"
        )
    return push


def _catch_up_branches(uow: UnitOfWork, space: Space, source: Source) -> list[str]:
    """A source that follows one branch catches up on it. One that follows every branch
    catches up on the branches this space has already processed: which other branches
    matter is only known from pushes, and those start runs of their own."""
    if source.branch is not None:
        return [source.branch]
    return uow.coverage.binding_cursor_branches(space.id, source.id)


def _catch_up_plan(uow: UnitOfWork, space: Space, bound: list[str]) -> SpacePlan:
    works = []
    for binding in space.bindings:
        source = uow.sources.get(binding.source_id)
        if not (binding.enabled and source.is_true and source.enabled and source.repo):
            continue
        for branch in _catch_up_branches(uow, space, source):
            covered = uow.coverage.binding_cursor(space.id, source.id, branch)
            source_cursor = uow.coverage.source_cursor(source.id, branch)
            cursor_sha = source_cursor.head_sha if source_cursor else None
            works.append(
                SourcePlan(
                    source_id=source.id,
                    source_name=source.name,
                    integration_id=source.integration_id,
                    coordinate=RepoCoordinate.parse(source.repo),
                    branch=branch,
                    head_sha=None,
                    # Catch-up covers "from the binding cursor to the branch head" (a space new
                    # to the source starts where the source cursor is).
                    event_base_sha=covered.head_sha if covered else cursor_sha,
                    covered=covered,
                    source_cursor_sha=cursor_sha,
                )
            )
    skip = None
    if space.archived:
        skip, works = f"space {space.slug!r} is archived", []
    elif not works:
        skip = (
            f"space {space.slug!r} has no enabled binding to an enabled true source with a "
            "branch to catch up on"
        )
    return SpacePlan(
        mode=PlanMode.CATCH_UP,
        space_id=space.id,
        space_slug=space.slug,
        bound_source_names=bound,
        works=works,
        skip_reason=skip,
    )


_UNSAFE_DIR_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def checkout_dir(work: SourcePlan, branch: str) -> str:
    """``repos/<source id>-<branch>``: one directory per source branch, a plain name."""
    return f"{REPOS_DIR}/{work.source_id}-{_UNSAFE_DIR_CHARS.sub('_', branch)[:80]}"


@dataclass(frozen=True)
class Claim:
    push_ids: list[int]  # the space push records this run now holds
    all_done: bool  # every push the run is for was done before it started
    event_id: int  # the newest push the run's range will cover


def _claim(database: Database, plan: SpacePlan, work: SourcePlan, run_id: str) -> Claim:
    """Record that this run works on its pushes for the space. A catch-up claims none: its range
    covers whatever pushes it reaches, recorded when it succeeds."""
    with database.unit_of_work(serializable_write=True) as uow:
        held = []
        for event_id in work.event_ids:
            record, done = uow.coverage.claim_push(event_id, work.source_id, plan.space_id, run_id)
            if not done:
                held.append(record.id)
        newest = max(work.event_ids, default=0) or uow.events.last_push_id(
            work.coordinate.key, work.branch
        )
        uow.commit()
    return Claim(held, bool(work.event_ids) and not held, newest)


def _integration(database: Database, work: SourcePlan) -> Integration | None:
    return _integration_by_id(database, work.integration_id)


def _integration_by_id(database: Database, integration_id: int | None) -> Integration | None:
    if integration_id is None:
        return None
    with database.unit_of_work() as uow:
        return uow.integrations.get(integration_id)


def _check_out(
    sandbox: Sandbox, database: Database, repositories: Repositories, work: SourcePlan
) -> tuple[str, RangeDecision]:
    """Clone at exactly the work's head; the range this space is analysed over."""
    path = checkout_dir(work, work.branch)
    covered = work.covered
    request = CheckoutRequest(
        coordinate=work.coordinate,
        branch=work.branch,
        head_sha=work.head_sha,
        base_sha=work.event_base_sha,
        dest=path,
        integration=_integration(database, work),
        find=[
            covered.head_sha if covered else None,
            covered.covered_from_sha if covered else None,
            work.source_cursor_sha,
        ],
        fetch=[covered.head_sha if covered else None, work.event_base_sha],
        # A push may have been replaced by a forced push since; a catch-up's head is the
        # branch head, on the branch by definition.
        check_on_branch=work.head_sha is not None,
        rewrite_check_sha=covered.head_sha if covered else None,
    )
    checkout = repositories.check_out(sandbox, request)
    facts = repositories.ancestry(
        sandbox,
        checkout,
        event_base_sha=work.event_base_sha,
        covered=covered,
        source_cursor_sha=work.source_cursor_sha,
    )
    decision = decide_range(
        head_sha=checkout.head_sha,
        event_base_sha=work.event_base_sha,
        rewind=work.rewind,
        covered=covered,
        facts=facts,
    )
    return path, decision


def _start_range(
    database: Database,
    plan: SpacePlan,
    work: SourcePlan,
    decision: RangeDecision,
    *,
    event_id: int,
    run_id: str,
) -> int:
    with database.unit_of_work(serializable_write=True) as uow:
        started = uow.coverage.start_range(
            space_id=plan.space_id,
            source_id=work.source_id,
            branch=work.branch,
            head_sha=decision.head_sha,
            base_sha=decision.base_sha,
            link_from_sha=decision.link_from_sha,
            comparison=decision.comparison,
            extension=decision.extension,
            event_id=event_id,
            dagster_run_id=run_id,
        )
        uow.commit()
    return started.id


def check_out_sources(
    database: Database,
    sandboxes: SandboxProvider,
    repositories: Repositories,
    *,
    plan: SpacePlan,
    run_id: str,
    onboarding: OnboardingMode = OnboardingMode.BASELINE,
) -> Checkouts:
    """Pushes are claimed before cloning, so a run whose pushes are all done already ends
    without touching git. ``onboarding``: what a binding's first range is (docs/cursors.md,
    "Onboarding"): by default a baseline, recorded as covered, proposing nothing."""
    sandbox: Sandbox | None = None
    sources: list[SourceCheckout] = []
    for work in plan.works:
        claim = _claim(database, plan, work, run_id)
        if claim.all_done:
            sources.append(_already_done(work, claim))
            continue
        sandbox = sandbox or sandboxes.open(run_id)
        path, decision = _check_out(sandbox, database, repositories, work)
        range_id = None
        if not decision.skipped:
            range_id = _start_range(
                database, plan, work, decision, event_id=claim.event_id, run_id=run_id
            )
        sources.append(
            SourceCheckout(
                plan=work,
                branch=work.branch,
                path=path,
                range=decision,
                range_id=range_id,
                push_ids=claim.push_ids,
                baseline=onboarding is OnboardingMode.BASELINE
                and is_onboarding(work, plan.mode, decision),
            )
        )
    return Checkouts(plan=plan, sandbox_id=sandbox.id if sandbox else None, sources=sources)


def _already_done(work: SourcePlan, claim: Claim) -> SourceCheckout:
    """Nothing to check out: the outputs only carry what later steps skip on."""
    return SourceCheckout(
        plan=work,
        branch=work.branch,
        path="",
        range=RangeDecision(
            head_sha=work.head_sha or "",
            base_sha=None,
            link_from_sha=None,
            comparison=Comparison.WHOLE_TREE,
            relation=None,
            extension=Extension.NONE,
            skip_reason="every push of this run was already processed for this space",
        ),
        range_id=None,
        push_ids=claim.push_ids,
        already_done=True,
    )


RESTORED_MARKER = ".jrn-restored"


def rebuild_sandbox(
    sandbox: Sandbox,
    database: Database,
    repositories: Repositories,
    checkouts: Checkouts,
    *,
    context: Sequence[ContextSource] = (),
) -> None:
    """Rebuild a released sandbox from the step inputs (a step re-executed in a new run): the
    same checkouts at the same heads (``context``: the sources the rules name, for the agent).
    Docs are not restored: the agent step writes the docs it works on at their synced versions
    (``services/agent.py``)."""
    try:
        sandbox.read_file(RESTORED_MARKER)
        return  # restored by an earlier step of this run
    except SandboxFileNotFoundError:
        pass
    for checkout in checkouts.true_sources:
        if not checkout.needs_work:
            continue
        base = checkout.range.base_sha
        request = CheckoutRequest(
            coordinate=checkout.plan.coordinate,
            branch=checkout.branch,
            head_sha=checkout.range.head_sha,
            base_sha=base,
            dest=checkout.path,
            integration=_integration(database, checkout.plan),
            fetch=[base],  # an old head compared with is not in the head's history
        )
        repositories.check_out(sandbox, request)
    for source in context:
        with database.unit_of_work() as uow:
            integration_id = uow.sources.get(source.id).integration_id
        repositories.check_out(
            sandbox,
            CheckoutRequest(
                coordinate=RepoCoordinate.parse(source.repo),
                branch=source.branch,
                head_sha=source.head_sha,
                base_sha=None,
                dest=source.path,
                integration=_integration_by_id(database, integration_id),
            ),
        )
    sandbox.write_file(RESTORED_MARKER, "")
