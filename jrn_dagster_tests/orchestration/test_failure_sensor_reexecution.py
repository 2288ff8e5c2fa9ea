"""The failure sensor runs up to 30 s after a failure; by then a re-execution (from the UI, seconds
after the failure) may hold the (event, space) record. The late tick must leave it alone: found
by the end-to-end test, where it took the record from the re-execution and marked it failed."""

from pathlib import Path

from dagster import DagsterEventType, build_run_status_sensor_context

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.runner import evaluate_sensor, requests_of
from jrn_dagster.demo.scenario import API_SPACE, push_change
from jrn_dagster.domain.jrn import parse_event_jrn
from jrn_dagster.domain.records import SpaceRunStatus
from jrn_dagster.jobs import cli_impact
from jrn_dagster.sensors import cli_impact_failure_sensor
from jrn_dagster.services.run_failures import params_from_run_config
from jrn_dagster_tests.support.flow import demo_flow


def test_a_late_failure_tick_leaves_the_reexecution_record_alone(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        event = push_change(database, flow.world)
        [request] = [
            r
            for r in requests_of(evaluate_sensor(flow.instance, flow.resources, None))
            if r.partition_key == API_SPACE
        ]
        params = params_from_run_config(dict(request.run_config))
        assert params is not None and params.head_sha is not None
        failed = flow.instance.create_run_for_job(
            cli_impact,
            run_config=request.run_config,
            tags={**request.tags, "dagster/partition": API_SPACE},
        )
        with database.unit_of_work() as uow:
            job_id = uow.runs.ensure_job(
                idempotency_key=params.idempotency_key,
                source_id=params.source_id,
                integration_id=params.integration_id,
                event_id=event.id,
                event_jrn=params.event_jrn,
                branch=parse_event_jrn(params.event_jrn)[3],
                head_sha=params.head_sha,
                base_sha=params.base_sha,
                forced=False,
                affected_space_ids=params.affected_space_ids,
            )
            space_id = uow.spaces.get_by_slug(API_SPACE).id
            uow.runs.start(job_id, space_id, failed.run_id)  # the run claimed it, then failed
            uow.runs.start(job_id, space_id, "reexecution")  # its re-execution claims it
            uow.commit()
        flow.instance.report_run_failed(failed, message="repository not found")
        failure = (
            flow.instance.get_records_for_run(failed.run_id, of_type=DagsterEventType.RUN_FAILURE)
            .records[0]
            .event_log_entry.dagster_event
        )
        assert failure is not None
        with build_run_status_sensor_context(
            sensor_name=cli_impact_failure_sensor.name,
            dagster_event=failure,
            dagster_instance=flow.instance,
            dagster_run=flow.instance.get_run_by_id(failed.run_id),  # type: ignore[arg-type]
            resources=flow.resources,
        ) as context:
            cli_impact_failure_sensor(context.for_run_failure())
    with database.unit_of_work() as uow:
        assert uow.runs.by_dagster_run(failed.run_id) == []
        [record] = uow.runs.by_dagster_run("reexecution")
        assert record.status is SpaceRunStatus.RUNNING
        assert record.error is None
