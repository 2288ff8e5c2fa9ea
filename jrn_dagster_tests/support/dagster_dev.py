"""The deployment as operators run it, for end-to-end tests: ``dagster dev -w workspace.yaml``
(webserver, daemon, code server) on a ``DAGSTER_HOME`` of its own, and ``jrn-dagster webhooks
serve``; both real processes on free loopback ports, stopped by their process groups."""

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from jrn_dagster_tests.support.dagster_graphql import DagsterGraphQL, wait_for
from jrn_dagster_tests.support.processes import (
    ManagedProcess,
    free_port,
    start_process,
    wait_for_log_line,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCATION_NAME = "jrn_dagster"  # pinned in workspace.yaml
EMBEDDED_INSTANCE_YAML = PROJECT_ROOT / "dagster.yaml"
POSTGRES_INSTANCE_YAML = PROJECT_ROOT / "deploy" / "dagster.postgres.yaml"
STARTUP_TIMEOUT_SECONDS = 120
RECEIVER_STARTUP_SECONDS = 30
RECEIVER_READY_MARKER = "webhook receiver listening"
# Settings of the developer's shell that must not reach the processes under test.
_SCRUBBED_PREFIXES = ("JRN_", "DAGSTER_", "E2B_")


def clean_environment() -> dict[str, str]:
    """This process's environment without any jrn, Dagster or E2B setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}


def postgres_instance_environment(url: str) -> dict[str, str]:
    """The ``DAGSTER_PG_*`` variables ``deploy/dagster.postgres.yaml`` reads, for ``url``."""
    parsed = make_url(url)
    return {
        "DAGSTER_PG_HOST": parsed.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(parsed.port or 5432),
        "DAGSTER_PG_USER": parsed.username or "postgres",
        # The instance config requires the variable (unset is a config error); empty is fine.
        "DAGSTER_PG_PASSWORD": parsed.password or "",
        "DAGSTER_PG_DB": parsed.database or "",
    }


def prepare_dagster_home(home: Path, instance_yaml: Path) -> Path:
    """``DAGSTER_HOME`` holding a copy of ``instance_yaml`` as its ``dagster.yaml``."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(instance_yaml, home / "dagster.yaml")
    return home


@dataclass
class DagsterDev:
    process: ManagedProcess
    url: str
    graphql: DagsterGraphQL
    repository_name: str = ""  # known once the code location has loaded

    def wait_until_loaded(self, timeout_seconds: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Until the webserver answers GraphQL with the code location loaded."""

        def loaded() -> list[str] | None:
            if not self.process.running():
                raise RuntimeError(
                    f"dagster dev exited with {self.process.process.returncode}\n"
                    f"{self.process.tail()}"
                )
            return self.graphql.loaded_repositories(LOCATION_NAME) or None

        try:
            repositories = wait_for(
                loaded, timeout_seconds=timeout_seconds, what="the code location to load"
            )
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{self.process.tail()}") from error
        self.repository_name = repositories[0]


def start_dagster_dev(*, env: dict[str, str], log_path: Path) -> DagsterDev:
    """``dagster dev -w workspace.yaml`` from the project root, as the README says (returns at
    once: ``wait_until_loaded`` waits for it)."""
    port = free_port()
    process = start_process(
        "dagster dev",
        [
            str(BIN / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        cwd=PROJECT_ROOT,
        log_path=log_path,
    )
    url = f"http://127.0.0.1:{port}"
    return DagsterDev(process=process, url=url, graphql=DagsterGraphQL(url))


@dataclass
class Receiver:
    process: ManagedProcess
    url: str  # base URL: POST {url}/webhooks/github


def start_receiver(*, env: dict[str, str], log_path: Path) -> Receiver:
    """``jrn-dagster webhooks serve`` on a free loopback port (``--port 0``, read from its
    startup line)."""
    process = start_process(
        "webhook receiver",
        [str(BIN / "jrn-dagster"), "webhooks", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        cwd=PROJECT_ROOT,
        log_path=log_path,
    )
    try:
        line = wait_for_log_line(
            process, RECEIVER_READY_MARKER, timeout_seconds=RECEIVER_STARTUP_SECONDS
        )
    except BaseException:
        process.stop()
        raise
    url = line.split("url=", 1)[1].split()[0].removesuffix("/webhooks/github")
    return Receiver(process=process, url=url)
