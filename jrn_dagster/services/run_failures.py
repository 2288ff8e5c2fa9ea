"""What a failed or cancelled run leaves behind is recorded as failed."""

from pydantic import ValidationError

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.domain.errors import NotFoundError
from jrn_dagster.domain.records import SpacePush
from jrn_dagster.domain.steps import CliImpactJobParams

MAX_ERROR_LENGTH = 4000


def record_run_failure(
    database: Database,
    *,
    dagster_run_id: str,
    params: CliImpactJobParams | None,
    event_ids: list[int],
    space_slug: str | None,
    error: str,
) -> list[SpacePush]:
    """Mark what the run left unfinished failed: its ranges and its claimed pushes. A run that
    failed before it could claim anything gets failed push records now, so that explain and the
    failure's reader see which pushes a space has not processed (the source cursor waits for
    them either way: nothing covers them)."""
    with database.unit_of_work(serializable_write=True) as uow:
        failed = _record(
            uow,
            dagster_run_id,
            params=params,
            event_ids=event_ids,
            space_slug=space_slug,
            error=error[:MAX_ERROR_LENGTH],
        )
        uow.commit()
    return failed


def _record(
    uow: UnitOfWork,
    dagster_run_id: str,
    *,
    params: CliImpactJobParams | None,
    event_ids: list[int],
    space_slug: str | None,
    error: str,
) -> list[SpacePush]:
    _, failed = uow.coverage.fail_run(dagster_run_id, error)
    if failed or params is None or not event_ids or space_slug is None:
        return failed
    try:
        space = uow.spaces.get_by_slug(space_slug)
        uow.sources.get(params.source_id)
    except NotFoundError:
        return []
    # Not a claim: by now a re-execution of this run may hold the record, and claiming it
    # would fail it and take it from the run that is fixing it.
    recorded = [
        uow.coverage.fail_unclaimed_push(
            event_id, params.source_id, space.id, dagster_run_id, error
        )
        for event_id in event_ids
        if uow.events.pushes_by_id([event_id])
    ]
    return [record for record in recorded if record is not None]


def params_from_run_config(run_config: dict[str, object]) -> CliImpactJobParams | None:
    """The event params a run was launched with (None: catch-up, or unreadable)."""
    try:
        ops = run_config.get("ops")
        clone = ops.get("clone") if isinstance(ops, dict) else None
        config = clone.get("config") if isinstance(clone, dict) else None
        if not isinstance(config, dict) or config.get("sourceId") is None:
            return None
        return CliImpactJobParams.model_validate(config)
    except ValidationError:
        return None
