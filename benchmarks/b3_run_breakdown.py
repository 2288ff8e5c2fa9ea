"""B3: wall time of one ``cli_impact`` run on the local sandbox and a small repository, split
into Dagster overhead, sandbox and git, and the ops' own work.

Each sample pushes one commit to the demo repository, evaluates the sensor and runs the
requested run for the ``api-docs`` space in process (SQLite, local sandbox). Baseline, in the
same run: a job of six no-op ops, i.e. what Dagster costs per run with nothing to do.

Then the same run through Dagster's processes, on the code location ``jrn_dagster.definitions``
(what a deployment runs), each sample a new push:

- ``dagster job execute``: one process that imports the code location and executes the run;
- launched: ``dagster job launch`` (which loads the code location in a code server) and the run
  worker that the default run launcher starts (``dagster api execute_run``, which imports it
  again), timed from the command's start to the run's end;
- the import time of ``dagster`` alone and of the code location beyond it, in fresh processes;
- launched from a running ``dagster-webserver`` (a UI launch: the webserver process launches
  the run), once with Dagster's default run launcher (the code server starts a new
  interpreter per run) and once with ``jrn_dagster.run_launcher.ForkRunLauncher`` (the run
  worker is forked from a warm zygote). The first launch of each is reported apart: it starts
  the zygote.

    .venv/bin/python -m benchmarks.b3_run_breakdown [--samples 5] [--process-samples 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    In,
    Nothing,
    job,
    op,
)
from dagster_graphql import DagsterGraphQLClient

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
from jrn_dagster_tests.support.dagster_dev import LOCATION_NAME, PROJECT_ROOT
from jrn_dagster_tests.support.topology import start_webserver

SANDBOX_SECONDS: list[float] = []
BIN = Path(sys.executable).parent
# Launched runs start at once (the default run coordinator): the daemon's queue, which a
# deployment uses (dagster.yaml), adds its polling interval and is not measured here.
INSTANCE_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""
LAUNCHED_RUN_TIMEOUT_SECONDS = 300
FORK_LAUNCHER_YAML = """\
run_launcher:
  module: jrn_dagster.run_launcher
  class: ForkRunLauncher
  config:
    preload_modules: [jrn_dagster.definitions]
"""
_IMPORT_PROBE = (
    "import time; t0 = time.perf_counter(); import dagster; t1 = time.perf_counter(); "
    "import jrn_dagster.definitions; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
)


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


def import_seconds(environ: dict[str, str], samples: int) -> tuple[float, float]:
    """Median (dagster alone, code location beyond it) over fresh processes."""
    rows = []
    for _ in range(samples):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE],
            env=environ,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        rows.append((float(out[0]), float(out[1])))
    dagster_alone, beyond = (statistics.median(column) for column in zip(*rows, strict=True))
    return dagster_alone, beyond


def run_in_processes(
    instance: DagsterInstance, environ: dict[str, str], request: Any, *, launch: bool
) -> float:
    """Seconds from ``dagster job execute`` / ``dagster job launch`` starting to the run's end."""
    run_id = str(uuid.uuid4())
    tags = json.dumps({**request.tags, "dagster/partition": API_SPACE})
    config = json.dumps({**request.run_config, "loggers": QUIET_CONSOLE})
    location = ["-m", "jrn_dagster.definitions", "-j", cli_impact.name, "--tags", tags]
    start = time.perf_counter()
    if launch:
        command = [str(BIN / "dagster"), "job", "launch", *location, "--config-json", config]
        subprocess.run([*command, "--run-id", run_id], env=environ, check=True, **_QUIET)
        return wait_until_finished(instance, run_id, start)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config_file:
        config_file.write(config)  # JSON is YAML
    command = [str(BIN / "dagster"), "job", "execute", *location, "-c", config_file.name]
    subprocess.run(command, env=environ, check=True, **_QUIET)
    Path(config_file.name).unlink()
    [run] = instance.get_runs(limit=1)
    return wait_until_finished(instance, run.run_id, start)


_QUIET: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def wait_until_finished(instance: DagsterInstance, run_id: str, start: float) -> float:
    """Seconds from ``start`` until the run succeeded (raises if it did not)."""
    while True:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            break
        if time.perf_counter() - start > LAUNCHED_RUN_TIMEOUT_SECONDS:
            raise RuntimeError(f"launched run {run_id} did not finish: {run and run.status}")
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if run.status is not DagsterRunStatus.SUCCESS:
        raise RuntimeError(f"run {run_id} did not succeed: {run.status}")
    return elapsed


def launched_from_webserver(
    root: Path,
    environ: dict[str, str],
    instance_yaml: str,
    next_request: Callable[[], Any],
    *,
    samples: int,
    in_process: Callable[[], float],
) -> tuple[float, list[tuple[float, float]]]:
    """(first launch, the next ``samples`` paired with an in-process run) in seconds: each
    launch from the GraphQL request to the run's end, through a ``dagster-webserver`` whose
    instance is ``instance_yaml``, then the same run in process right after it (the VM's speed
    drifts within minutes: a ratio of neighbours is steadier than a ratio of medians taken
    minutes apart)."""
    home = Path(tempfile.mkdtemp(dir=root, prefix="webserver-home-"))
    (home / "dagster.yaml").write_text(instance_yaml)
    env = {**environ, "DAGSTER_HOME": str(home)}
    dagster = start_webserver(
        env=env, workspace=PROJECT_ROOT / "workspace.yaml", log_path=home / "webserver.log"
    )
    try:
        dagster.wait_until_loaded()
        port = int(dagster.url.rsplit(":", 1)[1])
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        pairs: list[tuple[float, float]] = []
        with DagsterInstance.from_config(str(home)) as instance:
            for _ in range(samples + 1):
                request = next_request()
                start = time.perf_counter()
                run_id = client.submit_job_execution(
                    cli_impact.name,
                    repository_location_name=LOCATION_NAME,
                    repository_name=dagster.repository_name,
                    run_config={**request.run_config, "loggers": QUIET_CONSOLE},
                    tags={**request.tags, "dagster/partition": API_SPACE},
                )
                launched = wait_until_finished(instance, run_id, start)
                pairs.append((launched, in_process()))
    finally:
        dagster.process.stop()
    return pairs[0][0], pairs[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--process-samples", type=int, default=3)
    parser.add_argument("--webserver-samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(INSTANCE_YAML)
        with DagsterInstance.from_config(str(home)) as instance:
            rows, processes, imports = measure(root, home, instance, args)
    report(rows, processes, imports)


def measure(
    root: Path, home: Path, instance: DagsterInstance, args: argparse.Namespace
) -> tuple[list[tuple[float, ...]], dict[str, float], tuple[float, float]]:
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
        tick = evaluate_sensor(instance, resources, EventCursor(last_id=event.id - 1).serialize())
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

    # The code location as a deployment loads it: everything from the environment.
    environ = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "JRN_DATABASE_URL": database.url,
        "JRN_CLONE_URL_TEMPLATE": clone_url_template(root / "git"),
        "JRN_LOCAL_SANDBOX_DIR": str(root / "sandboxes"),
    }
    environ.pop("JRN_AGENT_COMMAND", None)
    processes: dict[str, list[float]] = {"execute": [], "launch": []}
    for _ in range(args.process_samples):
        for path, seconds in processes.items():
            event = push_change(database, world)
            tick = evaluate_sensor(
                instance, resources, EventCursor(last_id=event.id - 1).serialize()
            )
            [request] = [r for r in requests_of(tick) if r.partition_key == API_SPACE]
            seconds.append(run_in_processes(instance, environ, request, launch=path == "launch"))
    imports = import_seconds(environ, max(3, args.process_samples))

    def next_request() -> Any:
        event = push_change(database, world)
        tick = evaluate_sensor(instance, resources, EventCursor(last_id=event.id - 1).serialize())
        [request] = [r for r in requests_of(tick) if r.partition_key == API_SPACE]
        return request

    def in_process() -> float:
        request = next_request()
        start = time.perf_counter()
        job_def.execute_in_process(
            run_config={**request.run_config, "loggers": QUIET_CONSOLE},
            partition_key=API_SPACE,
            tags=request.tags,
            instance=instance,
        )
        return time.perf_counter() - start

    medians = {path: statistics.median(s) for path, s in processes.items()}
    for path, instance_yaml in (
        ("webserver", INSTANCE_YAML),
        ("webserver-fork", INSTANCE_YAML + FORK_LAUNCHER_YAML),
    ):
        first, pairs = launched_from_webserver(
            root,
            environ,
            instance_yaml,
            next_request,
            samples=args.webserver_samples,
            in_process=in_process,
        )
        medians[f"{path}-first"] = first
        medians[path] = statistics.median(launched for launched, _ in pairs)
        medians[f"{path}-paired"] = statistics.median(launched / alone for launched, alone in pairs)
    return rows, medians, imports


def report(
    rows: list[tuple[float, ...]], processes: dict[str, float], imports: tuple[float, float]
) -> None:
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
    dagster_alone, beyond = imports
    print("The same run through Dagster's processes (code location jrn_dagster.definitions):")
    print(f"  import dagster                 : {dagster_alone * 1000:7.0f} ms")
    print(f"  import the code location beyond: {beyond * 1000:7.0f} ms")
    for path, label in (
        ("execute", "dagster job execute"),
        ("launch", "launched (job launch)"),
        ("webserver-first", "webserver, default: first"),
        ("webserver", "webserver, default launcher"),
        ("webserver-fork-first", "webserver, fork: first"),
        ("webserver-fork", "webserver, ForkRunLauncher"),
    ):
        seconds = processes[path]
        print(f"  {label:<31}: {seconds * 1000:7.0f} ms = {seconds / total:.1f}x in process")
    print("Launched from the webserver / the same run in process right after it (median of pairs):")
    for path, label in (("webserver", "default launcher"), ("webserver-fork", "ForkRunLauncher")):
        print(f"  {label:<31}: {processes[f'{path}-paired']:.2f}x")


if __name__ == "__main__":
    main()
