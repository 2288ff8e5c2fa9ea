"""Many unverified bodies at once cannot exhaust the receiver's memory: the bytes it holds for
bodies whose signature is not checked yet are bounded (docs/webhooks.md, "Limits").

Measured on the real ``jrn-dagster webhooks serve`` process: its peak resident memory (the
kernel's ``VmHWM``) while ten 24 MiB bodies with a wrong signature arrive at once, half with a
``Content-Length``, half chunked. Without the bound the receiver held all of them (about 240 MiB
more; 90 -> 326 MB was measured); with it, at most the bound is held and the rest get a 503.
"""

import socket
import threading
from pathlib import Path

import httpx

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.webhooks.app import DEFAULT_MAX_UNVERIFIED_BYTES
from jrn_dagster_tests.support.github import WEBHOOK_PATH, delivery_headers
from jrn_dagster_tests.support.receiver import serving_receiver_process, stored_events

MIB = 1024 * 1024
BODY = b"{" + b" " * (24 * MIB - 2) + b"}"
SENDERS = 10
# Interpreter, buffers of the socket layer, a few MiB per connection in flight.
SLACK = 48 * MIB


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def _send(base_url: str, *, chunked: bool, statuses: list[int]) -> None:
    """One delivery with a wrong signature; records the status (0: no answer)."""
    url = httpx.URL(base_url)
    headers = delivery_headers(b"not this body")
    headers["Transfer-Encoding" if chunked else "Content-Length"] = (
        "chunked" if chunked else str(len(BODY))
    )
    head = f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {url.host}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    status = 0
    with socket.create_connection((url.host, url.port or 80), timeout=60) as connection:
        try:
            connection.sendall(head.encode() + b"\r\n")
            for start in range(0, len(BODY), MIB):
                piece = BODY[start : start + MIB]
                framed = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                connection.sendall(framed)
            if chunked:
                connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # answered (503) and closed while we were still sending
        try:
            status = int(connection.recv(4096).split(b" ", 2)[1])
        except (OSError, IndexError, ValueError):
            status = 0
    statuses.append(status)


def test_many_concurrent_unverified_bodies_keep_the_receiver_within_its_bound(
    database_url: str, database: Database
) -> None:
    with serving_receiver_process(database_url) as (base_url, process, _):
        with httpx.Client(base_url=base_url) as client:
            assert client.get("/healthz").status_code == 200  # warmed up
        before_kib = _memory_kib(process.pid, "VmRSS")
        statuses: list[int] = []
        senders = [
            threading.Thread(
                target=_send, args=(base_url,), kwargs={"chunked": n % 2 == 1, "statuses": statuses}
            )
            for n in range(SENDERS)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=120)
        peak_kib = _memory_kib(process.pid, "VmHWM")

    grown = (peak_kib - before_kib) * 1024
    print(  # the figure docs/webhooks.md quotes
        f"receiver RSS {before_kib / 1024:.0f} MiB before, peak {peak_kib / 1024:.0f} MiB "
        f"with {SENDERS} x {len(BODY) // MIB} MiB unverified bodies; statuses {sorted(statuses)}"
    )
    assert grown <= DEFAULT_MAX_UNVERIFIED_BYTES + SLACK, f"grew by {grown / MIB:.0f} MiB"
    assert len(statuses) == SENDERS
    assert set(statuses) <= {401, 503}, statuses  # read and refused, or refused unread
    assert 401 in statuses and 503 in statuses, statuses
    assert stored_events(database) == []
