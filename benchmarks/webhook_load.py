"""Webhook receiver throughput: durable, deduplicated storage against a no-storage baseline.

    .venv/bin/python -m benchmarks.webhook_load
    .venv/bin/python -m benchmarks.webhook_load --deliveries 4000 --redeliveries 1200

For each database (SQLite file, PostgreSQL on 127.0.0.1:5432) the receiver runs as the CLI runs
it (``jrn-dagster webhooks serve``, its own process) and a client process sends, over 100
keep-alive connections:

- baseline: signed ``ping`` deliveries: the whole request path (body read, HMAC, JSON parse,
  validation) except the database;
- health: ``GET /healthz`` (one indexed read);
- push: distinct signed push deliveries mixed with redeliveries of some of them (each one a
  committed transaction, or a dedup lookup).

The ratio push / baseline is the cost of storing each delivery durably before answering.
"""

import argparse
import asyncio
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster_tests.support.databases import temporary_postgres_database
from jrn_dagster_tests.support.github import (
    DEFAULT_SECRET,
    WEBHOOK_PATH,
    delivery_headers,
    encode,
)
from jrn_dagster_tests.support.load_client import (
    LoadRequest,
    mixed_push_deliveries,
    send_concurrently,
)

CLI = str(Path(sys.executable).parent / "jrn-dagster")


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgresql":
        with temporary_postgres_database("jrn_bench") as url:
            _migrate(url)
            yield url
        return
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        _migrate(url)
        yield url


def _migrate(url: str) -> None:
    db = Database(url)
    upgrade(db)
    db.dispose()


@contextmanager
def receiver(url: str) -> Iterator[str]:
    """``jrn-dagster webhooks serve --port 0``; yields its base URL."""
    env = {**os.environ, "JRN_DATABASE_URL": url, "JRN_WEBHOOK_SECRET": DEFAULT_SECRET}
    process = subprocess.Popen(
        [CLI, "webhooks", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    found: queue.Queue[str] = queue.Queue()

    def read_log() -> None:
        assert process.stderr is not None
        for line in process.stderr:  # drained to the end, so the access log never blocks
            if "webhook receiver listening" in line:
                found.put(line.split("url=", 1)[1].split()[0].removesuffix(WEBHOOK_PATH))

    threading.Thread(target=read_log, daemon=True).start()
    try:
        yield found.get(timeout=30)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@dataclass(frozen=True)
class Timing:
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    statuses: Counter


def timed(base_url: str, requests: list[LoadRequest], connections: int) -> Timing:
    url = httpx.URL(base_url)
    latencies: list[float] = []
    started = time.perf_counter()
    statuses = asyncio.run(
        send_concurrently(
            url.host, url.port or 80, requests, connections=connections, latencies=latencies
        )
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return Timing(
        rate=len(requests) / elapsed,
        p50_ms=1000 * ordered[len(ordered) // 2],
        p99_ms=1000 * ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))],
        statuses=Counter(statuses),
    )


def pings(count: int) -> list[LoadRequest]:
    body = encode({"zen": "Design for failure.", "hook_id": 1, "hook": {"type": "Repository"}})
    return [
        LoadRequest("POST", WEBHOOK_PATH, body, delivery_headers(body, event="ping"))
        for _ in range(count)
    ]


def pushes(count: int, redeliveries: int, rng: random.Random) -> list[LoadRequest]:
    return mixed_push_deliveries(count, redeliveries, rng, salt=f"bench:{rng.random()}")


def stored_count(url: str) -> int:
    db = Database(url)
    try:
        with db.unit_of_work() as uow:
            return len(uow.events.after(0, limit=10_000_000))
    finally:
        db.dispose()


def run(kind: str, deliveries: int, redeliveries: int, connections: int) -> dict[str, Timing]:
    rng = random.Random(7)
    total = deliveries + redeliveries
    with database(kind) as url, receiver(url) as base_url:
        timed(base_url, pings(200), connections)  # warm up connections and code paths
        baseline = timed(base_url, pings(total), connections)
        health = timed(base_url, [LoadRequest("GET", "/healthz")] * total, connections)
        push = timed(base_url, pushes(deliveries, redeliveries, rng), connections)
        rows = stored_count(url)
    assert baseline.statuses == {200: total}, baseline.statuses
    assert health.statuses == {200: total}, health.statuses
    assert push.statuses == {201: deliveries, 200: redeliveries}, push.statuses
    assert rows == deliveries, rows
    return {"baseline": baseline, "health": health, "push": push}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--redeliveries", type=int, default=600)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()

    print(
        f"{args.deliveries} distinct push deliveries + {args.redeliveries} redeliveries, "
        f"{args.connections} connections, cpus={os.cpu_count()}"
    )
    print(
        f"{'database':<11} {'baseline req/s':>15} {'health req/s':>13} {'push req/s':>11} "
        f"{'push p50 ms':>12} {'push p99 ms':>12} {'push/baseline':>14}"
    )
    for kind in args.databases.split(","):
        timings = run(kind, args.deliveries, args.redeliveries, args.connections)
        baseline, health, push = timings["baseline"], timings["health"], timings["push"]
        print(
            f"{kind:<11} {baseline.rate:>15.0f} {health.rate:>13.0f} {push.rate:>11.0f} "
            f"{push.p50_ms:>12.0f} {push.p99_ms:>12.0f} {push.rate / baseline.rate:>14.2f}"
        )


if __name__ == "__main__":
    main()
