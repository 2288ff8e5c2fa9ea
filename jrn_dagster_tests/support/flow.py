"""The demo world, a Dagster instance and resources wired to them: the whole flow in process."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    instance_for_test,
)

import jrn_dagster.sensors
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import clone_url_template
from jrn_dagster.demo.runner import RunOutcome, evaluate_sensor, requests_of, run_requested
from jrn_dagster.demo.scenario import API_SPACE, DemoWorld, ensure_world
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.jobs import add_space_partition, cli_impact
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.resources.agent import NoticeAgentResource
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster.tags import EVENT_ID


@dataclass
class Flow:
    database: Database
    instance: DagsterInstance
    resources: dict[str, Any]
    world: DemoWorld
    sandbox_dir: Path


def flow_resources(database_url: str, git_root: Path, sandbox_dir: Path) -> dict[str, Any]:
    return {
        "database": DatabaseResource(url=database_url),
        "sandbox": LocalSandboxResource(base_dir=str(sandbox_dir)),
        "repository_access": RepositoryAccessResource(
            clone_url_template=clone_url_template(git_root)
        ),
        "agent": NoticeAgentResource(),
    }


@contextmanager
def demo_flow(database: Database, tmp_path: Path) -> Iterator[Flow]:
    git_root, sandbox_dir = tmp_path / "git", tmp_path / "sandboxes"
    for directory in (git_root, sandbox_dir, tmp_path / "dagster"):
        directory.mkdir()
    world = ensure_world(database, git_root)
    with instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield Flow(
            database=database,
            instance=instance,
            resources=flow_resources(database.url, git_root, sandbox_dir),
            world=world,
            sandbox_dir=sandbox_dir,
        )


def space_request(
    flow: Flow, event: WebhookEvent | None = None, space: str = API_SPACE
) -> RunRequest:
    """The run the sensor requests for ``space``: for ``event`` (a tick that reads exactly it,
    so that it is not coalesced with the pushes stored after it), or, without one, in a tick
    over every stored event."""
    cursor = EventCursor(last_id=event.id - 1).serialize() if event else None
    with _events_per_tick(1 if event else jrn_dagster.sensors.EVENTS_PER_TICK):
        result = evaluate_sensor(flow.instance, flow.resources, cursor)
    [request] = [
        r
        for r in requests_of(result)
        if r.partition_key == space and (event is None or r.tags[EVENT_ID] == str(event.id))
    ]
    return request


@contextmanager
def _events_per_tick(count: int) -> Iterator[None]:
    saved = jrn_dagster.sensors.EVENTS_PER_TICK
    jrn_dagster.sensors.EVENTS_PER_TICK = count
    try:
        yield
    finally:
        jrn_dagster.sensors.EVENTS_PER_TICK = saved


def run_request(flow: Flow, request: RunRequest) -> RunOutcome:
    """Execute one requested run in process, as the daemon would."""
    [outcome] = run_requested(flow.instance, flow.resources, [request])
    return outcome


def launch_catch_up(
    flow: Flow, space: str, run_config: dict[str, Any] | None = None
) -> ExecuteInProcessResult:
    """A UI launch or a backfill of ``space``'s partition: the catch-up config, no event."""
    add_space_partition(flow.instance, space)
    job = Definitions(jobs=[cli_impact], resources=with_run_sandbox(flow.resources)).get_job_def(
        cli_impact.name
    )
    return job.execute_in_process(
        partition_key=space, instance=flow.instance, run_config=run_config, raise_on_error=False
    )


def step_metadata(instance: DagsterInstance, run_id: str, step_key: str) -> dict[str, Any]:
    """The output metadata ``step_key`` attached in run ``run_id``."""
    [output] = [
        record.event_log_entry.dagster_event
        for record in instance.get_records_for_run(
            run_id, of_type=DagsterEventType.STEP_OUTPUT
        ).records
        if record.event_log_entry.dagster_event
        and record.event_log_entry.dagster_event.step_key == step_key
    ]
    return {key: value.value for key, value in output.step_output_data.metadata.items()}
