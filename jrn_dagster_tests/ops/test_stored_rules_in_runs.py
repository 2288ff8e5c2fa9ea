"""A run reads the rules stored with each doc version and puts only the docs the agent works on
into its sandbox (docs/attention-rules.md#stored-rules, docs/architecture.md)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import build_op_context

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, push_change
from jrn_dagster.domain import frontmatter
from jrn_dagster.domain.steps import DOCS_DIR
from jrn_dagster.ops.cli_impact import (
    CliImpactConfig,
    ImpactConfig,
    agent,
    clone,
    impact,
    sync_docs,
)
from jrn_dagster.ports.sandbox import Sandbox, SandboxFileNotFoundError
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.services.matching import match_event
from jrn_dagster_tests.support.flow import Flow, demo_flow


@pytest.fixture
def flow(database: Database, tmp_path: Path) -> Iterator[Flow]:
    with demo_flow(database, tmp_path) as flow:
        yield flow


@pytest.fixture
def yaml_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every YAML load of a doc's frontmatter (``frontmatter._yaml`` is its only way in)."""
    calls: list[str] = []
    original = frontmatter._yaml

    def counting() -> object:
        calls.append("load")
        return original()

    monkeypatch.setattr(frontmatter, "_yaml", counting)
    return calls


def _config(flow: Flow) -> CliImpactConfig:
    event = push_change(flow.database, flow.world)
    with flow.database.unit_of_work() as uow:
        [params] = match_event(uow.matching, uow.events.get(event.id)).params
    return CliImpactConfig(**CliImpactConfig.from_params(params))  # type: ignore[arg-type]


def _docs_in(sandbox: Sandbox) -> list[str]:
    try:
        return sandbox.list_files(DOCS_DIR)
    except SandboxFileNotFoundError:
        return []


def _context(flow: Flow):
    return build_op_context(resources=with_run_sandbox(flow.resources), partition_key=API_SPACE)


def test_impact_reads_stored_rules_and_the_sandbox_holds_only_impacted_docs(
    flow: Flow, yaml_loads: list[str]
) -> None:
    with _context(flow) as context:
        checkouts = clone(context, _config(flow))
        synced = sync_docs(context, checkouts)
        assert sorted(d.path for d in synced.docs) == [
            "reference/models.md",
            "reference/routes.md",
        ]
        sandbox = context.resources.run_sandbox.for_step(context.run_id, checkouts)
        assert _docs_in(sandbox) == []  # sync_docs records versions only

        report = impact(context, ImpactConfig(), checkouts, synced)
        assert [doc.path for doc in report.impacted] == ["reference/routes.md"]
        assert report.counts.docs_scanned == 2 and report.counts.rules >= 2
        assert yaml_loads == []  # every rule came from the database, parsed at `doc put`

        proposals = agent(context, checkouts, synced, report)
        assert [d.path for d in proposals.docs] == ["reference/routes.md"]
        assert _docs_in(sandbox) == ["reference/routes.md"]


def test_an_impacted_doc_changed_since_sync_is_left_out_of_the_sandbox(flow: Flow) -> None:
    with _context(flow) as context:
        checkouts = clone(context, _config(flow))
        synced = sync_docs(context, checkouts)
        report = impact(context, ImpactConfig(), checkouts, synced)
        with flow.database.unit_of_work() as uow:
            doc = uow.docs.get(checkouts.plan.space_id, "reference/routes.md")
            uow.docs.put(doc.space_id, doc.path, doc.content + "\nEdited meanwhile.\n")
            uow.commit()
        proposals = agent(context, checkouts, synced, report)
        assert proposals.docs == []  # a proposal on version 1 would only conflict
        sandbox = context.resources.run_sandbox.for_step(context.run_id, checkouts)
        assert _docs_in(sandbox) == []
