"""The agents: NoticeAgent is idempotent; CommandAgent runs a command in the sandbox, and only
its edits in the docs directory become proposals."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import Failure

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE
from jrn_dagster.domain.steps import Proposals
from jrn_dagster.ops.cli_impact import (
    CliImpactConfig,
    ImpactConfig,
    agent,
    clone,
    impact,
    sync_docs,
)
from jrn_dagster.resources.agent import CommandAgentResource
from jrn_dagster_tests.support.flow import Flow, demo_flow
from jrn_dagster_tests.support.ops import context_for, pushed_params


@pytest.fixture
def flow(database: Database, tmp_path: Path) -> Iterator[Flow]:
    with demo_flow(database, tmp_path) as flow:
        yield flow


def _through_impact(flow: Flow, context):
    _, params = pushed_params(flow)
    config = CliImpactConfig(**CliImpactConfig.from_params(params))  # type: ignore[arg-type]
    checkouts = clone(context, config)
    synced = sync_docs(context, checkouts)
    return checkouts, synced, impact(context, ImpactConfig(), checkouts, synced)


def _command_agent_proposals(flow: Flow, script: str) -> Proposals:
    """Run ``bash -c script`` as the agent, through the ops up to the agent step."""
    flow.resources["agent"] = CommandAgentResource(
        command=["bash", "-c", script], timeout_seconds=60
    )
    with context_for(flow, API_SPACE) as context:
        checkouts, synced, report = _through_impact(flow, context)
        return agent(context, checkouts, synced, report)


def test_notice_agent_twice_proposes_the_same_content(flow: Flow) -> None:
    with context_for(flow, API_SPACE) as context:
        checkouts, synced, report = _through_impact(flow, context)
        first = agent(context, checkouts, synced, report)
        second = agent(context, checkouts, synced, report)  # docs now carry the notice
    assert [d.content for d in first.docs] == [d.content for d in second.docs]
    assert first.docs[0].content.count("jrn:source-changed:start") == 1


def test_command_agent_edits_docs_and_nothing_else(flow: Flow) -> None:
    proposals = _command_agent_proposals(
        flow,
        'echo "reviewed: $(jq -r .counts.impactedDocs "$JRN_REPORT_PATH" 2>/dev/null ||'
        ' grep -c impactedDocs "$JRN_REPORT_PATH")" >> "$JRN_DOCS_DIR/reference/routes.md";'
        ' echo "# new" > "$JRN_DOCS_DIR/reference/new.md";'
        ' echo hacked >> "$JRN_REPO_DIR/README.md"; echo x > "$JRN_REPO_DIR/evil.txt"',
    )
    by_path = {d.path: d for d in proposals.docs}
    assert set(by_path) == {"reference/routes.md", "reference/new.md"}
    assert by_path["reference/new.md"].base_version is None
    assert "reviewed: " in by_path["reference/routes.md"].content
    assert sorted(p.rsplit("/", 1)[-1] for p in proposals.rejected_paths) == [
        "README.md",
        "evil.txt",
    ]


def test_command_agent_is_time_limited(flow: Flow) -> None:
    flow.resources["agent"] = CommandAgentResource(command=["sleep", "30"], timeout_seconds=1)
    with context_for(flow, API_SPACE) as context:
        checkouts, synced, report = _through_impact(flow, context)
        with pytest.raises(Failure) as failure:
            agent(context, checkouts, synced, report)
    assert failure.value.description == (
        "agent: command `sleep 30` did not finish within 1 s and was killed"
    )


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            'head -c 31457280 /dev/zero | tr "\\0" x > "$JRN_DOCS_DIR/big.md"',
            "the agent left docs/big.md at 31,457,280 bytes: over the limit of 1,048,576 bytes "
            "per proposed doc; nothing was proposed",
        ),
        (
            'for n in $(seq 501); do echo "# $n" > "$JRN_DOCS_DIR/page-$n.md"; done',
            "the agent changed 501 docs: over the limit of 500 proposed docs per run; nothing "
            "was proposed",
        ),
        (
            'for n in $(seq 17); do head -c 1000000 /dev/zero | tr "\\0" x'
            ' > "$JRN_DOCS_DIR/part-$n.md"; done',
            "the agent's proposals add up to 17,000,000 bytes: over the limit of 16,777,216 "
            "bytes per run; nothing was proposed",
        ),
    ],
    ids=["a-30-MiB-doc", "too-many-docs", "too-much-in-total"],
)
def test_proposals_over_a_limit_fail_the_step_naming_the_limit(
    flow: Flow, script: str, message: str
) -> None:
    with pytest.raises(Failure) as failure:
        _command_agent_proposals(flow, script)
    assert failure.value.description == f"agent: {message}"
    with flow.database.unit_of_work() as uow:
        assert uow.changesets.all() == []


def test_a_doc_whose_name_is_not_utf8_is_refused_not_fatal(flow: Flow) -> None:
    proposals = _command_agent_proposals(
        flow,
        'echo x > "$JRN_DOCS_DIR/bad-$(printf "\\xff").md";'
        ' echo "# new" > "$JRN_DOCS_DIR/caf\u00e9.md"',
    )
    assert [d.path for d in proposals.docs] == ["caf\u00e9.md"]
    assert proposals.rejected_paths == ["docs/bad-\ufffd.md"]
