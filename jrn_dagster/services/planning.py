"""Turn a run's partition and config into a ``SpacePlan``: which sources, which ranges."""

from jrn_dagster.db.unit_of_work import UnitOfWork
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import CoveredRange
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.jrn import parse_event_jrn
from jrn_dagster.domain.records import Push, Source, SourceCursor, Space
from jrn_dagster.domain.steps import CliImpactJobParams, PlanMode, SourcePlan, SpacePlan


def plan_run(
    uow: UnitOfWork,
    *,
    space_slug: str,
    params: CliImpactJobParams | None,
    event_ids: list[int],
) -> SpacePlan:
    """Event mode with ``params``; catch-up mode without.

    Raises InvalidInputError when the config contradicts the partition (a space the event
    does not affect) or names things that do not exist. A source that stopped being an enabled
    true source, or a space archived since the event, gives a plan with ``skip_reason``: such
    a run ends without any effect.
    """
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
    work = SourcePlan(
        source_id=source.id,
        source_name=source.name,
        integration_id=params.integration_id,
        repo=source.repo or "",
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
        works=[work] if skip is None else [],
        skip_reason=skip,
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
                    repo=source.repo,
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
