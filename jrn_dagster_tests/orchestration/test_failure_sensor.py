"""A run that died without its teardown: the failure sensor records the failure (so the source
cursor waits for it) and releases the sandbox the run left."""

from pathlib import Path

from dagster import DagsterEventType, DagsterRunStatus, build_run_status_sensor_context

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.runner import evaluate_sensor, requests_of
from jrn_dagster.demo.scenario import API_SPACE, push_change
from jrn_dagster.domain.records import SpaceRunStatus
from jrn_dagster.jobs import cli_impact
from jrn_dagster.resources.sandbox.local import LocalSandboxResource
from jrn_dagster.sensors import cli_impact_cancel_sensor, cli_impact_failure_sensor
from jrn_dagster_tests.support.flow import demo_flow


def test_a_crashed_run_is_recorded_failed_and_its_sandbox_released(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        event = push_change(database, flow.world)
        [request] = [
            r
            for r in requests_of(evaluate_sensor(flow.instance, flow.resources, None))
            if r.partition_key == API_SPACE
        ]
        run = flow.instance.create_run_for_job(
            cli_impact,
            run_config=request.run_config,
            tags={**request.tags, "dagster/partition": API_SPACE},
        )
        # the run opened its sandbox, then its process was killed: no teardown ran
        leftover = LocalSandboxResource(base_dir=str(flow.sandbox_dir)).open(run.run_id)
        assert Path(leftover.root).exists()
        flow.instance.report_run_failed(run, message="run worker killed")
        failure = (
            flow.instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
            .records[0]
            .event_log_entry.dagster_event
        )
        assert failure is not None
        with build_run_status_sensor_context(
            sensor_name=cli_impact_failure_sensor.name,
            dagster_event=failure,
            dagster_instance=flow.instance,
            dagster_run=flow.instance.get_run_by_id(run.run_id),  # type: ignore[arg-type]
            resources=flow.resources,
        ) as context:
            cli_impact_failure_sensor(context.for_run_failure())
    assert list(flow.sandbox_dir.iterdir()) == []
    with database.unit_of_work() as uow:
        [record] = uow.runs.by_dagster_run(run.run_id)
        assert record.status is SpaceRunStatus.FAILED
        assert record.event_id == event.id
        assert "run worker killed" in (record.error or "")
        assert uow.cursors.source_cursor(flow.world.source_id, "main") is None


def test_a_cancelled_run_marks_its_claimed_record_failed(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        push_change(database, flow.world)
        [request] = [
            r
            for r in requests_of(evaluate_sensor(flow.instance, flow.resources, None))
            if r.partition_key == API_SPACE
        ]
        run = flow.instance.create_run_for_job(
            cli_impact, run_config=request.run_config, tags=dict(request.tags)
        )
        with database.unit_of_work() as uow:  # what `clone` had claimed before the cancel
            job_id = uow.runs.ensure_job(
                idempotency_key="k",
                source_id=flow.world.source_id,
                integration_id=1,
                event_id=None,
                event_jrn="jrn::path:/home/global/sources/github/acme/widgets/main",
                branch="main",
                head_sha=None,
                base_sha=None,
                forced=False,
                affected_space_ids=[],
            )
            space_id = uow.spaces.get_by_slug(API_SPACE).id
            uow.runs.start(job_id, space_id, run.run_id)
            uow.commit()
        flow.instance.report_run_canceled(run)
        canceled = flow.instance.get_run_by_id(run.run_id)
        assert canceled is not None and canceled.status is DagsterRunStatus.CANCELED
        event = (
            flow.instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_CANCELED)
            .records[0]
            .event_log_entry.dagster_event
        )
        assert event is not None
        with build_run_status_sensor_context(
            sensor_name=cli_impact_cancel_sensor.name,
            dagster_event=event,
            dagster_instance=flow.instance,
            dagster_run=canceled,
            resources=flow.resources,
        ) as context:
            cli_impact_cancel_sensor(context)
    with database.unit_of_work() as uow:
        [record] = uow.runs.by_dagster_run(run.run_id)
        assert record.status is SpaceRunStatus.FAILED and record.error == "run cancelled"
