"""Transport errors are retried with backoff (inside the clone, then the whole step); auth
errors never are (see test_secrets)."""

from pathlib import Path

import pytest

import jrn_dagster.ops.failures
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import TOKEN_ENV, push_change
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster_tests.support.flow import demo_flow, run_request, space_request
from jrn_dagster_tests.support.http_git import GitHttpServer

TOKEN = "ghp_RetryTestToken000000000000000000000"


def test_a_flaky_git_server_is_retried_until_the_step_succeeds(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setattr(jrn_dagster.ops.failures, "FIRST_RETRY_DELAY_SECONDS", 0.1)
    with demo_flow(database, tmp_path) as flow, GitHttpServer(tmp_path / "git", token=TOKEN) as git:
        flow.resources["repository_access"] = RepositoryAccessResource(
            clone_url_template=git.url_template,
            credential_hosts=[git.host],
            git_retry_delays_seconds=[0.05],
        )
        push_change(database, flow.world)
        request = space_request(flow)
        # two attempts of the first step run, each trying git twice: four 503s
        git.fail_next(4, 503)
        outcome = run_request(flow, request)
        assert outcome.success and outcome.run_id
        events = flow.instance.get_records_for_run(outcome.run_id, limit=1000).records
        kinds = [
            r.event_log_entry.dagster_event.event_type_value
            for r in events
            if r.event_log_entry.dagster_event is not None
        ]
    assert kinds.count("STEP_UP_FOR_RETRY") == 2
    assert kinds.count("STEP_FAILURE") == 0
    assert [r.status for r in git.requests].count(503) == 4
