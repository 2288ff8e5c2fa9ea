"""``jrn-dagster webhooks serve`` as a real process: refuses to start when it cannot store safely,
serves with GitHub's 25 MB limit, logs structured lines without secrets, stops on SIGTERM."""

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.webhooks.deliveries import MAX_PAYLOAD_BYTES
from jrn_dagster_tests.support.databases import temporary_postgres_database
from jrn_dagster_tests.support.github import (
    DEFAULT_SECRET,
    WEBHOOK_PATH,
    delivery_headers,
    encode,
    new_delivery_id,
    push_payload,
    send_push,
    sign,
)
from jrn_dagster_tests.support.receiver import (
    CLI,
    STARTUP_SECONDS,
    receiver_environment,
    serving_receiver_process,
    stored_events,
)


def _serve_once(database_url: str, secret: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "webhooks", "serve", "--port", "0"],
        env=receiver_environment(database_url, secret),
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )


@pytest.mark.parametrize("secret", [None, "   "])
def test_refuses_to_start_without_a_secret(tmp_path: Path, secret: str | None) -> None:
    # Checked before the database is opened: no database is touched.
    result = _serve_once(f"sqlite:///{tmp_path / 'never-created.sqlite'}", secret)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: JRN_WEBHOOK_SECRET is not set: the receiver refuses to start without the "
        "secret configured on the GitHub webhook"
    )
    assert not (tmp_path / "never-created.sqlite").exists()


@pytest.fixture
def unmigrated_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    if make_url(database_url).get_backend_name() == "sqlite":
        (tmp_path / "empty.sqlite").touch()  # a SQLite database without tables
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    with temporary_postgres_database("jrn_unmigrated") as url:
        yield url


def test_refuses_to_start_on_a_database_without_the_schema(unmigrated_database_url: str) -> None:
    result = _serve_once(unmigrated_database_url, DEFAULT_SECRET)

    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: database ")
    assert last.endswith("run `jrn-dagster db upgrade`")


def test_refuses_to_start_when_the_database_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _serve_once(f"postgresql://postgres@127.0.0.1:{port}/nowhere", DEFAULT_SECRET)

    assert result.returncode == 1
    assert "is unavailable" in result.stderr.strip().splitlines()[-1]


def _status_for_declared_length(base_url: str, length: int) -> bytes:
    """Send only the headers of a request declaring ``length`` bytes; the status line back."""
    url = httpx.URL(base_url)
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {url.host}\r\nContent-Type: application/json\r\n"
        f"X-GitHub-Event: push\r\nX-GitHub-Delivery: {new_delivery_id()}\r\n"
        f"X-Hub-Signature-256: {sign(b'')}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.host, url.port or 80), timeout=10) as connection:
        connection.sendall(head)
        return connection.recv(4096).split(b"\r\n", 1)[0]


def test_serves_with_the_25_mb_limit_and_stops_on_sigterm(
    database_url: str, database: Database
) -> None:
    with serving_receiver_process(database_url) as (base_url, process, lines):
        with httpx.Client(base_url=base_url, timeout=60) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            assert send_push(client).status_code == 201

            body = encode(push_payload(branch="big"))
            at_limit = body + b" " * (MAX_PAYLOAD_BYTES - len(body))
            response = client.post(
                WEBHOOK_PATH, content=at_limit, headers=delivery_headers(at_limit)
            )
            assert response.status_code == 201, response.text
        assert MAX_PAYLOAD_BYTES == 25 * 1024 * 1024
        assert _status_for_declared_length(base_url, MAX_PAYLOAD_BYTES + 1) == (
            b"HTTP/1.1 413 Request Entity Too Large"
        )

        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught; on a loaded machine
        # it was seen ending with 0 instead. Either way it stopped, and nothing was lost.
        assert process.wait(timeout=STARTUP_SECONDS) in (0, -signal.SIGTERM)

    assert len(stored_events(database)) == 2
    log = "".join(lines)
    access = [line for line in lines if "logger=jrn_dagster.webhooks.access" in line]
    assert len(access) == 4
    assert "Finished server process" in log
    assert all(line.startswith("ts=") and " status=" in line for line in access)
    assert DEFAULT_SECRET not in log
    assert "sha256=" not in log
