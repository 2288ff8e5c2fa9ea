"""Turn a run's partition and config into a ``RunPlan``: which sources, which ranges."""

from jrn_dagster.db.unit_of_work import UnitOfWork
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.jrn import parse_event_jrn
from jrn_dagster.domain.params import CliImpactJobParams
from jrn_dagster.domain.push import normalize_push
from jrn_dagster.domain.records import Source, Space
from jrn_dagster.domain.run_plan import RunMode, RunPlan, SourceWork

PUSH_EVENT = "push"


def plan_run(
    uow: UnitOfWork,
    *,
    space_slug: str,
    params: CliImpactJobParams | None,
    event_id: int | None,
) -> RunPlan:
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
    forced = False
    if event_id is not None:
        forced = _forced(uow, event_id, params)
    work = SourceWork(
        source_id=source.id,
        source_name=source.name,
        integration_id=params.integration_id,
        repo=source.repo or "",
        branch=branch,
        head_sha=params.head_sha,
        event_base_sha=params.base_sha,
        covered=uow.cursors.binding_cursor(space.id, source.id, branch),
        idempotency_key=params.idempotency_key,
        event_id=event_id,
        event_jrn=params.event_jrn,
        affected_space_ids=params.affected_space_ids,
        forced=forced,
    )
    return RunPlan(
        mode=RunMode.EVENT,
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


def _forced(uow: UnitOfWork, event_id: int, params: CliImpactJobParams) -> bool:
    event = uow.events.get(event_id)
    if event.event_type != PUSH_EVENT:
        raise InvalidInputError(f"event {event_id} is a {event.event_type} event, not a push")
    push = normalize_push(event.payload)
    if push.event_jrn != params.event_jrn or push.head_sha != params.head_sha:
        raise InvalidInputError(
            f"event {event_id} is {push.event_jrn}@{push.head_sha}, but the run config says "
            f"{params.event_jrn}@{params.head_sha}"
        )
    return push.forced


def _catch_up_branches(uow: UnitOfWork, space: Space, source: Source) -> list[str]:
    """A source that follows one branch catches up on it. One that follows every branch
    catches up on the branches this space has already processed: which other branches
    matter is only known from pushes, and those start runs of their own."""
    if source.branch is not None:
        return [source.branch]
    return uow.cursors.binding_cursor_branches(space.id, source.id)


def _catch_up_plan(uow: UnitOfWork, space: Space, bound: list[str]) -> RunPlan:
    works = []
    for binding in space.bindings:
        source = uow.sources.get(binding.source_id)
        if not (binding.enabled and source.is_true and source.enabled and source.repo):
            continue
        for branch in _catch_up_branches(uow, space, source):
            covered = uow.cursors.binding_cursor(space.id, source.id, branch)
            works.append(
                SourceWork(
                    source_id=source.id,
                    source_name=source.name,
                    integration_id=source.integration_id,
                    repo=source.repo,
                    branch=branch,
                    head_sha=None,
                    # Catch-up covers "from the binding cursor to the branch head".
                    event_base_sha=covered.head_sha if covered else None,
                    covered=covered,
                    idempotency_key=None,
                    event_id=None,
                    event_jrn=None,
                    affected_space_ids=[space.id],
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
    return RunPlan(
        mode=RunMode.CATCH_UP,
        space_id=space.id,
        space_slug=space.slug,
        bound_source_names=bound,
        works=works,
        skip_reason=skip,
    )
