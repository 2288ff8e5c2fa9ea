"""The proposal lifecycle through real pushes, the real sensor and real runs, on SQLite and
PostgreSQL (docs/decisions.md, "One open proposal per doc")."""

from pathlib import Path

import pytest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import LocalRemote
from jrn_dagster.demo.scenario import (
    API_SPACE,
    GUIDES_SPACE,
    INTEGRATION,
    TRUE_SOURCE,
    VIRTUAL_SOURCE,
    ingest_push,
    push_change,
)
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import Comparison
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.records import Changeset, ChangesetStatus
from jrn_dagster.domain.refs import ZERO_SHA
from jrn_dagster.domain.steps import ONBOARDING_NOTE, OnboardingMode
from jrn_dagster.ops.cli_impact import CliImpactConfig
from jrn_dagster_tests.support.cli import cli_json, run_cli
from jrn_dagster_tests.support.flow import (
    Flow,
    demo_flow,
    launch_catch_up,
    run_request,
    space_request,
    step_metadata,
)

ROUTES = "reference/routes.md"


def test_three_pushes_leave_one_open_proposal_that_applies(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        first_base = flow.world.remote.head() or ""
        heads = []
        for _ in range(3):  # nobody reviews in between: the doc's proposals would pile up
            event = push_change(database, flow.world)
            heads.append(event.payload["after"])
            assert run_request(flow, space_request(flow, event, API_SPACE)).success

        with database.unit_of_work() as uow:
            space_id = uow.spaces.get_by_slug(API_SPACE).id
            first, second, third = uow.changesets.all(space_id=space_id)
        assert (first.status, first.superseded_by) == (ChangesetStatus.SUPERSEDED, second.id)
        assert (second.status, second.superseded_by) == (ChangesetStatus.SUPERSEDED, third.id)
        assert third.status is ChangesetStatus.OPEN and third.superseded_by is None
        [routes] = third.docs
        assert routes.path == ROUTES and routes.base_version == 1  # the doc's current version
        # It covers the three ranges, oldest first, and its notice spans all of them.
        assert [(c.base_sha, c.head_sha) for c in routes.covers] == [
            (first_base, heads[0]),
            (heads[0], heads[1]),
            (heads[1], heads[2]),
        ]
        assert f"moved from `{first_base[:12]}` to `{heads[2][:12]}`" in routes.proposed_content
        assert routes.proposed_content.count("jrn:source-changed:start") == 1
        assert "supersedes changeset(s) " + str(second.id) in third.summary

        listed = {c["id"]: c for c in cli_json(database.url, "changesets", "list")}
        assert (listed[first.id]["status"], listed[first.id]["supersededBy"]) == (
            "superseded",
            second.id,
        )
        table = run_cli(database.url, "changesets", "list", "--space", API_SPACE).output
        assert f"superseded by {third.id}" in table

        refused = run_cli(database.url, "changesets", "apply", str(first.id))
        assert refused.exit_code != 0 and f"superseded by changeset {second.id}" in refused.output
        applied = run_cli(database.url, "changesets", "apply", str(third.id))
        assert applied.exit_code == 0, applied.output  # no pile-up left to conflict with
        with database.unit_of_work() as uow:
            doc = uow.docs.find(space_id, ROUTES)
        assert doc is not None and doc.version == 2 and doc.content == routes.proposed_content


def _changeset_of_run(flow: Flow, run_id: str) -> Changeset:
    with flow.database.unit_of_work() as uow:
        [processed] = uow.coverage.ranges_by_run(run_id)
        assert processed.changeset_id is not None
        return uow.changesets.get(processed.changeset_id)


def _binding_head(flow: Flow, space: str) -> str | None:
    with flow.database.unit_of_work() as uow:
        space_id = uow.spaces.get_by_slug(space).id
        covered = uow.coverage.binding_cursor(space_id, flow.world.source_id, "main")
    return covered.head_sha if covered else None


def test_onboarding_records_the_baseline_and_proposes_nothing_unless_asked(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        head = flow.world.remote.head() or ""
        # The branch's first push (GitHub's "created": before is zero): every file is new.
        created = ingest_push(database, flow.world, before=ZERO_SHA, after=head)
        outcome = run_request(flow, space_request(flow, created, API_SPACE))
        assert outcome.success and outcome.run_id
        assert step_metadata(flow.instance, outcome.run_id, "clone")["onboarding"] == (
            ONBOARDING_NOTE
        )
        assert step_metadata(flow.instance, outcome.run_id, "sync_back")["onboarding"] == (
            ONBOARDING_NOTE
        )
        baseline = _changeset_of_run(flow, outcome.run_id)
        assert baseline.status is ChangesetStatus.EMPTY and baseline.docs == []
        assert f"onboarding: {ONBOARDING_NOTE}" in baseline.summary
        assert _binding_head(flow, API_SPACE) == head  # the baseline is covered

        # The space's first backfill (a UI launch with no config): a baseline too.
        backfill = launch_catch_up(flow, GUIDES_SPACE)
        assert backfill.success
        assert step_metadata(flow.instance, backfill.run_id, "clone")["onboarding"] == (
            ONBOARDING_NOTE
        )
        assert _changeset_of_run(flow, backfill.run_id).docs == []
        assert _binding_head(flow, GUIDES_SPACE) == head
        with database.unit_of_work() as uow:
            cursor = uow.coverage.source_cursor(flow.world.source_id, "main")
        assert cursor is not None and cursor.head_sha == head  # every space reached it

        # A full review, asked for in the run config: a new space's first backfill proposes
        # (from the source cursor, where a new space joins the others, to the branch head).
        new_head = flow.world.remote.commit_and_push({"README.md": "# widgets 2\n"}, "readme")
        with database.unit_of_work() as uow:
            space = uow.spaces.add("handbook")
            uow.spaces.bind("handbook", TRUE_SOURCE)
            uow.docs.put(
                space.id,
                "readme.md",
                "---\nattention:\n  - op: file\n    path: README.md\n---\n# Readme\n",
            )
            uow.commit()
        review = launch_catch_up(
            flow,
            "handbook",
            {"ops": {"clone": {"config": {"onboarding": OnboardingMode.REVIEW.value}}}},
        )
        assert review.success
        assert "onboarding" not in step_metadata(flow.instance, review.run_id, "clone")
        reviewed = _changeset_of_run(flow, review.run_id)
        assert reviewed.status is ChangesetStatus.OPEN
        assert [d.path for d in reviewed.docs] == ["readme.md"]
        with database.unit_of_work() as uow:
            [processed] = uow.coverage.ranges_by_run(review.run_id)
        assert (processed.base_sha, processed.head_sha) == (head, new_head)
        assert processed.comparison is Comparison.EVENT_BASE


def test_the_onboarding_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JRN_ONBOARDING", raising=False)
    assert CliImpactConfig().onboarding_mode() is OnboardingMode.BASELINE
    monkeypatch.setenv("JRN_ONBOARDING", "review")
    assert CliImpactConfig().onboarding_mode() is OnboardingMode.REVIEW
    assert CliImpactConfig(onboarding="baseline").onboarding_mode() is OnboardingMode.BASELINE
    with pytest.raises(InvalidInputError, match="use one of baseline, review"):
        CliImpactConfig(onboarding="everything").onboarding_mode()


PLATFORM_DOCS = {
    "platform.md": """---
attention:
  - op: file
    path: src/api/*.py
    source: widgets
  - op: file
    path: lib/**
    source: gadgets
  - op: file
    path: '**'
    source: missing
---
# Platform
""",
    "cli.md": """---
attention:
  - op: file
    path: README.md
    source: widgets-local
---
# CLI
""",
}


def test_every_source_the_rules_name_is_resolved(database: Database, tmp_path: Path) -> None:
    """A space bound to the pushed true source, a virtual source of the same repository, a
    virtual source of another repository (a second local bare repository) and one whose
    repository does not exist."""
    with demo_flow(database, tmp_path) as flow:
        gadgets = LocalRemote(tmp_path / "git", RepoCoordinate.parse("github.com/acme/gadgets"))
        gadgets.ensure()
        gadgets_head = gadgets.commit_and_push({"lib/gadget.py": "G = 1\n"}, "gadgets")
        with database.unit_of_work() as uow:
            uow.sources.add("gadgets", repo="github.com/acme/gadgets", branch="main")
            uow.sources.add("missing", repo="github.com/acme/missing", branch="main")
            space = uow.spaces.add("platform")
            for name in (TRUE_SOURCE, VIRTUAL_SOURCE, "gadgets", "missing"):
                uow.spaces.bind("platform", name)
            for path, content in PLATFORM_DOCS.items():
                uow.docs.put(space.id, path, content)
            uow.commit()

        event = push_change(database, flow.world)  # changes src/api/routes.py and README.md
        outcome = run_request(flow, space_request(flow, event, "platform"))
        assert outcome.success and outcome.run_id
        with database.unit_of_work() as uow:
            [processed] = uow.coverage.ranges_by_run(outcome.run_id)
        report = processed.report or {}
        assert [doc["path"] for doc in report["impacted"]] == ["cli.md", "platform.md"]
        # Another repository: checked out at its branch head with the same host's integration.
        assert [(c["name"], c["headSha"], c["credential"]) for c in report["contextSources"]] == [
            ("gadgets", gadgets_head, f"integration {INTEGRATION}")
        ]
        # One that cannot be had: a named warning.
        [unresolved] = [w for w in report["warnings"] if w["code"] == "unresolved_source"]
        assert unresolved["sourceName"] == "missing"
        assert "platform.md" in unresolved["message"]
        assert "github.com/acme/missing main cannot be had" in unresolved["message"]

        # The virtual source of the pushed repository gets its notice like any impacted doc.
        changeset = _changeset_of_run(flow, outcome.run_id)
        proposed = {d.path: d.proposed_content for d in changeset.docs}
        assert "jrn:source-changed:start source=widgets-local" in proposed["cli.md"]
        assert "`README.md`" in proposed["cli.md"]
        assert "jrn:source-changed:start source=widgets " in proposed["platform.md"]
