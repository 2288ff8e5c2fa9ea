"""What a failed or cancelled run leaves behind gets recorded, so the cursor waits for it."""

from pydantic import ValidationError

from jrn_dagster.db.unit_of_work import UnitOfWork
from jrn_dagster.domain.errors import InvalidInputError, NotFoundError
from jrn_dagster.domain.jrn import parse_event_jrn
from jrn_dagster.domain.params import CliImpactJobParams
from jrn_dagster.domain.records import SpaceRun

MAX_ERROR_LENGTH = 4000


def record_run_failure(
    uow: UnitOfWork,
    *,
    dagster_run_id: str,
    params: CliImpactJobParams | None,
    event_id: int | None,
    space_slug: str | None,
    error: str,
) -> list[SpaceRun]:
    """Mark the run's unfinished (event, space) records failed. A run that failed before it
    could record anything (an event run that never claimed its space) gets a failed record
    now: the source cursor must not move past an event a space never processed."""
    error = error[:MAX_ERROR_LENGTH]
    failed = uow.runs.fail_unfinished(dagster_run_id, error)
    if failed or params is None or params.head_sha is None or space_slug is None:
        return failed
    try:
        space = uow.spaces.get_by_slug(space_slug)
        _, _, _, branch = parse_event_jrn(params.event_jrn)
        source = uow.sources.get(params.source_id)
    except (NotFoundError, InvalidInputError):
        return []
    job_id = uow.runs.ensure_job(
        idempotency_key=params.idempotency_key,
        source_id=source.id,
        integration_id=params.integration_id,
        event_id=event_id,
        event_jrn=params.event_jrn,
        branch=branch,
        head_sha=params.head_sha,
        base_sha=params.base_sha,
        forced=False,
        affected_space_ids=params.affected_space_ids,
    )
    # Not `start`: by now a re-execution of this run may hold the record, and claiming it
    # would fail it and take it from the run that is fixing it.
    record = uow.runs.fail_unclaimed(job_id, space.id, dagster_run_id, error)
    return [record] if record else []


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
