"""The proposal lifecycle through real pushes, the real sensor and real runs, on SQLite and
PostgreSQL (docs/decisions.md, "One open proposal per doc")."""

from pathlib import Path

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, push_change
from jrn_dagster.domain.records import ChangesetStatus
from jrn_dagster_tests.support.cli import cli_json, run_cli
from jrn_dagster_tests.support.flow import demo_flow, run_request, space_request

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
