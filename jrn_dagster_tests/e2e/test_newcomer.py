"""A newcomer's first steps, as the README gives them, on a fresh ``DAGSTER_HOME``: the demo,
then the UI opened with the command the demo prints (``make dev ...``), checked through Dagster's
GraphQL API (docs/operations.md#from-the-demo-to-the-ui):

- the daemon's sensor goes on from the cursor the demo stored: it launches no run for the
  demo's events;
- runs launched from the UI have the demo's settings (``$DAGSTER_HOME/demo.env``): a backfill
  of both spaces, after a commit no webhook announced, clones the demo's repository and
  succeeds.
"""

import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from jrn_dagster import tags
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import LocalRemote
from jrn_dagster.demo.scenario import API_SPACE, COORDINATE, GUIDES_SPACE
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import SpaceRangeStatus
from jrn_dagster_tests.support.dagster_dev import (
    BIN,
    LOCATION_NAME,
    PROJECT_ROOT,
    DagsterDev,
    clean_environment,
)
from jrn_dagster_tests.support.dagster_graphql import DagsterGraphQL, RunSummary, Tick, wait_for
from jrn_dagster_tests.support.processes import ManagedProcess, free_port, start_process

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(480)]

JOB = "cli_impact"
SENSOR = "webhook_event_sensor"
PARTITION_SET = f"{JOB}_partition_set"
SPACES = [API_SPACE, GUIDES_SPACE]
DEMO_TIMEOUT_SECONDS = 180
RUN_TIMEOUT_SECONDS = 180
TICK_TIMEOUT_SECONDS = 90
ENDED = {"SUCCESS", "FAILURE", "CANCELED"}
BACKFILL_TAG = "dagster/backfill"
PARTITION_TAG = "dagster/partition"
RUN_LINE = re.compile(r"space (\S+) run ([0-9a-f-]{36}) ")


def test_demo_then_the_ui_it_prints(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"  # fresh: not even a dagster.yaml
    env = {**clean_environment(), "DAGSTER_HOME": str(home)}
    demo = subprocess.run(
        [str(BIN / "jrn-dagster"), "demo"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_SECONDS,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    output = demo.stdout + demo.stderr
    # Nothing raw from Dagster's loggers; the demo's deliberate warning says it is one.
    assert "dagster - INFO" not in output
    assert "BetaWarning" not in output
    # The home got the project's instance config, as `make demo` gives it: no fallback warning.
    assert (home / "dagster.yaml").read_text() == (PROJECT_ROOT / "dagster.yaml").read_text()
    assert "No dagster instance configuration file" not in output
    assert "expected: the demo's faq.md has a rule without a path" in demo.stdout
    demo_runs = dict(RUN_LINE.findall(demo.stdout))
    assert sorted(demo_runs) == SPACES, demo.stdout

    [command] = [
        line.strip() for line in demo.stdout.splitlines() if line.strip().startswith("make dev")
    ]
    assert shlex.split(command) == ["make", "dev", f"DAGSTER_HOME={home.resolve()}"]
    # No secret in the settings the demo leaves behind: file:// clone URLs take none.
    settings = (home / "demo.env").read_text()
    assert "JRN_CLONE_URL_TEMPLATE='file://" in settings
    assert "TOKEN" not in settings

    dagster = _start_printed_command(command, env, tmp_path / "logs" / "make-dev.log")
    try:
        dagster.wait_until_loaded()
        selector = {
            "repositoryName": dagster.repository_name,
            "repositoryLocationName": LOCATION_NAME,
            "sensorName": SENSOR,
        }
        _check_the_sensor_goes_on_after_the_demo(dagster, selector, demo_runs)
        _check_a_demo_run_re_executes(dagster, demo_runs[API_SPACE])
        _check_a_backfill_of_both_spaces_succeeds(dagster, home)
    except BaseException as error:
        error.add_note(dagster.process.tail())
        raise
    finally:
        dagster.graphql.close()
        dagster.process.stop()


def _start_printed_command(command: str, env: dict[str, str], log_path: Path) -> DagsterDev:
    """The printed command, on a free port (DEV_ARGS); ``make`` is told the virtualenv is
    installed (the test runs from it), so that nothing is reinstalled."""
    port = free_port()
    argv = [
        *shlex.split(command),
        f"DEV_ARGS=-h 127.0.0.1 -p {port}",
        "--assume-old=.venv/.installed",
    ]
    process: ManagedProcess = start_process(
        "make dev", argv, env=env, cwd=PROJECT_ROOT, log_path=log_path
    )
    url = f"http://127.0.0.1:{port}"
    return DagsterDev(process=process, url=url, graphql=DagsterGraphQL(url))


def _check_the_sensor_goes_on_after_the_demo(
    dagster: DagsterDev, selector: dict[str, str], demo_runs: dict[str, str]
) -> None:
    graphql = dagster.graphql
    started = time.time()
    ticks = graphql.sensor_ticks(selector, limit=20)
    # The demo's tick is in the sensor's history, with its runs.
    assert any(set(demo_runs.values()) <= set(tick.run_ids) for tick in ticks), ticks

    def daemon_tick() -> Tick | None:
        ended = [
            tick
            for tick in graphql.sensor_ticks(selector, limit=5)
            if tick.timestamp >= started - 1 and tick.end_timestamp is not None
        ]
        return ended[0] if ended else None

    tick = wait_for(daemon_tick, timeout_seconds=TICK_TIMEOUT_SECONDS, what="a daemon tick")
    assert tick.error is None, tick.error
    assert tick.run_ids == [] and tick.run_keys == [], tick
    assert tick.cursor is not None and EventCursor.parse(tick.cursor).last_id == 1
    runs = graphql.runs(JOB)
    assert {run.run_id for run in runs} == set(demo_runs.values())


def _check_a_demo_run_re_executes(dagster: DagsterDev, run_id: str) -> None:
    """The demo's runs belong to the code location the UI loads: "Re-execute" works on them.
    Its pushes are done, so the re-execution ends at once, saying so."""
    graphql = dagster.graphql
    child = graphql.reexecute(run_id, strategy="ALL_STEPS")

    def ended() -> RunSummary | None:
        [run] = [run for run in graphql.runs(JOB) if run.run_id == child]
        return run if run.status in ENDED else None

    run = wait_for(ended, timeout_seconds=RUN_TIMEOUT_SECONDS, what="the re-execution")
    assert run.status == "SUCCESS", graphql.failure_messages(child)
    assert run.tags[tags.SPACE] == API_SPACE


def _wait_for_backfill_runs(graphql: DagsterGraphQL, backfill_id: str) -> list[RunSummary]:
    def ended() -> list[RunSummary] | None:
        runs = graphql.runs(JOB, tags={BACKFILL_TAG: backfill_id})
        failed = {
            run.run_id: graphql.failure_messages(run.run_id)
            for run in runs
            if run.status in ENDED and run.status != "SUCCESS"
        }
        if failed:
            raise AssertionError(f"backfill runs failed: {failed}")
        if len(runs) == len(SPACES) and all(run.status == "SUCCESS" for run in runs):
            return runs
        return None

    return wait_for(ended, timeout_seconds=RUN_TIMEOUT_SECONDS, what="the backfill's runs")


def _check_a_backfill_of_both_spaces_succeeds(dagster: DagsterDev, home: Path) -> None:
    remote = LocalRemote(home / "demo-git", COORDINATE)
    old_head = remote.head()
    new_head = remote.commit_and_push(
        {"src/api/routes.py": 'ROUTES = ["/widgets", "/gadgets"]\n'}, "a push nobody announced"
    )
    backfill_id = dagster.graphql.launch_partition_backfill(
        location_name=LOCATION_NAME,
        repository_name=dagster.repository_name,
        partition_set_name=PARTITION_SET,
        partition_names=SPACES,
    )
    runs = _wait_for_backfill_runs(dagster.graphql, backfill_id)
    assert sorted(run.tags[PARTITION_TAG] for run in runs) == SPACES
    assert {run.tags[tags.MODE] for run in runs} == {"catch_up"}
    database = Database(f"sqlite:///{home / 'jrn.sqlite'}")
    try:
        with database.unit_of_work() as uow:
            for run in runs:
                [processed] = uow.coverage.ranges_by_run(run.run_id)
                assert processed.status is SpaceRangeStatus.SUCCEEDED
                assert (processed.base_sha, processed.head_sha) == (old_head, new_head)
    finally:
        database.dispose()
