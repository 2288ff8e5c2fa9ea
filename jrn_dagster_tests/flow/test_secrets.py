"""The clone credential reaches git over HTTP and nothing else: not the Dagster event log, not
the agent's environment, not .git/config, not a Failure message."""

import base64
import json
import os
from pathlib import Path

import pytest
from dagster import DagsterInstance

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import TOKEN_ENV, push_change
from jrn_dagster.resources.agent import CommandAgentResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster_tests.support.flow import demo_flow, run_request, space_request
from jrn_dagster_tests.support.http_git import GitHttpServer

TOKEN = "ghp_SeCrEtToKeN0123456789abcdefABCDEF01"

# The agent writes everything it can see into a doc, which becomes a proposal.
SPY_AGENT = [
    "bash",
    "-c",
    'for d in $(echo "$JRN_REPO_DIRS" | tr ":" " "); do cat "$d/.git/config"; done'
    ' > "$JRN_DOCS_DIR/spy.md"; env >> "$JRN_DOCS_DIR/spy.md";'
    ' ps -eo args >> "$JRN_DOCS_DIR/spy.md"',
]


def _forms(token: str) -> list[str]:
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return [token, basic]


def _event_log_text(instance: DagsterInstance, run_id: str) -> str:
    records = instance.get_records_for_run(run_id, limit=10_000).records
    return "\n".join(json.dumps(r.event_log_entry.to_json()) for r in records)


def test_the_token_is_sent_to_git_and_nowhere_else(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with demo_flow(database, tmp_path) as flow, GitHttpServer(tmp_path / "git", token=TOKEN) as git:
        flow.resources["repository_access"] = RepositoryAccessResource(
            clone_url_template=git.url_template, credential_hosts=[git.host]
        )
        flow.resources["agent"] = CommandAgentResource(command=SPY_AGENT, timeout_seconds=60)
        push_change(database, flow.world)
        outcome = run_request(flow, space_request(flow))
        assert outcome.success and outcome.run_id
        # git really needed it: every request it made carried it, and none went without
        assert git.requests and all(r.status == 200 for r in git.requests)
        log = _event_log_text(flow.instance, outcome.run_id)
    with database.unit_of_work() as uow:
        [changeset] = uow.changesets.all()
        seen_by_agent = next(d.proposed_content for d in changeset.docs if d.path == "spy.md")
    assert "JRN_DOCS_DIR=" in seen_by_agent and '[remote "origin"]' in seen_by_agent
    for form in _forms(TOKEN):
        assert form not in log
        assert form not in seen_by_agent  # env, .git/config and every process' arguments
    assert "extraheader" not in seen_by_agent.lower()


def test_a_rejected_token_fails_clearly_without_showing_it(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with (
        demo_flow(database, tmp_path) as flow,
        GitHttpServer(tmp_path / "git", token="other") as git,
    ):
        flow.resources["repository_access"] = RepositoryAccessResource(
            clone_url_template=git.url_template, credential_hosts=[git.host]
        )
        push_change(database, flow.world)
        outcome = run_request(flow, space_request(flow))
        assert not outcome.success and outcome.run_id
        log = _event_log_text(flow.instance, outcome.run_id)
        failures = flow.instance.get_records_for_run(outcome.run_id, limit=1000).records
        messages = [
            r.event_log_entry.dagster_event.event_specific_data.error.message  # type: ignore[union-attr]
            for r in failures
            if r.event_log_entry.dagster_event is not None
            and r.event_log_entry.dagster_event.event_type_value == "STEP_FAILURE"
        ]
    assert len(messages) == 1  # not retried: an auth error does not get better
    assert "the remote refused the credentials" in messages[0]
    assert "check the integration's token" in messages[0]
    for form in _forms(TOKEN):
        assert form not in log
    assert list((tmp_path / "sandboxes").iterdir()) == []


def test_a_missing_token_says_which_variable_to_set(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert TOKEN_ENV not in os.environ
    with demo_flow(database, tmp_path) as flow, GitHttpServer(tmp_path / "git", token=TOKEN) as git:
        flow.resources["repository_access"] = RepositoryAccessResource(
            clone_url_template=git.url_template, credential_hosts=[git.host]
        )
        push_change(database, flow.world)
        outcome = run_request(flow, space_request(flow))
        assert not outcome.success and outcome.run_id
        log = _event_log_text(flow.instance, outcome.run_id)
    assert f"set env var {TOKEN_ENV}" in log
    assert git.requests == []  # nothing was sent without a credential
