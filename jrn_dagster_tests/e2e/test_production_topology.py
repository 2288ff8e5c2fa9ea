"""The production topology, end to end (docs/operations.md#production-topology): the separate
processes a real deployment runs, each started as an operator starts it, on PostgreSQL:

- two replicas of the webhook receiver (``jrn-dagster webhooks serve``) on one application
  database;
- a code server (``dagster code-server start``), which evaluates the sensors and launches the
  runs;
- ``dagster-daemon`` and ``dagster-webserver`` on a workspace that reaches the code server over
  gRPC, with Dagster's storage in PostgreSQL (``deploy/dagster.postgres.yaml``: queued runs, at
  most one run per space).

Signed pushes go to both receivers, one of them restarted between deliveries; then Dagster
starts and its first tick finds every push waiting. The checks: both receivers stored, the
restart lost nothing (a redelivery to the new replica is a duplicate), every push ran once per
space, and the run storage's start and end times show never two runs of one space at once.
"""

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from jrn_dagster import tags
from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import clone_url_template
from jrn_dagster.demo.scenario import API_SPACE, GUIDES_SPACE, DemoWorld, ensure_world
from jrn_dagster.domain.records import SpaceRangeStatus
from jrn_dagster_tests.support.dagster_dev import (
    POSTGRES_INSTANCE_YAML,
    DagsterDev,
    Receiver,
    clean_environment,
    postgres_instance_environment,
    prepare_dagster_home,
    start_receiver,
)
from jrn_dagster_tests.support.dagster_graphql import DagsterGraphQL, RunSummary, wait_for
from jrn_dagster_tests.support.databases import create_postgres_database, drop_postgres_database
from jrn_dagster_tests.support.github import (
    DEFAULT_SECRET,
    WEBHOOK_PATH,
    commit,
    delivery_headers,
    encode,
    push_payload,
    sha_for,
)
from jrn_dagster_tests.support.processes import ManagedProcess
from jrn_dagster_tests.support.topology import (
    start_code_server,
    start_daemon,
    start_webserver,
    write_grpc_workspace,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

JOB = "cli_impact"
SPACES = [API_SPACE, GUIDES_SPACE]
PUSHES = 3
# Few enough that the first tick reads them and the three pushes (EVENTS_PER_TICK is 200).
IN_FLIGHT_DELIVERIES = 100
RUNS_TIMEOUT_SECONDS = 360
ENDED = {"SUCCESS", "FAILURE", "CANCELED"}


class Deployment:
    """The processes, started and stopped in the order an operator would."""

    def __init__(self, root: Path, cleanup: ExitStack) -> None:
        self.root, self.cleanup = root, cleanup
        self.logs = root / "logs"
        self.processes: list[ManagedProcess] = []
        app_url = create_postgres_database("jrn_topology_app")
        cleanup.callback(drop_postgres_database, app_url)
        dagster_url = create_postgres_database("jrn_topology_dagster")
        cleanup.callback(drop_postgres_database, dagster_url)
        self.home = prepare_dagster_home(root / "dagster_home", POSTGRES_INSTANCE_YAML)
        self.instance_env = {
            **postgres_instance_environment(dagster_url),
            "DAGSTER_HOME": str(self.home),
        }
        self.database = Database(app_url)
        cleanup.callback(self.database.dispose)
        upgrade(self.database)
        git_root, self.sandbox_dir = root / "git", root / "sandboxes"
        for directory in (git_root, self.sandbox_dir):
            directory.mkdir()
        self.world: DemoWorld = ensure_world(self.database, git_root)
        # What each process needs, and no more: receivers the application database and the
        # webhook secret; Dagster's daemon and webserver the instance; the code server (where
        # sensors are evaluated and runs start) both, and what the runs need.
        self.receiver_env = {
            **clean_environment(),
            "JRN_DATABASE_URL": app_url,
            "JRN_WEBHOOK_SECRET": DEFAULT_SECRET,
        }
        self.dagster_env = {**clean_environment(), **self.instance_env}
        self.code_env = {
            **self.dagster_env,
            "JRN_DATABASE_URL": app_url,
            "JRN_SANDBOX": "local",
            "JRN_LOCAL_SANDBOX_DIR": str(self.sandbox_dir),
            "JRN_CLONE_URL_TEMPLATE": clone_url_template(git_root),
        }

    def _managed(self, process: ManagedProcess) -> ManagedProcess:
        self.processes.append(process)
        self.cleanup.callback(process.stop)
        return process

    def start_receiver(self, name: str) -> Receiver:
        receiver = start_receiver(env=self.receiver_env, log_path=self.logs / f"{name}.log")
        self._managed(receiver.process)
        return receiver

    def start_dagster(self) -> DagsterDev:
        code_server = start_code_server(env=self.code_env, log_path=self.logs / "code.log")
        self._managed(code_server.process)
        workspace = write_grpc_workspace(self.root / "workspace.yaml", code_server)
        self._managed(
            start_daemon(
                env=self.dagster_env, workspace=workspace, log_path=self.logs / "daemon.log"
            )
        )
        webserver = start_webserver(
            env=self.dagster_env, workspace=workspace, log_path=self.logs / "webserver.log"
        )
        self._managed(webserver.process)
        self.cleanup.callback(webserver.graphql.close)
        return webserver


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    with ExitStack() as cleanup:
        yield Deployment(tmp_path, cleanup)


def _deliver(receiver: Receiver, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=receiver.url, timeout=30) as client:
        return client.post(WEBHOOK_PATH, content=body, headers=headers)


def _push(deployment: Deployment, n: int) -> tuple[bytes, dict[str, str], str]:
    """Commit and push change ``n``; the signed delivery GitHub would send for it. Pushed with
    ``--force`` (a fast-forward all the same): a forced push starts a burst of its own
    (docs/cursors.md, "Bursts"), so the first tick launches one run per push and space, and the
    runs of each space queue behind the per-space limit."""
    remote = deployment.world.remote
    before = remote.head()
    assert before is not None
    message = f"topology: change {n}"
    after = remote.commit_and_push(
        {
            "src/api/routes.py": f'ROUTES = ["/widgets"] + ["/v{n}"]\n',
            "README.md": f"# widgets\n\nChange {n}.\n",
        },
        message,
    )
    added, modified, removed = remote.changed_paths(before, after)
    entry = commit(after, message=message, added=added, modified=modified, removed=removed)
    body = encode(push_payload(before=before, after=after, commits=[entry], forced=True))
    return body, delivery_headers(body), after


def _deliver_while_stopping(stopping: Receiver, other: Receiver) -> list[str]:
    """Deliveries posted one after another to ``stopping`` while it is stopped (SIGTERM): each
    one it answered 2xx must be stored; each it did not answer is redelivered to ``other``, as
    GitHub redelivers a failed delivery. Pushes of a repository no source follows: stored, and
    no run. Returns their delivery ids."""
    bodies = [
        encode(push_payload(repo="unfollowed", before=sha_for(f"in-flight {n}")))
        for n in range(IN_FLIGHT_DELIVERIES)
    ]
    headers = [delivery_headers(body) for body in bodies]
    answered: dict[int, int] = {}
    first_answer = threading.Event()

    def post_all() -> None:
        with httpx.Client(base_url=stopping.url, timeout=10) as client:
            for n, body in enumerate(bodies):
                with contextlib.suppress(httpx.TransportError):  # refused or cut
                    answered[n] = client.post(
                        WEBHOOK_PATH, content=body, headers=headers[n]
                    ).status_code
                first_answer.set()

    poster = threading.Thread(target=post_all, name="in-flight deliveries")
    poster.start()
    first_answer.wait(timeout=30)
    assert stopping.process.stop() == []  # stopped on SIGTERM, nothing killed
    poster.join(timeout=120)
    assert answered, "no delivery reached the replica before it stopped"
    for n, body in enumerate(bodies):
        if answered.get(n) not in (200, 201):
            redelivered = _deliver(other, body, headers[n])
            assert redelivered.status_code in (200, 201), redelivered.text
    return [h["X-GitHub-Delivery"] for h in headers]


def test_production_topology(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        _run(deployment, monkeypatch)
    except BaseException as error:
        for process in deployment.processes:
            error.add_note(process.tail(40))
        raise


def _run(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = deployment.start_receiver("receiver-1"), deployment.start_receiver("receiver-2")

    # Both replicas store; one of them restarts; a redelivery to the new one finds the push.
    body_1, headers_1, _ = _push(deployment, 1)
    body_2, headers_2, _ = _push(deployment, 2)
    stored = [_deliver(first, body_1, headers_1), _deliver(second, body_2, headers_2)]
    assert [answer.status_code for answer in stored] == [201, 201], [a.text for a in stored]
    in_flight = _deliver_while_stopping(second, first)
    restarted = deployment.start_receiver("receiver-2-restarted")
    redelivered = _deliver(restarted, body_2, headers_2)
    assert redelivered.status_code == 200
    assert redelivered.json() == {**stored[1].json(), "status": "duplicate"}
    body_3, headers_3, head = _push(deployment, 3)
    stored.append(_deliver(restarted, body_3, headers_3))
    assert stored[2].status_code == 201, stored[2].text
    event_ids = [answer.json()["event_id"] for answer in stored]
    with deployment.database.unit_of_work() as uow:
        events = uow.events.after(0, limit=1000)
    pushes = [e for e in events if e.delivery_id not in in_flight]
    assert sorted(e.id for e in pushes) == sorted(event_ids)
    assert len({e.delivery_id for e in pushes}) == PUSHES
    # Every delivery sent while a replica stopped is stored once: answered by it, or by the
    # other replica when GitHub's redelivery went there.
    assert sorted(e.delivery_id for e in events if e.delivery_id in in_flight) == sorted(in_flight)

    # Dagster starts; its first tick finds every push waiting: one run per push and space.
    webserver = deployment.start_dagster()
    webserver.wait_until_loaded()
    runs = _wait_for_runs(webserver.graphql, count=PUSHES * len(SPACES))
    assert sorted((run.tags[tags.EVENT_ID], run.tags[tags.SPACE]) for run in runs) == sorted(
        (str(event_id), space) for event_id in event_ids for space in SPACES
    )
    with deployment.database.unit_of_work() as uow:
        for run in runs:
            [processed] = uow.coverage.ranges_by_run(run.run_id)
            assert processed.status is SpaceRangeStatus.SUCCEEDED
        source = uow.sources.get(deployment.world.source_id)
    assert [(c.branch, c.head_sha) for c in source.cursors] == [("main", head)]

    # The per-space limit held: from the run storage, never two runs of one space at once.
    for name, value in deployment.instance_env.items():
        monkeypatch.setenv(name, value)
    with DagsterInstance.from_config(str(deployment.home)) as instance:
        records = instance.get_run_records(
            RunsFilter(job_name=JOB, statuses=[DagsterRunStatus.SUCCESS])
        )
    # (created, started, ended) per space; every run was created by the first tick.
    spans_of: dict[str, list[tuple[float, float, float]]] = {space: [] for space in SPACES}
    for record in records:
        assert record.start_time is not None and record.end_time is not None
        spans_of[record.dagster_run.tags[tags.SPACE]].append(
            (record.create_timestamp.timestamp(), record.start_time, record.end_time)
        )
    for space, spans in spans_of.items():
        spans.sort(key=lambda span: span[1])
        assert len(spans) == PUSHES, (space, spans)
        for (_, _, ended), (created, started, _) in itertools.pairwise(spans):
            # Queued while the other ran (the limit had something to hold), started after.
            assert created < ended, f"the limit was never tested for {space}: {spans}"
            assert ended <= started, f"two {space} runs at once: {spans}"
    assert list(deployment.sandbox_dir.iterdir()) == []


def _wait_for_runs(graphql: DagsterGraphQL, count: int) -> list[RunSummary]:
    def ended() -> list[RunSummary] | None:
        runs = graphql.runs(JOB)
        failed = {
            run.run_id: graphql.failure_messages(run.run_id)
            for run in runs
            if run.status in ENDED and run.status != "SUCCESS"
        }
        if failed:
            raise AssertionError(f"runs failed: {failed}")
        if len(runs) >= count and all(run.status == "SUCCESS" for run in runs):
            return runs
        return None

    started = time.monotonic()
    runs = wait_for(ended, timeout_seconds=RUNS_TIMEOUT_SECONDS, what=f"{count} {JOB} runs")
    print(f"{count} runs done in {time.monotonic() - started:.1f} s")
    return runs
