"""A real webhook receiver for tests: uvicorn on a free loopback port, in a background thread
(``running_receiver``), or ``jrn-dagster webhooks serve`` as a process
(``serving_receiver_process``)."""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.webhooks.app import create_app
from jrn_dagster.webhooks.server import uvicorn_config
from jrn_dagster_tests.support.github import DEFAULT_SECRET, WEBHOOK_PATH

STARTUP_TIMEOUT_SECONDS = 10


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with the production uvicorn settings; yields the base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="receiver", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test receiver did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        listener.close()


@contextmanager
def running_receiver(
    database_url: str,
    *,
    secret: str = DEFAULT_SECRET,
    timeout_seconds: float | None = 2.0,
    **app_options: Any,
) -> Iterator[httpx.Client]:
    """A receiver storing into ``database_url``; yields an HTTP client pointed at it.

    ``timeout_seconds`` bounds the receiver's database waits (as ``--database-timeout`` does).
    """
    database = Database(database_url, timeout_seconds=timeout_seconds)
    try:
        app = create_app(database, secret, **app_options)
        with running_server(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
            yield client
    finally:
        database.dispose()


STARTUP_SECONDS = 30
# The installed console script, as users run it.
CLI = [str(Path(sys.executable).parent / "jrn-dagster")]


def receiver_environment(database_url: str, secret: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"JRN_WEBHOOK_SECRET"}}
    env["JRN_DATABASE_URL"] = database_url
    if secret is not None:
        env["JRN_WEBHOOK_SECRET"] = secret
    return env


@contextmanager
def serving_receiver_process(
    database_url: str,
) -> Iterator[tuple[str, subprocess.Popen[str], list[str]]]:
    """The receiver as a process; yields (base URL, process, stderr lines so far)."""
    process = subprocess.Popen(
        [*CLI, "webhooks", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=receiver_environment(database_url, DEFAULT_SECRET),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    urls: queue.Queue[str] = queue.Queue()

    def collect() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "webhook receiver listening" in line:
                urls.put(line.split("url=", 1)[1].split()[0].removesuffix(WEBHOOK_PATH))

    collector = threading.Thread(target=collect, daemon=True)
    collector.start()
    try:
        yield urls.get(timeout=STARTUP_SECONDS), process, lines
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STARTUP_SECONDS)
        collector.join(timeout=STARTUP_SECONDS)  # every line read once the pipe closes


def stored_events(database: Database) -> list[WebhookEvent]:
    """Every stored event, oldest first."""
    with database.unit_of_work() as uow:
        return uow.events.after(0, limit=100_000)
