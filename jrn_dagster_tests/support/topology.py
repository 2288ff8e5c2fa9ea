"""The separate processes a production deployment runs, for end-to-end tests: a code server
(``dagster code-server start``), ``dagster-daemon`` and ``dagster-webserver`` on a workspace that
reaches the code server over gRPC (docs/operations.md#production-topology). Each is a real
process in a session of its own, logging to a file, stopped by its process group."""

from dataclasses import dataclass
from pathlib import Path

from jrn_dagster_tests.support.dagster_dev import BIN, LOCATION_NAME, PROJECT_ROOT, DagsterDev
from jrn_dagster_tests.support.dagster_graphql import DagsterGraphQL
from jrn_dagster_tests.support.processes import (
    ManagedProcess,
    free_port,
    start_process,
    wait_for_log_line,
)

CODE_SERVER_STARTUP_SECONDS = 120
CODE_SERVER_READY_MARKER = "Started Dagster code server"


@dataclass
class CodeServer:
    process: ManagedProcess
    port: int


def start_code_server(*, env: dict[str, str], log_path: Path) -> CodeServer:
    """``dagster code-server start`` for the project's definitions under the pinned location
    name, on a free loopback port; returns once it serves."""
    port = free_port()
    process = start_process(
        "code server",
        [
            str(BIN / "dagster"),
            "code-server",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "jrn_dagster.definitions",
            "-a",
            "defs",
            "--location-name",
            LOCATION_NAME,
        ],
        env=env,
        cwd=PROJECT_ROOT,
        log_path=log_path,
    )
    try:
        wait_for_log_line(
            process, CODE_SERVER_READY_MARKER, timeout_seconds=CODE_SERVER_STARTUP_SECONDS
        )
    except BaseException:
        process.stop()
        raise
    return CodeServer(process=process, port=port)


def write_grpc_workspace(path: Path, code_server: CodeServer) -> Path:
    """A workspace with one code location served over gRPC, under the pinned location name."""
    path.write_text(
        "load_from:\n"
        "  - grpc_server:\n"
        "      host: 127.0.0.1\n"
        f"      port: {code_server.port}\n"
        f"      location_name: {LOCATION_NAME}\n"
    )
    return path


def start_daemon(*, env: dict[str, str], workspace: Path, log_path: Path) -> ManagedProcess:
    return start_process(
        "dagster-daemon",
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
        env=env,
        cwd=PROJECT_ROOT,
        log_path=log_path,
    )


def start_webserver(*, env: dict[str, str], workspace: Path, log_path: Path) -> DagsterDev:
    """``dagster-webserver`` on a free loopback port (``wait_until_loaded`` waits for it)."""
    port = free_port()
    process = start_process(
        "dagster-webserver",
        [
            str(BIN / "dagster-webserver"),
            "-w",
            str(workspace),
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
