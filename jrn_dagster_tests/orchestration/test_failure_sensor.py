"""The failure and cancel sensors: a run that died without its teardown gets its failure
recorded (so the source cursor waits for it) and its sandbox released; a late tick never takes
a record from the re-execution that is fixing it."""

from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    SensorDefinition,
    build_run_status_sensor_context,
)

from jrn_dagster import tags
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, push_change
from jrn_dagster.domain.records import SpacePushStatus
from jrn_dagster.jobs import cli_impact
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster.sensors import cli_impact_cancel_sensor, cli_impact_failure_sensor
from jrn_dagster.services.run_failures import params_from_run_config
from jrn_dagster_tests.support.flow import Flow, demo_flow, space_request


def create_run(flow: Flow, request: RunRequest) -> DagsterRun:
    return flow.instance.create_run_for_job(
        cli_impact,
        run_config=request.run_config,
        tags={**request.tags, tags.PARTITION: API_SPACE},
    )


def claim(flow: Flow, request: RunRequest, event_id: int, *run_ids: str) -> None:
    """What `clone` records: each run in turn claims the (push, space) record."""
    params = params_from_run_config(dict(request.run_config))
    assert params is not None
    with flow.database.unit_of_work() as uow:
        space_id = uow.spaces.get_by_slug(API_SPACE).id
        for run_id in run_ids:
            uow.coverage.claim_push(event_id, params.source_id, space_id, run_id)
        uow.commit()


def tick(flow: Flow, sensor: SensorDefinition, run: DagsterRun, kind: DagsterEventType) -> None:
    """One tick of ``sensor`` for the event of ``kind`` that ended ``run``."""
    [record] = flow.instance.get_records_for_run(run.run_id, of_type=kind).records
    event = record.event_log_entry.dagster_event
    ended = flow.instance.get_run_by_id(run.run_id)
    assert event is not None and ended is not None
    with build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=event,
        dagster_instance=flow.instance,
        dagster_run=ended,
        resources=flow.resources,
    ) as context:
        sensor(context.for_run_failure() if kind is DagsterEventType.RUN_FAILURE else context)


def test_a_crashed_run_is_recorded_failed_and_its_sandbox_released(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        event = push_change(database, flow.world)
        run = create_run(flow, space_request(flow))
        # the run opened its sandbox, then its process was killed: no teardown ran
        leftover = LocalSandboxResource(base_dir=str(flow.sandbox_dir)).open(run.run_id)
        assert Path(leftover.root).exists()
        flow.instance.report_run_failed(run, message="run worker killed")
        tick(flow, cli_impact_failure_sensor, run, DagsterEventType.RUN_FAILURE)
    assert list(flow.sandbox_dir.iterdir()) == []
    with database.unit_of_work() as uow:
        [record] = uow.coverage.pushes_by_run(run.run_id)
        assert record.status is SpacePushStatus.FAILED
        assert record.event_id == event.id
        assert "run worker killed" in (record.error or "")
        assert uow.coverage.source_cursor(flow.world.source_id, "main") is None


def test_a_cancelled_run_marks_its_claimed_record_failed(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        event = push_change(database, flow.world)
        request = space_request(flow)
        run = create_run(flow, request)
        claim(flow, request, event.id, run.run_id)
        flow.instance.report_run_canceled(run)
        canceled = flow.instance.get_run_by_id(run.run_id)
        assert canceled is not None and canceled.status is DagsterRunStatus.CANCELED
        tick(flow, cli_impact_cancel_sensor, run, DagsterEventType.RUN_CANCELED)
    with database.unit_of_work() as uow:
        [record] = uow.coverage.pushes_by_run(run.run_id)
        assert record.status is SpacePushStatus.FAILED and record.error == "run cancelled"


def test_a_late_failure_tick_leaves_the_reexecution_record_alone(
    database: Database, tmp_path: Path
) -> None:
    """The failure sensor runs up to 30 s after a failure; by then a re-execution (from the UI,
    seconds after the failure) may hold the (event, space) record. Found by the end-to-end
    test, where a late tick took the record from the re-execution and marked it failed."""
    with demo_flow(database, tmp_path) as flow:
        event = push_change(database, flow.world)
        request = space_request(flow)
        failed = create_run(flow, request)
        claim(flow, request, event.id, failed.run_id, "reexecution")  # then re-executed
        flow.instance.report_run_failed(failed, message="repository not found")
        tick(flow, cli_impact_failure_sensor, failed, DagsterEventType.RUN_FAILURE)
    with database.unit_of_work() as uow:
        assert uow.coverage.pushes_by_run(failed.run_id) == []
        [record] = uow.coverage.pushes_by_run("reexecution")
        assert record.status is SpacePushStatus.RUNNING
        assert record.error is None
