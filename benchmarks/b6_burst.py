"""B6: a burst of 50 pushes of one source bound to 5 spaces, seen in one sensor tick.

Coalesced (the sensor): one run per space covering the whole range (base of the oldest push to
head of the newest), 5 runs. Baseline, measured in the same run on the same data: one run per
(push, space), what the sensor requested before bursts were coalesced (250 runs).

Measured on a real ``DagsterInstance`` whose storage is PostgreSQL (dagster-postgres), not
through the ``dagster-daemon``: the sensor's evaluation (``webhook_event_sensor`` with
``build_sensor_context``), then the creation of every requested run with its execution plan
snapshot (``create_run_for_job``), which is most of the daemon's per-request cost; the daemon
adds a round trip to the code server per request and the move to the queue.

With ``--daemon``: the same through a real ``dagster dev`` (daemon, code server, webserver) on a
PostgreSQL instance whose run queue never dequeues (``max_concurrent_runs: 0``): a burst of
chained pushes, then as many pushes that chain with nothing (one run per (push, space)); the
duration of each sensor tick that requested runs, as Dagster records it.

    .venv/bin/python -m benchmarks.b6_burst [--pushes 50] [--spaces 5] [--daemon]
"""

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SensorResult,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.storage.tags import PARTITION_NAME_TAG
from psycopg import sql
from sqlalchemy import make_url

from benchmarks.support import POSTGRES_SERVER_URL, scratch_postgres
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.push_payload import push_payload
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.jobs import SPACES, cli_impact
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.sensors import EVENTS_PER_TICK, run_request, webhook_event_sensor
from jrn_dagster.services.sensor_tick import PlannedRun, plan_tick
from jrn_dagster_tests.support.dagster_dev import (
    LOCATION_NAME,
    POSTGRES_INSTANCE_YAML,
    clean_environment,
    postgres_instance_environment,
    start_dagster_dev,
)
from jrn_dagster_tests.support.dagster_graphql import Tick, wait_for

COORDINATE = RepoCoordinate("github.com", "acme", "widgets")


def sha(n: int) -> str:
    return f"{n:040x}"


def populate(database: Database, *, pushes: int, spaces: int) -> list[str]:
    """One token integration, one source on main bound to ``spaces`` spaces, and a chain of
    ``pushes`` pushes (each starting where the previous ended). Returns the space slugs."""
    slugs = [f"space-{i}" for i in range(spaces)]
    with database.unit_of_work() as uow:
        uow.integrations.add_token("gh", token_env="GH_TOKEN")
        uow.sources.add("widgets", repo=str(COORDINATE), branch="main", integration="gh")
        for slug in slugs:
            uow.spaces.add(slug)
            uow.spaces.bind(slug, "widgets")
        uow.commit()
    store_pushes(database, [(sha(n + 1), sha(n + 2)) for n in range(pushes)])
    return slugs


def store_pushes(database: Database, pushes: list[tuple[str, str]]) -> None:
    with database.unit_of_work() as uow:
        for before, after in pushes:
            uow.events.store(
                delivery_id=str(uuid.uuid4()),
                event_type="push",
                payload=push_payload(COORDINATE, ref="refs/heads/main", before=before, after=after),
                headers={},
            )
        uow.commit()


@contextmanager
def empty_postgres_database() -> Iterator[str]:
    """An empty database for Dagster's own storage (dagster-postgres migrates it), dropped
    afterwards; its URL on psycopg2 (deploy/dagster.postgres.yaml says why)."""
    name = f"jrn_bench_dagster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(POSTGRES_SERVER_URL)
            .set(drivername="postgresql+psycopg2", database=name)
            .render_as_string(False)
        )
    finally:
        with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def dagster_instance_on_postgres() -> Iterator[DagsterInstance]:
    with (
        empty_postgres_database() as url,
        instance_for_test(overrides={"storage": {"postgres": {"postgres_url": url}}}) as instance,
    ):
        yield instance


def evaluate(instance: DagsterInstance, database: Database) -> tuple[SensorResult, float]:
    start = time.perf_counter()
    with build_sensor_context(
        instance=instance, resources={"database": DatabaseResource(url=database.url)}
    ) as context:
        result = webhook_event_sensor(context)
    assert isinstance(result, SensorResult)
    return result, time.perf_counter() - start


def one_run_per_push(database: Database) -> list[RunRequest]:
    """The requests of the same tick without coalescing: one per (push, space)."""
    plan = plan_tick(database, EventCursor(), batch_size=EVENTS_PER_TICK, now=time.time())
    requests = []
    for match in plan.matches:
        for params in match.params:
            for space_id in params.affected_space_ids:
                slug = match.space_slugs[space_id]
                key = f"{params.source_id}@{match.event_id}|{slug}"
                requests.append(
                    run_request(PlannedRun(key, slug, space_id, (match.event_id,), params))
                )
    return requests


def create_runs(instance: DagsterInstance, requests: list[RunRequest]) -> float:
    """Create every requested run as the daemon does before it queues it (with the job and
    execution plan snapshots; a queued status would need the code server's job origin)."""
    start = time.perf_counter()
    for request in requests:
        slug = request.partition_key or ""
        instance.create_run_for_job(
            job_def=cli_impact,
            run_config=request.run_config,
            tags={
                **request.tags,
                "dagster/run_key": request.run_key or "",
                PARTITION_NAME_TAG: slug,
            },
            status=DagsterRunStatus.NOT_STARTED,
        )
    return time.perf_counter() - start


def through_the_daemon(pushes: int, spaces: int) -> None:
    """Sensor ticks as the daemon runs them (docs/benchmarks.md, B6)."""
    with (
        scratch_postgres() as database,
        empty_postgres_database() as dagster_storage_url,
        tempfile.TemporaryDirectory() as root,
    ):
        populate(database, pushes=0, spaces=spaces)
        home = Path(root) / "dagster_home"
        home.mkdir()
        # The queue never dequeues: the runs stay queued, the tick's cost is the daemon's alone.
        (home / "dagster.yaml").write_text(
            POSTGRES_INSTANCE_YAML.read_text().replace(
                "max_concurrent_runs: 20", "max_concurrent_runs: 0"
            )
        )
        env = {
            **clean_environment(),
            **postgres_instance_environment(dagster_storage_url),
            "DAGSTER_HOME": str(home),
            "JRN_DATABASE_URL": database.url,
            "JRN_SANDBOX": "local",
            "JRN_LOCAL_SANDBOX_DIR": str(Path(root) / "sandboxes"),
            "JRN_CLONE_URL_TEMPLATE": "file:///nonexistent/{host}/{owner}/{repo}.git",
        }
        dagster = start_dagster_dev(env=env, log_path=Path(root) / "dagster-dev.log")
        try:
            dagster.wait_until_loaded()
            selector = {
                "repositoryName": dagster.repository_name,
                "repositoryLocationName": LOCATION_NAME,
                "sensorName": webhook_event_sensor.name,
            }
            seen: set[str] = set()
            offset = 10 * pushes
            phases = [
                ("burst (chained)", [(sha(n + 1), sha(n + 2)) for n in range(pushes)]),
                (
                    "unchained",
                    [(sha(offset + 2 * n + 1), sha(offset + 2 * n + 2)) for n in range(pushes)],
                ),
            ]
            print(
                f"B6 through dagster-daemon: {pushes} pushes of one source, {spaces} spaces "
                "(PostgreSQL instance, runs left queued)"
            )
            for name, phase in phases:
                store_pushes(database, phase)

                def tick_with_runs() -> Tick | None:
                    for tick in dagster.graphql.sensor_ticks(selector, limit=5):
                        if tick.run_ids and tick.end_timestamp and tick.tick_id not in seen:
                            return tick
                    return None

                tick = wait_for(tick_with_runs, timeout_seconds=900, what=f"a {name} tick")
                seen.add(tick.tick_id)
                duration = (tick.end_timestamp or tick.timestamp) - tick.timestamp
                runs = len(tick.run_ids)
                print(
                    f"  {name:16}: {runs:4d} runs, tick {duration:7.2f} s "
                    f"({duration / runs * 1000:.0f} ms per run request)"
                )
        finally:
            dagster.process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=50)
    parser.add_argument("--spaces", type=int, default=5)
    parser.add_argument("--daemon", action="store_true", help="through a real dagster-daemon")
    args = parser.parse_args()
    if args.daemon:
        through_the_daemon(args.pushes, args.spaces)
        return
    with scratch_postgres() as database:
        slugs = populate(database, pushes=args.pushes, spaces=args.spaces)
        with dagster_instance_on_postgres() as instance:
            instance.add_dynamic_partitions(SPACES, slugs)
            evaluate(instance, database)  # warm: imports, the resource's engine
            result, sensor_seconds = evaluate(instance, database)
            coalesced = list(result.run_requests or [])
            baseline = one_run_per_push(database)
            assert len(coalesced) == args.spaces, len(coalesced)
            covered = {r.tags.get("jrn/event_ids", r.tags["jrn/event_id"]) for r in coalesced}
            assert len(covered) == 1 and len(next(iter(covered)).split(",")) == args.pushes
            assert len(baseline) == args.pushes * args.spaces
            ours_seconds = create_runs(instance, coalesced)
            base_seconds = create_runs(instance, baseline)
    ours_total = sensor_seconds + ours_seconds
    base_total = sensor_seconds + base_seconds
    print(
        f"B6 burst: {args.pushes} pushes of one source, {args.spaces} spaces, one tick "
        "(PostgreSQL; Dagster storage on PostgreSQL)"
    )
    print(f"  sensor evaluation          : {sensor_seconds * 1000:8.1f} ms")
    print(
        f"  coalesced : {len(coalesced):4d} runs  created in {ours_seconds * 1000:8.1f} ms "
        f"({ours_seconds / len(coalesced) * 1000:.1f} ms/run), tick total {ours_total:.2f} s"
    )
    print(
        f"  baseline  : {len(baseline):4d} runs  created in {base_seconds * 1000:8.1f} ms "
        f"({base_seconds / len(baseline) * 1000:.1f} ms/run), tick total {base_total:.2f} s"
    )
    print(f"  ratio     : {base_total / ours_total:.1f}x less tick time")
    for request in coalesced[:1]:
        print(f"  e.g. run key {request.run_key}, head {request.tags['jrn/head_sha'][-12:]}")


if __name__ == "__main__":
    main()
