"""The demo leaves its Dagster instance ready for the UI (docs/operations.md#from-the-demo-to-
the-ui): its sensor ticks are stored there as the daemon stores them, its runs belong to the
workspace's code location, and ``demo.env`` holds its settings and no secret."""

import os
from pathlib import Path

import pytest
from dagster import DagsterInstance, RunsFilter, instance_for_test
from dagster._core.storage.tags import SENSOR_NAME_TAG

from jrn_dagster.adapters.git import CLONE_URL_TEMPLATE_ENV
from jrn_dagster.db.engine import DATABASE_URL_ENV
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.env_file import demo_env_path, write_demo_env
from jrn_dagster.demo.flow import run_demo
from jrn_dagster.demo.runner import evaluate_sensor, requests_of
from jrn_dagster.demo.sensor_state import (
    LOCATION_NAME,
    stored_cursor,
    stored_sensor_state,
)
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.sensors import webhook_event_sensor

SENSOR = webhook_event_sensor.name


def _ticks(instance: DagsterInstance) -> list:
    state = stored_sensor_state(instance, SENSOR)
    assert state is not None
    return list(instance.get_ticks(state.instigator_origin_id, state.selector_id))


def test_the_demo_stores_its_ticks_and_settings_on_its_instance(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name in (CLONE_URL_TEMPLATE_ENV, DATABASE_URL_ENV, "JRN_SANDBOX", "JRN_AGENT_COMMAND"):
        monkeypatch.delenv(name, raising=False)
    with instance_for_test(temp_dir=str(home)) as instance:
        result = run_demo(database, instance, home, lambda _message: None)
        assert result.success
        run_ids = {space.run_id for space in result.spaces if space.run_id}

        # The tick as the daemon records it: the cursor past the demo's push, the runs.
        cursor = stored_cursor(instance, SENSOR)
        assert EventCursor.parse(cursor).last_id == result.event.id
        [tick] = _ticks(instance)
        assert set(tick.run_ids) == run_ids and tick.cursor == cursor
        # The daemon's next tick, from there, requests nothing.
        resources = {"database": DatabaseResource(url=database.url)}
        assert requests_of(evaluate_sensor(instance, resources, cursor)) == []

        # The runs: of the workspace's code location, launched by the sensor.
        runs = instance.get_runs(RunsFilter(run_ids=sorted(run_ids)))
        assert len(runs) == len(run_ids)
        for run in runs:
            assert run.remote_job_origin is not None
            assert run.remote_job_origin.location_name == LOCATION_NAME
            assert run.tags[SENSOR_NAME_TAG] == SENSOR

    # Its settings for `make dev`, and the process's environment left as it was.
    settings = demo_env_path(home).read_text()
    assert f"{CLONE_URL_TEMPLATE_ENV}='{result.clone_url_template}'" in settings
    if database.url.startswith("sqlite") and str(home) in database.url:
        assert DATABASE_URL_ENV not in settings
    else:
        assert f"{DATABASE_URL_ENV}=" in settings
    assert CLONE_URL_TEMPLATE_ENV not in os.environ


def test_demo_env_never_holds_a_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    path = write_demo_env(
        tmp_path,
        {"JRN_CLONE_URL_TEMPLATE": "file:///x/{host}/{owner}/{repo}.git"},
        "postgresql://jrn:s3cr3t-pw@db.internal/jrn",
    )
    text = path.read_text()
    assert "s3cr3t-pw" not in text
    assert f"# {DATABASE_URL_ENV} holds a password" in text
    assert "JRN_CLONE_URL_TEMPLATE='file:///x/{host}/{owner}/{repo}.git'" in text
