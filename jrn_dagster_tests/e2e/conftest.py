"""The deployment under test, per backend: application database and Dagster storage
(PostgreSQL databases created and dropped here, or SQLite files), the demo world, ``dagster dev``
and the webhook receiver."""

import subprocess
import warnings
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import clone_url_template
from jrn_dagster.demo.scenario import DemoWorld, ensure_world
from jrn_dagster_tests.support.dagster_dev import (
    BIN,
    EMBEDDED_INSTANCE_YAML,
    LOCATION_NAME,
    POSTGRES_INSTANCE_YAML,
    PROJECT_ROOT,
    DagsterDev,
    Receiver,
    clean_environment,
    postgres_instance_environment,
    prepare_dagster_home,
    start_dagster_dev,
    start_receiver,
)
from jrn_dagster_tests.support.databases import create_postgres_database, drop_postgres_database
from jrn_dagster_tests.support.github import DEFAULT_SECRET
from jrn_dagster_tests.support.processes import ManagedProcess

BACKENDS = ["postgresql", "sqlite"]
MIGRATE_TIMEOUT_SECONDS = 120


@dataclass
class Stack:
    backend: str
    database: Database
    world: DemoWorld
    dagster: DagsterDev
    receiver: Receiver
    webhooks: httpx.Client
    sandbox_dir: Path

    @property
    def processes(self) -> list[ManagedProcess]:
        return [self.dagster.process, self.receiver.process]

    def sensor_selector(self, sensor_name: str) -> dict[str, str]:
        return {
            "repositoryName": self.dagster.repository_name,
            "repositoryLocationName": LOCATION_NAME,
            "sensorName": sensor_name,
        }


def _databases(backend: str, root: Path, cleanup: ExitStack) -> tuple[str, dict[str, str]]:
    """(application database URL, Dagster instance environment)."""
    if backend == "sqlite":
        prepare_dagster_home(root / "dagster_home", EMBEDDED_INSTANCE_YAML)
        return f"sqlite:///{root / 'jrn.sqlite'}", {}
    prepare_dagster_home(root / "dagster_home", POSTGRES_INSTANCE_YAML)
    app_url = create_postgres_database("jrn_e2e_app")
    cleanup.callback(drop_postgres_database, app_url)
    dagster_url = create_postgres_database("jrn_e2e_dagster")
    cleanup.callback(drop_postgres_database, dagster_url)
    return app_url, postgres_instance_environment(dagster_url)


def _migrate(env: dict[str, str]) -> None:
    """``jrn-dagster db upgrade``, as an operator runs it before anything else."""
    done = subprocess.run(
        [str(BIN / "jrn-dagster"), "db", "upgrade"],
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_SECONDS,
    )
    if done.returncode != 0:
        raise RuntimeError(f"jrn-dagster db upgrade failed ({done.returncode}): {done.stderr}")


def _stop(process: ManagedProcess) -> None:
    killed = process.stop()
    if killed:
        warnings.warn(
            f"{process.name}: pids {killed} ignored SIGTERM and were killed", stacklevel=1
        )


@pytest.fixture(params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    backend: str = request.param
    root = tmp_path
    git_root, sandbox_dir, logs = root / "git", root / "sandboxes", root / "logs"
    for directory in (git_root, sandbox_dir, logs):
        directory.mkdir()
    with ExitStack() as cleanup:
        app_url, instance_env = _databases(backend, root, cleanup)
        env = {
            **clean_environment(),
            **instance_env,
            "DAGSTER_HOME": str(root / "dagster_home"),
            "JRN_DATABASE_URL": app_url,
            "JRN_SANDBOX": "local",
            "JRN_LOCAL_SANDBOX_DIR": str(sandbox_dir),
            "JRN_CLONE_URL_TEMPLATE": clone_url_template(git_root),
        }
        _migrate(env)
        database = Database(app_url)
        cleanup.callback(database.dispose)
        world = ensure_world(database, git_root)

        dagster = start_dagster_dev(env=env, log_path=logs / "dagster-dev.log")
        cleanup.callback(_stop, dagster.process)
        cleanup.callback(dagster.graphql.close)
        receiver_env = {
            **clean_environment(),
            "JRN_DATABASE_URL": app_url,
            "JRN_WEBHOOK_SECRET": DEFAULT_SECRET,
        }
        receiver = start_receiver(env=receiver_env, log_path=logs / "receiver.log")
        cleanup.callback(_stop, receiver.process)
        # Not waiting for dagster dev here: deliveries are durable, and a push stored while
        # Dagster is still starting is read by the sensor's first tick (the test's first step).
        webhooks = cleanup.enter_context(httpx.Client(base_url=receiver.url, timeout=30))
        yield Stack(
            backend=backend,
            database=database,
            world=world,
            dagster=dagster,
            receiver=receiver,
            webhooks=webhooks,
            sandbox_dir=sandbox_dir,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed end-to-end test shows the tails of the logs of the processes it started."""
    report = yield
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(stack, Stack):
        for process in stack.processes:
            report.sections.append((f"{process.name} log", process.tail()))
    return report
