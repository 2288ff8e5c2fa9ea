"""A lean HTTP/1.1 load client: many keep-alive connections, requests spread over them.

httpx's AsyncClient spends ~5-10 ms of CPU per request under concurrency, which would measure
the client instead of the receiver; this client writes each request in one send and reads the
response by its Content-Length, nothing more.
"""

import asyncio
import random
import time
from dataclasses import dataclass, field

from jrn_dagster_tests.support.github import (
    WEBHOOK_PATH,
    delivery_headers,
    encode,
    new_delivery_id,
    push_payload,
    sha_for,
)


@dataclass(frozen=True, slots=True)
class LoadRequest:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


async def send_concurrently(
    host: str,
    port: int,
    requests: list[LoadRequest],
    *,
    connections: int = 100,
    latencies: list[float] | None = None,
) -> list[int]:
    """Send every request over ``connections`` parallel connections; the status of each.

    ``latencies``: filled with each request's seconds from its first byte sent to its response
    read (in request order), for the benchmarks' percentiles."""
    statuses = [0] * len(requests)
    seconds = [0.0] * len(requests)
    pending: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(requests)):
        pending.put_nowait(index)

    async def connection_worker() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            while not pending.empty():
                index = pending.get_nowait()
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                started = time.perf_counter()
                writer.write(requests[index].encode(host))
                await writer.drain()
                statuses[index], close = await _read_response(reader)
                seconds[index] = time.perf_counter() - started
                if close:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(connection_worker() for _ in range(connections)))
    if latencies is not None:
        latencies[:] = seconds
    return statuses


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers.get("connection", "").lower() == "close"


def mixed_push_deliveries(
    count: int, redeliveries: int, rng: random.Random, *, salt: str = "load"
) -> list[LoadRequest]:
    """``count`` distinct signed pushes plus ``redeliveries`` of them (same delivery id), in a
    random order: what a busy receiver sees when GitHub deliveries are replayed."""
    originals = []
    for number in range(count):
        body = encode(
            push_payload(
                owner=f"org{number % 7}",
                repo=f"repo{number % 13}",
                branch=f"feature/{number % 5}",
                after=sha_for(f"{salt}:{number}"),
            )
        )
        headers = delivery_headers(body, delivery_id=new_delivery_id())
        originals.append(LoadRequest("POST", WEBHOOK_PATH, body, headers))
    mixed = originals + rng.sample(originals, redeliveries)
    rng.shuffle(mixed)
    return mixed
