"""The demo, start to end, as one function the CLI reports on."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance

from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import clone_url_template
from jrn_dagster.demo.report import SpaceResult, space_results
from jrn_dagster.demo.runner import evaluate_sensor, requests_of, run_requested
from jrn_dagster.demo.scenario import DemoWorld, ensure_world, push_change
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.resources.agent import NoticeAgentResource
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import LocalSandboxResource

Progress = Callable[[str], None]


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
    resources = {
        "database": DatabaseResource(url=database.url),
        "sandbox": LocalSandboxResource(),
        "repository_access": RepositoryAccessResource(clone_url_template=template),
        "agent": NoticeAgentResource(),
    }
    progress("evaluating webhook_event_sensor...")
    # Read exactly this push: the demo's own cursor, independent of the daemon's.
    tick = evaluate_sensor(instance, resources, EventCursor(last_id=event.id - 1).serialize())
    requests = requests_of(tick)
    outcomes = run_requested(
        instance,
        resources,
        requests,
        on_run=lambda request: progress(f"running cli_impact for space {request.partition_key}..."),
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
