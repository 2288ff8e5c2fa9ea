"""One sensor tick and the runs it requests, in this process, recorded in a Dagster instance
(the one ``dagster dev`` shows when it shares ``$DAGSTER_HOME``)."""

import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import (
    BetaWarning,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    RunsFilter,
    SensorResult,
    build_sensor_context,
)
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.remote_origin import RemoteJobOrigin
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

from jrn_dagster.demo.sensor_state import (
    DEFINITIONS_ATTRIBUTE,
    DEFINITIONS_MODULE,
    repository_origin,
)
from jrn_dagster.jobs import cli_impact
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.sensors import webhook_event_sensor

QUIET_CONSOLE = {"console": {"config": {"log_level": "WARNING"}}}


@dataclass(frozen=True)
class RunOutcome:
    run_key: str
    space: str
    run_id: str | None  # None: skipped, the run key was used before
    success: bool


def evaluate_sensor(
    instance: DagsterInstance, resources: Mapping[str, Any], cursor: str | None
) -> SensorResult:
    """One tick, and its partition additions applied, as the daemon would."""
    with build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        # The tick's summary line is for the daemon's tick log; the demo reports the tick
        # itself. Warnings (an invalid event skipped) still reach the terminal.
        context.log.setLevel(logging.WARNING)
        result = webhook_event_sensor(context)
    if not isinstance(result, SensorResult):  # pragma: no cover - the sensor returns one
        raise TypeError(f"unexpected sensor result {result!r}")
    for request in result.dynamic_partitions_requests or []:
        keys = list(getattr(request, "partition_keys", []) or [])
        if keys:
            instance.add_dynamic_partitions(request.partitions_def_name, keys)
    return result


def requests_of(result: SensorResult) -> list[RunRequest]:
    return list(result.run_requests or [])


def run_requested(
    instance: DagsterInstance,
    resources: Mapping[str, Any],
    requests: list[RunRequest],
    on_run: Callable[[RunRequest], None] = lambda _request: None,
) -> list[RunOutcome]:
    """Execute each request in process; a run key used before is skipped, as the daemon does.
    Runs carry the sensor's name as the daemon's do: a daemon that meets their run keys again
    (a cursor reset) recognises them as its own and launches nothing twice."""
    job = Definitions(jobs=[cli_impact], resources=with_run_sandbox(resources)).get_job_def(
        cli_impact.name
    )
    outcomes = []
    for request in requests:
        key = request.run_key or ""
        slug = request.partition_key or ""
        if _run_key_used(instance, key):
            outcomes.append(RunOutcome(key, slug, None, True))
            continue
        on_run(request)
        result = job.execute_in_process(
            # The event log keeps everything; the terminal only hears of problems.
            run_config={**request.run_config, "loggers": QUIET_CONSOLE},
            partition_key=slug,
            tags={**request.tags, RUN_KEY_TAG: key, SENSOR_NAME_TAG: webhook_event_sensor.name},
            instance=instance,
            raise_on_error=False,
        )
        outcomes.append(RunOutcome(key, slug, result.run_id, result.success))
    return outcomes


def _run_key_used(instance: DagsterInstance, key: str) -> bool:
    return bool(instance.get_run_ids(RunsFilter(tags={RUN_KEY_TAG: key}), limit=1))


def run_in_code_location(
    instance: DagsterInstance,
    requests: list[RunRequest],
    on_run: Callable[[RunRequest], None] = lambda _request: None,
) -> list[RunOutcome]:
    """Execute each request in process from the project's code location (``jrn_dagster.
    definitions``, resources from the environment, as ``dagster dev`` loads it), each run
    recorded with that location's origin, as the daemon records its runs: the UI re-executes
    them like the runs it launched. A run key used before is skipped.

    The code location reads its settings from the environment when it is first imported: set
    them before (``jrn_dagster.demo.flow`` does)."""
    recon_job = ReconstructableRepository.for_module(
        DEFINITIONS_MODULE, DEFINITIONS_ATTRIBUTE
    ).get_reconstructable_job(cli_impact.name)
    with warnings.catch_warnings():
        # Dagster's own run-status sensors use a beta parameter: not the demo user's concern.
        warnings.simplefilter("ignore", BetaWarning)
        job_def = recon_job.get_definition()
    origin = RemoteJobOrigin(repository_origin=repository_origin(), job_name=cli_impact.name)
    outcomes = []
    for request in requests:
        key = request.run_key or ""
        slug = request.partition_key or ""
        if _run_key_used(instance, key):
            outcomes.append(RunOutcome(key, slug, None, True))
            continue
        on_run(request)
        resolved = request.with_resolved_tags_and_config(
            target_definition=job_def,
            dynamic_partitions_requests=[],
            dynamic_partitions_store=instance,
        )
        # The event log keeps everything; the terminal only hears of problems.
        run_config = {**resolved.run_config, "loggers": QUIET_CONSOLE}
        run_tags = {
            **resolved.tags,
            RUN_KEY_TAG: key,
            SENSOR_NAME_TAG: webhook_event_sensor.name,
        }
        run = instance.create_run_for_job(
            job_def=job_def,
            execution_plan=create_execution_plan(
                recon_job, run_config=run_config, instance_ref=instance.get_ref(), tags=run_tags
            ),
            run_config=run_config,
            tags=run_tags,
            status=DagsterRunStatus.NOT_STARTED,
            remote_job_origin=origin,
            job_code_origin=recon_job.get_python_origin(),
        )
        result = execute_run(recon_job, run, instance)
        outcomes.append(RunOutcome(key, slug, run.run_id, result.success))
    return outcomes
