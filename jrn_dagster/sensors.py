import time

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from jrn_dagster import tags
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.jobs import SPACES, cli_impact, spaces_partitions
from jrn_dagster.ops.cli_impact import CliImpactConfig
from jrn_dagster.redaction import redact
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.sandbox import SandboxResource
from jrn_dagster.services.matching import Outcome
from jrn_dagster.services.run_failures import params_from_run_config, record_run_failure
from jrn_dagster.services.sensor_tick import PlannedRun, plan_tick

# Bounded work per tick: a tick must finish well inside Dagster's 60 s sensor timeout.
EVENTS_PER_TICK = 200


def run_request(run: PlannedRun) -> RunRequest:
    params = run.params
    run_tags = {
        tags.SOURCE_ID: str(params.source_id),
        tags.SPACE: run.space_slug,
        tags.EVENT_ID: str(run.event_id),
        tags.HEAD_SHA: params.head_sha or "",
        tags.INTEGRATION_ID: str(params.integration_id),
        tags.MODE: "event",
    }
    if len(run.event_ids) > 1:  # a burst: the run claims and finishes every push it covers
        run_tags[tags.EVENT_IDS] = ",".join(map(str, run.event_ids))
    return RunRequest(
        run_key=run.run_key,
        partition_key=run.space_slug,
        run_config={"ops": {"clone": {"config": CliImpactConfig.from_params(params)}}},
        tags=run_tags,
    )


@sensor(
    job=cli_impact,
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    description="Matches stored webhook events to true sources and requests one cli_impact run "
    "per affected space and burst of pushes. Reads the application database; writes nothing "
    "to it.",
)
def webhook_event_sensor(
    context: SensorEvaluationContext, database: DatabaseResource
) -> SensorResult:
    cursor = EventCursor.parse(context.cursor)
    plan = plan_tick(database.database, cursor, batch_size=EVENTS_PER_TICK, now=time.time())
    for match in plan.matches:
        if match.outcome is Outcome.INVALID:
            context.log.warning(redact(f"event {match.event_id} skipped: {match.detail}"))
    context.log.info(plan.summary())
    if not plan.runs:
        return SensorResult(skip_reason=SkipReason(plan.summary()), cursor=plan.cursor.serialize())
    known = set(context.instance.get_dynamic_partitions(SPACES))
    # Every requested partition exists or is added by this same result: one invalid request
    # would fail the whole tick and hold every later event back.
    new_spaces = [slug for slug in plan.space_slugs if slug not in known]
    return SensorResult(
        run_requests=[run_request(run) for run in plan.runs],
        dynamic_partitions_requests=[spaces_partitions.build_add_request(new_spaces)]
        if new_spaces
        else [],
        cursor=plan.cursor.serialize(),
    )


def _release_and_record(
    context: RunStatusSensorContext,
    database: DatabaseResource,
    sandbox: SandboxResource,
    error: str,
) -> None:
    run = context.dagster_run
    released = sandbox.release_for_key(run.run_id)
    failed = record_run_failure(
        database.database,
        dagster_run_id=run.run_id,
        params=params_from_run_config(dict(run.run_config)),
        event_ids=tags.event_ids_of(run.tags),
        space_slug=run.tags.get(tags.PARTITION),
        error=redact(error),
    )
    context.log.info(
        f"run {run.run_id}: {len(failed)} (push, space) record(s) marked failed; "
        f"sandbox {'released' if released else 'already gone'}"
    )


@run_failure_sensor(
    monitored_jobs=[cli_impact],
    default_status=DefaultSensorStatus.RUNNING,
    description="Marks the (event, space) records of a failed cli_impact run failed (the source "
    "cursor waits for them) and releases its sandbox if the run could not.",
)
def cli_impact_failure_sensor(
    context: RunFailureSensorContext, database: DatabaseResource, sandbox: SandboxResource
) -> None:
    message = context.failure_event.message or "run failed"
    _release_and_record(context, database, sandbox, message)


@run_status_sensor(
    run_status=DagsterRunStatus.CANCELED,
    monitored_jobs=[cli_impact],
    default_status=DefaultSensorStatus.RUNNING,
    description="Same as cli_impact_failure_sensor, for cancelled runs.",
)
def cli_impact_cancel_sensor(
    context: RunStatusSensorContext, database: DatabaseResource, sandbox: SandboxResource
) -> None:
    _release_and_record(context, database, sandbox, "run cancelled")
