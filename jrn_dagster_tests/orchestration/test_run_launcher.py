"""The warm run launcher (docs/operations.md#warm-run-workers): runs of a preloaded code location
are forked from its zygote, others go through their code server; termination and run monitoring
name the worker by host, pid and start time. On Dagster storage in SQLite and PostgreSQL."""

import json
import os
import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.launcher import WorkerStatus
from dagster._core.test_utils import create_run_for_test, instance_for_test, poll_for_finished_run
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from sqlalchemy import make_url

from jrn_dagster.run_launcher import RUN_WORKER_TAG, ForkRunLauncher
from jrn_dagster_tests.support.dagster_graphql import wait_for
from jrn_dagster_tests.support.databases import DATABASE_KINDS, temporary_postgres_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODULE = "jrn_dagster_tests.support.warm_jobs"
LOCATION = "warm_jobs"
RUN_TIMEOUT_SECONDS = 120


def _storage(kind: str, stack: ExitStack) -> dict[str, Any]:
    if kind == "sqlite":
        return {}
    url = make_url(stack.enter_context(temporary_postgres_database("jrn_launcher")))
    return {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "scheme": "postgresql+psycopg2",
                    "hostname": url.host or "127.0.0.1",
                    "port": url.port or 5432,
                    "username": url.username or "postgres",
                    "password": url.password or "",
                    "db_name": url.database or "",
                }
            }
        }
    }


def _launcher(preload: list[str]) -> dict[str, Any]:
    return {
        "run_launcher": {
            "module": "jrn_dagster.run_launcher",
            "class": "ForkRunLauncher",
            "config": {"preload_modules": preload},
        }
    }


class Deployment:
    def __init__(self, instance: DagsterInstance, workspace: WorkspaceProcessContext) -> None:
        self.instance = instance
        self.workspace = workspace

    def launch(self, tmp_path: Path, name: str, *, wait_for_file: Path | None = None) -> str:
        request = self.workspace.create_request_context()
        location = request.get_code_location(LOCATION)
        remote_job = location.get_repository(SINGLETON_REPOSITORY_NAME).get_full_job("recorded")
        config: dict[str, str] = {"record": str(tmp_path / f"{name}.json")}
        if wait_for_file is not None:
            config["wait_for"] = str(wait_for_file)
        run = create_run_for_test(
            self.instance,
            job_name="recorded",
            run_config={"ops": {"record_process": {"config": config}}},
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
        )
        self.instance.launch_run(run.run_id, request)
        return run.run_id

    def finished(self, run_id: str) -> DagsterRunStatus:
        return poll_for_finished_run(self.instance, run_id, timeout=RUN_TIMEOUT_SECONDS).status


def _deployment(storage: str, preload: list[str], stack: ExitStack) -> Deployment:
    overrides = {**_storage(storage, stack), **_launcher(preload)}
    instance = stack.enter_context(instance_for_test(overrides=overrides))
    target = ModuleTarget(
        module_name=MODULE,
        attribute="defs",
        working_directory=str(PROJECT_ROOT),
        location_name=LOCATION,
    )
    workspace = stack.enter_context(WorkspaceProcessContext(instance, target))
    return Deployment(instance, workspace)


@pytest.fixture(params=DATABASE_KINDS)
def warm(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    with ExitStack() as stack:
        yield _deployment(request.param, [MODULE], stack)


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rfind(")") + 2 :].split()[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def _recorded(tmp_path: Path, name: str) -> dict[str, Any]:
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_runs_of_a_preloaded_location_are_forked_from_one_warm_zygote(
    warm: Deployment, tmp_path: Path
) -> None:
    first = warm.launch(tmp_path, "first")
    assert warm.finished(first) is DagsterRunStatus.SUCCESS
    second = warm.launch(tmp_path, "second")
    assert warm.finished(second) is DagsterRunStatus.SUCCESS

    one, two = _recorded(tmp_path, "first"), _recorded(tmp_path, "second")
    assert one["ppid"] == two["ppid"]  # the same zygote forked both
    assert one["ppid"] != os.getpid()
    assert "jrn_dagster.run_launcher" in Path(f"/proc/{one['ppid']}/cmdline").read_text()
    run = warm.instance.get_run_by_id(first)
    assert run is not None
    assert json.loads(run.tags[RUN_WORKER_TAG])["pid"] == one["pid"]
    # Tagged before the worker had the run, so never written alongside the worker's own tags.
    assert one["worker_tag"] == run.tags[RUN_WORKER_TAG]
    # The run's arguments (instance reference included) came through a pipe, not argv.
    assert first not in one["cmdline"] and "instance_ref" not in one["cmdline"]
    assert "execute_run" not in one["cmdline"]


def test_a_location_not_preloaded_is_launched_by_its_code_server(tmp_path: Path) -> None:
    with ExitStack() as stack:
        deployment = _deployment("sqlite", ["some.other.module"], stack)
        run_id = deployment.launch(tmp_path, "default")
        assert deployment.finished(run_id) is DagsterRunStatus.SUCCESS
        run = deployment.instance.get_run_by_id(run_id)
        assert run is not None and RUN_WORKER_TAG not in run.tags
        # The code server started it: the worker is a child of the server of the module.
        parent = Path(f"/proc/{_recorded(tmp_path, 'default')['ppid']}/cmdline").read_bytes()
        assert b"grpc" in parent and MODULE.encode() in parent, parent


def test_a_zygote_that_cannot_start_leaves_the_run_to_its_code_server(tmp_path: Path) -> None:
    with ExitStack() as stack:
        deployment = _deployment("sqlite", [MODULE, "jrn_dagster_tests.no_such_module"], stack)
        run_id = deployment.launch(tmp_path, "fallback")
        assert deployment.finished(run_id) is DagsterRunStatus.SUCCESS
        run = deployment.instance.get_run_by_id(run_id)
        assert run is not None and RUN_WORKER_TAG not in run.tags
        messages = [e.message for e in deployment.instance.all_logs(run_id)]
        assert any("Warm run worker unavailable" in m and "no_such_module" in m for m in messages)
        # The next launch does not try again (each try costs the imports): same fallback.
        again = deployment.launch(tmp_path, "fallback-again")
        assert deployment.finished(again) is DagsterRunStatus.SUCCESS
        messages = [e.message for e in deployment.instance.all_logs(again)]
        assert any("not retried until the location reloads" in m for m in messages)


def _held_run(
    warm: Deployment, tmp_path: Path, name: str, release: Path
) -> tuple[str, ForkRunLauncher]:
    """A run whose op has started and waits for ``release``; the instance's launcher."""
    run_id = warm.launch(tmp_path, name, wait_for_file=release)
    wait_for(
        lambda: (tmp_path / f"{name}.json").exists() or None,
        timeout_seconds=RUN_TIMEOUT_SECONDS,
        what="the op to start",
    )
    launcher = warm.instance.run_launcher
    assert isinstance(launcher, ForkRunLauncher)
    return run_id, launcher


def test_terminate_stops_the_forked_worker_and_health_follows_it(
    warm: Deployment, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    run_id, launcher = _held_run(warm, tmp_path, "held", release)
    run = warm.instance.get_run_by_id(run_id)
    assert run is not None
    assert launcher.check_run_worker_health(run).status is WorkerStatus.RUNNING

    assert launcher.terminate(run_id)
    assert warm.finished(run_id) is DagsterRunStatus.CANCELED
    release.touch()
    run = warm.instance.get_run_by_id(run_id)
    assert run is not None
    wait_for(
        lambda: launcher.check_run_worker_health(run).status is WorkerStatus.FAILED or None,
        timeout_seconds=RUN_TIMEOUT_SECONDS,
        what="the worker to be gone",
    )
    assert not launcher.terminate(run_id)  # finished: nothing to signal


def test_a_killed_worker_is_reported_failed_and_a_recycled_pid_is_never_signalled(
    warm: Deployment, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    run_id, launcher = _held_run(warm, tmp_path, "killed", release)
    os.kill(_recorded(tmp_path, "killed")["pid"], signal.SIGKILL)
    run = warm.instance.get_run_by_id(run_id)
    assert run is not None
    wait_for(
        lambda: launcher.check_run_worker_health(run).status is WorkerStatus.FAILED or None,
        timeout_seconds=RUN_TIMEOUT_SECONDS,
        what="the killed worker to be reported",
    )
    # A tag naming this very process (alive, but not the worker: another start time) or
    # another host is never signalled.
    worker = json.loads(run.tags[RUN_WORKER_TAG])
    forged_tags = [
        json.dumps({**worker, "pid": os.getpid()}),
        json.dumps({**worker, "host": "elsewhere"}),
        json.dumps({**worker, "pid": "1"}),
        json.dumps([worker]),
        "not json",
    ]
    for forged in forged_tags:
        warm.instance.add_run_tags(run_id, {RUN_WORKER_TAG: forged})
        assert not launcher.terminate(run_id), forged
        forged_run = warm.instance.get_run_by_id(run_id)
        assert forged_run is not None and forged_run.tags[RUN_WORKER_TAG] == forged
        assert launcher.check_run_worker_health(forged_run).status is not WorkerStatus.RUNNING
    release.touch()
    # What run monitoring does with a FAILED worker (the daemon is not running here).
    warm.instance.report_run_failed(run)


def test_a_reloaded_location_gets_a_new_zygote_and_none_outlives_its_launcher(
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        deployment = _deployment("sqlite", [MODULE], stack)
        before = deployment.launch(tmp_path, "before")
        assert deployment.finished(before) is DagsterRunStatus.SUCCESS
        old_zygote = _recorded(tmp_path, "before")["ppid"]
        spares = wait_for(
            lambda: _children(old_zygote) or None,
            timeout_seconds=RUN_TIMEOUT_SECONDS,
            what="the next spare worker",
        )
        deployment.workspace.reload_code_location(LOCATION)  # a new code server, a new id
        after = deployment.launch(tmp_path, "after")
        assert deployment.finished(after) is DagsterRunStatus.SUCCESS
        new_zygote = _recorded(tmp_path, "after")["ppid"]
        assert new_zygote != old_zygote
        assert not Path(f"/proc/{old_zygote}").exists()  # stopped and reaped at the reload
        # Its idle spare, waiting on the zygote's pipe, ended with it.
        wait_for(
            lambda: not any(_alive(pid) for pid in spares) or None,
            timeout_seconds=RUN_TIMEOUT_SECONDS,
            what="the old zygote's spare to end",
        )
    assert not Path(f"/proc/{new_zygote}").exists()  # the launcher's dispose stopped it
