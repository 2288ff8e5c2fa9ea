"""Partitions follow spaces: ``space add`` adds one on the configured Dagster instance,
``space archive`` keeps it and makes its runs end at once, ``space sync-partitions`` restores
them after a database restore. Real instances; the application database on both backends, and
Dagster's storage on the same backend as it."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance, Definitions, instance_for_test
from sqlalchemy import make_url

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, GUIDES_SPACE, push_change
from jrn_dagster.jobs import SPACES, cli_impact
from jrn_dagster.ops.cli_impact import NO_SANDBOX
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster_tests.support.cli import run_cli
from jrn_dagster_tests.support.databases import temporary_postgres_database
from jrn_dagster_tests.support.flow import demo_flow, run_request, space_request


@pytest.fixture
def instance(database_url: str, tmp_path: Path) -> Iterator[DagsterInstance]:
    """A Dagster instance in a DAGSTER_HOME with its dagster.yaml, as the CLI looks for it;
    its storage is PostgreSQL when the application database is."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    if make_url(database_url).get_backend_name() == "sqlite":
        with instance_for_test(temp_dir=str(home)) as dagster:
            yield dagster
        return
    with temporary_postgres_database("jrn_dagster_storage") as url:
        # dagster-postgres talks psycopg2 (docs/operations.md).
        storage = {
            "postgres": {"postgres_url": url.replace("postgresql://", "postgresql+psycopg2://")}
        }
        with instance_for_test(temp_dir=str(home), overrides={"storage": storage}) as dagster:
            yield dagster


def _partitions(instance: DagsterInstance) -> list[str]:
    return sorted(instance.get_dynamic_partitions(SPACES))


def test_partitions_follow_spaces(database_url: str, instance: DagsterInstance) -> None:
    added = run_cli(database_url, "space", "add", "api-docs")
    assert added.exit_code == 0, added.output
    assert added.stdout == "space 'api-docs' added (id 1)\n"
    assert "partition 'api-docs' added to the Dagster instance" in added.stderr
    assert _partitions(instance) == ["api-docs"]

    # A refused space adds no partition.
    refused = run_cli(database_url, "space", "add", "Not_A_Slug")
    assert refused.exit_code == 2 and _partitions(instance) == ["api-docs"]

    archived = run_cli(database_url, "space", "archive", "api-docs")
    assert archived.exit_code == 0
    assert "partition and run history stay" in archived.stdout
    assert _partitions(instance) == ["api-docs"]

    # A restore: the database has a space the instance never heard of, and the instance a
    # partition of a space the database does not have.
    with Database(database_url).unit_of_work() as uow:
        uow.spaces.add("guides")
        uow.commit()
    instance.add_dynamic_partitions(SPACES, ["gone"])
    synced = run_cli(database_url, "space", "sync-partitions")
    assert synced.exit_code == 0, synced.output
    assert synced.stdout.splitlines()[1:] == [
        "1 partition(s) of no space kept: gone (--prune deletes them)"
    ]
    assert ": 1 added: guides, 1 already there" in synced.stdout
    assert _partitions(instance) == ["api-docs", "gone", "guides"]

    pruned = run_cli(database_url, "space", "sync-partitions", "--prune", "--json")
    assert json.loads(pruned.stdout) == {
        "instance": str(Path(instance.root_directory).resolve()),
        "added": [],
        "present": ["api-docs", "guides"],
        "unknown": ["gone"],
        "deleted": ["gone"],
    }
    assert _partitions(instance) == ["api-docs", "guides"]


def test_without_a_configured_instance_space_add_says_where_partitions_come_from(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # no dagster.yaml in it
    added = run_cli(database_url, "space", "add", "docs")
    assert added.exit_code == 0
    assert "no Dagster instance is configured" in added.stderr
    assert "jrn-dagster space sync-partitions" in added.stderr
    assert list(home.iterdir()) == []  # no instance storage created behind our back
    sync = run_cli(database_url, "space", "sync-partitions")
    assert sync.exit_code == 2 and "set DAGSTER_HOME" in sync.stderr


def test_an_unusable_instance_adds_no_space(tmp_path: Path) -> None:
    """The instance's storage is unreachable: the installed command, so that what Dagster logs
    while it retries (about 10 s: one backend) counts against the one line on stderr."""
    url = f"sqlite:///{tmp_path}/jrn.sqlite"
    assert run_cli(url, "db", "upgrade").exit_code == 0
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url: "
        "postgresql+psycopg2://dagster:s3cr3t-pw@127.0.0.1:1/none\n"
    )
    script = Path(sys.executable).parent / "jrn-dagster"
    env = {**os.environ, "DAGSTER_HOME": str(home), "JRN_DATABASE_URL": url}
    added = subprocess.run(
        [str(script), "space", "add", "docs"], env=env, capture_output=True, text=True, check=False
    )
    assert added.returncode == 1
    [line] = added.stderr.strip().splitlines()
    assert line.startswith(f"error: the Dagster instance in {home.resolve()} failed")
    assert "s3cr3t-pw" not in added.stderr
    assert json.loads(run_cli(url, "space", "list", "--json").stdout) == []


def _clone_metadata(instance: DagsterInstance, run_id: str) -> dict[str, Any]:
    [output] = [
        record.event_log_entry.dagster_event
        for record in instance.get_records_for_run(
            run_id, of_type=DagsterEventType.STEP_OUTPUT
        ).records
        if record.event_log_entry.dagster_event
        and record.event_log_entry.dagster_event.step_key == "clone"
    ]
    return {key: value.value for key, value in output.step_output_data.metadata.items()}


def test_runs_of_an_archived_space_end_at_once_skipped(database: Database, tmp_path: Path) -> None:
    with demo_flow(database, tmp_path) as flow:
        event = push_change(database, flow.world)
        request = space_request(flow, event, API_SPACE)  # requested before the archive
        assert run_cli(database.url, "space", "archive", API_SPACE).exit_code == 0

        queued = run_request(flow, request)
        assert queued.success and queued.run_id
        metadata = _clone_metadata(flow.instance, queued.run_id)
        assert metadata["outcome"] == "skipped"
        assert metadata["skip_reason"] == f"space '{API_SPACE}' was archived after the event"
        assert metadata["sandbox_id"] == NO_SANDBOX

        # A UI launch or a backfill of the partition: the catch-up config, no event.
        job = Definitions(
            jobs=[cli_impact], resources=with_run_sandbox(flow.resources)
        ).get_job_def(cli_impact.name)
        launched = job.execute_in_process(
            partition_key=API_SPACE, instance=flow.instance, raise_on_error=False
        )
        assert launched.success
        metadata = _clone_metadata(flow.instance, launched.run_id)
        assert (metadata["mode"], metadata["skip_reason"]) == (
            "catch_up",
            f"space '{API_SPACE}' is archived",
        )
        assert list(flow.sandbox_dir.iterdir()) == []
        with database.unit_of_work() as uow:
            changed = {uow.spaces.get(c.space_id).slug for c in uow.changesets.all()}
        assert API_SPACE not in changed
        # History stays: the partition and its runs.
        assert API_SPACE in flow.instance.get_dynamic_partitions(SPACES)
        assert GUIDES_SPACE in flow.instance.get_dynamic_partitions(SPACES)
