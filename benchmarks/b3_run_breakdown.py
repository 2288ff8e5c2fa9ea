"""B3: wall time of one ``cli_impact`` run on the local sandbox and a small repository, split
into Dagster overhead, sandbox and git, and the ops' own work.

Each sample pushes one commit to the demo repository, evaluates the sensor and runs the
requested run for the ``api-docs`` space in process (SQLite, local sandbox). Baseline, in the
same run: a job of six no-op ops, i.e. what Dagster costs per run with nothing to do.

    .venv/bin/python -m benchmarks.b3_run_breakdown [--samples 5]
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    Definitions,
    In,
    Nothing,
    instance_for_test,
    job,
    op,
)

from jrn_dagster.adapters.local_sandbox import LocalSandbox
from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import clone_url_template
from jrn_dagster.demo.runner import QUIET_CONSOLE, evaluate_sensor, requests_of
from jrn_dagster.demo.scenario import API_SPACE, ensure_world, push_change
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.jobs import cli_impact
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.resources.agent import NoticeAgentResource
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import LocalSandboxResource

SANDBOX_SECONDS: list[float] = []


def _timed(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            SANDBOX_SECONDS.append(time.perf_counter() - start)

    return wrapper


# Every command (git included) and every file operation in the sandbox is timed.
for _name in ("_execute", "write_file", "read_file", "list_files", "remove"):
    setattr(LocalSandbox, _name, _timed(getattr(LocalSandbox, _name)))


@op
def noop_first() -> None:
    pass


@op(ins={"start": In(Nothing)})
def noop_next() -> None:
    pass


@job
def six_noops() -> None:
    noop_next.alias("n5")(noop_next.alias("n4")(noop_next.alias("n3")(
        noop_next.alias("n2")(noop_next.alias("n1")(noop_first())))))  # fmt: skip


def step_seconds(instance: DagsterInstance, run_id: str) -> float:
    total = 0.0
    for record in instance.get_records_for_run(
        run_id, of_type=DagsterEventType.STEP_SUCCESS
    ).records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.event_specific_data is not None:
            total += event.event_specific_data.duration_ms / 1000  # type: ignore[attr-defined]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, instance_for_test(temp_dir=tmp) as instance:
        root = Path(tmp)
        database = Database(f"sqlite:///{root}/jrn.sqlite")
        upgrade(database)
        (root / "git").mkdir()
        world = ensure_world(database, root / "git")
        resources = {
            "database": DatabaseResource(url=database.url),
            "sandbox": LocalSandboxResource(base_dir=str(root / "sandboxes")),
            "repository_access": RepositoryAccessResource(
                clone_url_template=clone_url_template(root / "git")
            ),
            "agent": NoticeAgentResource(),
        }
        job_def = Definitions(jobs=[cli_impact], resources=with_run_sandbox(resources)).get_job_def(
            "cli_impact"
        )
        six_noops.execute_in_process(instance=instance)  # warm both paths once
        rows = []
        for _ in range(args.samples + 1):
            event = push_change(database, world)
            tick = evaluate_sensor(
                instance, resources, EventCursor(last_id=event.id - 1).serialize()
            )
            [request] = [r for r in requests_of(tick) if r.partition_key == API_SPACE]
            SANDBOX_SECONDS.clear()
            start = time.perf_counter()
            result = job_def.execute_in_process(
                run_config={**request.run_config, "loggers": QUIET_CONSOLE},
                partition_key=API_SPACE,
                tags=request.tags,
                instance=instance,
            )
            total = time.perf_counter() - start
            steps = step_seconds(instance, result.run_id)
            sandbox = sum(SANDBOX_SECONDS)
            start = time.perf_counter()
            six_noops.execute_in_process(instance=instance, run_config={"loggers": QUIET_CONSOLE})
            baseline = time.perf_counter() - start
            rows.append((total, total - steps, sandbox, steps - sandbox, baseline))
        rows = rows[1:]  # the first run warms imports and caches
    median = [statistics.median(column) for column in zip(*rows, strict=True)]
    total, overhead, sandbox, own, baseline = median
    print(f"B3 one cli_impact run (local sandbox, demo repository, SQLite), median of {len(rows)}:")
    print(f"  total            : {total * 1000:7.0f} ms")
    print(f"  Dagster overhead : {overhead * 1000:7.0f} ms ({overhead / total:5.1%})")
    print(f"  sandbox and git  : {sandbox * 1000:7.0f} ms ({sandbox / total:5.1%})")
    print(f"  ops' own work    : {own * 1000:7.0f} ms ({own / total:5.1%})")
    print(
        f"  baseline (6 no-op ops): {baseline * 1000:7.0f} ms; "
        f"run / baseline = {total / baseline:.1f}x"
    )


if __name__ == "__main__":
    main()
