"""The ops one by one with build_op_context, on a real repository in a local sandbox."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import Failure

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, GUIDES_SPACE
from jrn_dagster.domain.records import ChangesetStatus
from jrn_dagster.ops.cli_impact import (
    CliImpactConfig,
    ImpactConfig,
    agent,
    clone,
    impact,
    sync_back,
    sync_docs,
)
from jrn_dagster_tests.support.flow import Flow, demo_flow
from jrn_dagster_tests.support.ops import context_for, pushed_params


@pytest.fixture
def flow(database: Database, tmp_path: Path) -> Iterator[Flow]:
    with demo_flow(database, tmp_path) as flow:
        yield flow


def test_the_ops_in_order_for_one_space(flow: Flow) -> None:
    _, params = pushed_params(flow)
    config = CliImpactConfig(**CliImpactConfig.from_params(params))  # type: ignore[arg-type]
    with context_for(flow, API_SPACE) as context:
        checkouts = clone(context, config)
        assert checkouts.sandbox_id is not None
        [checkout] = checkouts.sources
        assert checkout.range.head_sha == params.head_sha
        assert checkout.range.base_sha == params.base_sha
        assert checkout.needs_work

        synced = sync_docs(context, checkouts)
        assert sorted((d.path, d.version) for d in synced.docs) == [
            ("reference/models.md", 1),
            ("reference/routes.md", 1),
        ]

        report = impact(context, ImpactConfig(), checkouts, synced)
        assert [doc.path for doc in report.impacted] == ["reference/routes.md"]
        [evidence] = report.impacted[0].evidence
        assert (evidence.changed_file, evidence.pattern, evidence.match_type) == (
            "src/api/routes.py",
            "src/api/**/*.py",
            "glob",
        )
        # models.md watches src/api/models.py, which this push did not touch
        assert report.counts.docs_scanned == 2

        proposals = agent(context, checkouts, synced, report)
        [proposed] = proposals.docs
        assert proposed.path == "reference/routes.md" and proposed.base_version == 1
        assert "src/api/routes.py" in proposed.content

        changeset_id = sync_back(context, checkouts, proposals)
        again = sync_back(context, checkouts, proposals)  # a re-executed step
        assert changeset_id is not None and again == changeset_id
    with flow.database.unit_of_work() as uow:
        [changeset] = uow.changesets.all()
        assert changeset.id == changeset_id and changeset.status is ChangesetStatus.OPEN
        record = uow.coverage.get_range(checkout.range_id or 0)
        assert record.report is not None and record.report["counts"]["impactedDocs"] == 1
        assert record.changeset_id == changeset_id
    assert list(flow.sandbox_dir.iterdir()) == []  # released with the context's resources


def test_a_space_the_event_does_not_affect_is_refused(flow: Flow) -> None:
    _, params = pushed_params(flow)
    with flow.database.unit_of_work() as uow:
        uow.spaces.add("elsewhere")
        uow.commit()
    config = CliImpactConfig(**CliImpactConfig.from_params(params))  # type: ignore[arg-type]
    with context_for(flow, "elsewhere") as context, pytest.raises(Failure) as failure:
        clone(context, config)
    assert "not among the event's affectedSpaceIds" in (failure.value.description or "")


def test_strict_mode_fails_on_rule_problems(flow: Flow) -> None:
    _, params = pushed_params(flow)
    config = CliImpactConfig(**CliImpactConfig.from_params(params))  # type: ignore[arg-type]
    with context_for(flow, GUIDES_SPACE) as context:
        checkouts = clone(context, config)
        synced = sync_docs(context, checkouts)
        with pytest.raises(Failure) as failure:
            impact(context, ImpactConfig(strict=True), checkouts, synced)
    assert "faq.md" in (failure.value.description or "")
    assert "missing path" in (failure.value.description or "")
