"""The demo, start to end, as one function the CLI reports on."""

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, RunRequest

from jrn_dagster.adapters.git import CLONE_URL_TEMPLATE_ENV
from jrn_dagster.db.engine import DATABASE_URL_ENV
from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.env_file import write_demo_env
from jrn_dagster.demo.local_git import clone_url_template
from jrn_dagster.demo.report import SpaceResult, space_results
from jrn_dagster.demo.runner import (
    RunOutcome,
    evaluate_sensor,
    requests_of,
    run_in_code_location,
)
from jrn_dagster.demo.scenario import DemoWorld, ensure_world, push_change
from jrn_dagster.demo.sensor_state import EvaluatedTick, record_tick, stored_cursor
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.resources.agent import AGENT_COMMAND_ENV
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.sandbox import SANDBOX_ENV
from jrn_dagster.sensors import webhook_event_sensor

Progress = Callable[[str], None]
# The demo's own events fit in one tick; a home with a backlog takes a few more.
MAX_DEMO_TICKS = 50


@dataclass
class DemoResult:
    world: DemoWorld
    event: WebhookEvent
    clone_url_template: str
    requested_spaces: list[str]
    spaces: list[SpaceResult]
    cursor_before: str | None
    cursor_after: str | None

    @property
    def success(self) -> bool:
        return all(space.success for space in self.spaces)


def _cursor(database: Database, source_id: int) -> str | None:
    with database.unit_of_work() as uow:
        cursors = {c.branch: c.head_sha for c in uow.sources.get(source_id).cursors}
    return cursors.get("main")


@contextmanager
def code_location_environment(settings: dict[str, str]) -> Iterator[None]:
    """The demo's settings in this process's environment, where the code location reads them
    (the same ones ``demo.env`` gives ``make dev``); the agent is the default notice agent, as
    the embedded default has it. Restored afterwards."""
    saved = {name: os.environ.get(name) for name in [*settings, AGENT_COMMAND_ENV]}
    os.environ.update(settings)
    os.environ.pop(AGENT_COMMAND_ENV, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_sensor_until(
    instance: DagsterInstance,
    resources: dict[str, Any],
    event_id: int,
    on_run: Callable[[RunRequest], None],
) -> tuple[list[RunRequest], list[RunOutcome]]:
    """Ticks of ``webhook_event_sensor`` from the cursor stored on the instance, as the daemon
    evaluates them, each recorded there with the runs it launched, until the sensor has read
    ``event_id``: a daemon started later on this instance reads none of these events again."""
    sensor = webhook_event_sensor
    requests: list[RunRequest] = []
    outcomes: list[RunOutcome] = []
    for _ in range(MAX_DEMO_TICKS):
        cursor = stored_cursor(instance, sensor.name)
        if EventCursor.parse(cursor).last_id >= event_id:
            break
        started = time.time()
        result = evaluate_sensor(instance, resources, cursor)
        tick_requests = requests_of(result)
        tick_outcomes = run_in_code_location(instance, tick_requests, on_run)
        skip = result.skip_reason.skip_message if result.skip_reason else None
        record_tick(
            instance,
            sensor.name,
            EvaluatedTick(
                started=started,
                cursor=result.cursor,
                skip_reason=skip,
                run_ids=[o.run_id for o in tick_outcomes if o.run_id],
                run_keys=[o.run_key for o in tick_outcomes if o.run_id],
            ),
            min_interval=sensor.minimum_interval_seconds or 30,
        )
        requests += tick_requests
        outcomes += tick_outcomes
        if result.cursor == cursor:  # nothing more to read
            break
    return requests, outcomes


def run_demo(
    database: Database, instance: DagsterInstance, home: Path, progress: Progress
) -> DemoResult:
    progress("preparing the database and the demo repository...")
    upgrade(database)
    git_root = home / "demo-git"
    git_root.mkdir(parents=True, exist_ok=True)
    world = ensure_world(database, git_root)
    before = _cursor(database, world.source_id)
    progress("pushing a change and ingesting the push...")
    event = push_change(database, world)
    template = clone_url_template(git_root)
    # The sensor's resources; the runs take theirs from the code location.
    resources = {"database": DatabaseResource(url=database.url)}
    write_demo_env(home, {CLONE_URL_TEMPLATE_ENV: template}, database.url)
    progress("evaluating webhook_event_sensor...")
    with code_location_environment(
        {CLONE_URL_TEMPLATE_ENV: template, DATABASE_URL_ENV: database.url, SANDBOX_ENV: "local"}
    ):
        requests, outcomes = _run_sensor_until(
            instance,
            resources,
            event.id,
            on_run=lambda request: progress(
                f"running cli_impact for space {request.partition_key}..."
            ),
        )
    return DemoResult(
        world=world,
        event=event,
        clone_url_template=template,
        requested_spaces=[request.partition_key or "" for request in requests],
        spaces=space_results(database, outcomes),
        cursor_before=before,
        cursor_after=_cursor(database, world.source_id),
    )
