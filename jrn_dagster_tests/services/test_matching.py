"""Matching (docs/contract.md#matching) on a world with every reason to drop a source or binding."""

import pytest
from sqlalchemy import event

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.refs import ZERO_SHA
from jrn_dagster.domain.steps import CliImpactJobParams
from jrn_dagster.services.matching import Outcome, explain_event, match_event
from jrn_dagster_tests.support.github import sha_for
from jrn_dagster_tests.support.world import World, matching_world, store_event, store_push

JRN_MAIN = "jrn::path:/home/global/sources/github/acme/widgets/main"
BEFORE, AFTER = sha_for("before"), sha_for("after")


def _match(database: Database, event_id: int):
    with database.unit_of_work() as uow:
        return match_event(uow.matching, uow.events.get(event_id))


def test_push_to_main_matches_exactly_the_true_sources(database: Database) -> None:
    world = matching_world(database)
    event = store_push(database, owner="ACME", before=BEFORE, after=AFTER, installation_id=42)
    result = _match(database, event.id)
    assert result.outcome is Outcome.MATCHED
    # matched case-insensitively; the JRN names the repository as the event did
    jrn = JRN_MAIN.replace("/acme/", "/ACME/")
    common = {"event_jrn": jrn, "head_sha": AFTER, "base_sha": BEFORE}
    space = lambda *slugs: sorted(world[f"space:{s}"] for s in slugs)  # noqa: E731
    assert result.params == [
        CliImpactJobParams(
            source_id=world["source:main"],
            integration_id=world["integration:gh"],
            affected_space_ids=space("alpha", "beta"),
            **common,
        ),
        CliImpactJobParams(
            source_id=world["source:every"],
            integration_id=world["integration:gh"],
            affected_space_ids=space("beta", "gamma"),
            **common,
        ),
        CliImpactJobParams(
            source_id=world["source:app"],
            integration_id=world["integration:app"],
            affected_space_ids=space("alpha"),
            **common,
        ),
    ]
    assert result.space_slugs[world["space:gamma"]] == "gamma"


def test_explain_says_why_each_was_dropped(database: Database) -> None:
    matching_world(database)
    event = store_push(database, before=BEFORE, after=AFTER, installation_id=42)
    with database.unit_of_work() as uow:
        _, verdicts = explain_event(uow, uow.events.get(event.id))
    reasons = {(v.source_name, v.space_slug): (v.kept, v.reason) for v in verdicts}
    assert reasons[("widgets-main", "alpha")] == (True, "matched")
    assert reasons[("widgets-main", "archived")] == (False, "space archived")
    assert reasons[("widgets-main", "quiet")] == (False, "binding disabled")
    assert reasons[("widgets-all", "patterned")][0] is False
    assert "does not match binding pattern" in reasons[("widgets-all", "patterned")][1]
    assert reasons[("widgets-dev", None)] == (
        False,
        "source follows branch 'dev', push is to 'main'",
    )
    assert reasons[("widgets-local", None)][1].startswith("virtual source")
    assert reasons[("widgets-off", None)] == (False, "source disabled")
    assert reasons[("widgets-suspended", None)] == (
        False,
        "integration 'gh-suspended' is suspended",
    )
    assert "installation 43 is not the event's (42)" in reasons[("widgets-app-other", None)][1]
    assert not any(name == "gadgets" for name, _ in reasons)  # another repository
    # explain and the SQL agree on what is kept
    kept = {(name, slug) for (name, slug), (ok, _) in reasons.items() if ok}
    assert kept == {
        ("widgets-main", "alpha"),
        ("widgets-main", "beta"),
        ("widgets-all", "beta"),
        ("widgets-all", "gamma"),
        ("widgets-app", "alpha"),
    }


def test_app_sources_need_the_events_installation(database: Database) -> None:
    world = matching_world(database)
    event = store_push(database, before=BEFORE, after=AFTER)  # a repository webhook
    sources = [p.source_id for p in _match(database, event.id).params]
    assert world["source:app"] not in sources
    assert sources == [world["source:main"], world["source:every"]]


def test_jrn_patterns_narrow_and_branches_with_slashes(database: Database) -> None:
    world = matching_world(database)
    event = store_push(database, branch="release/1.0", before=BEFORE, after=AFTER)
    [params] = _match(database, event.id).params
    assert params.source_id == world["source:every"]
    assert params.event_jrn.endswith("/acme/widgets/release/1.0")
    assert params.affected_space_ids == sorted(
        world[f"space:{s}"] for s in ("beta", "gamma", "patterned")
    )


def test_base_sha_comes_from_the_cursor_when_before_is_zero_or_forced(database: Database) -> None:
    world = matching_world(database)
    cursor = sha_for("cursor")
    with database.unit_of_work() as uow:
        uow.coverage.move_source_cursor(
            world["source:main"], "main", head_sha=cursor, event_id=1, forced=False, expected=None
        )
        uow.commit()
    forced = store_push(database, before=BEFORE, after=AFTER, forced=True)
    created = store_push(database, before=ZERO_SHA, after=AFTER)
    for pushed in (forced, created):
        bases = {p.source_id: p.base_sha for p in _match(database, pushed.id).params}
        assert bases[world["source:main"]] == cursor  # its cursor on main
        assert bases[world["source:every"]] is None  # no cursor yet: no base


@pytest.mark.parametrize(
    ("fields", "event_type", "outcome"),
    [
        ({"tag": "v1.0"}, "push", Outcome.NOTHING_TO_DO),
        ({"after": ZERO_SHA}, "push", Outcome.NOTHING_TO_DO),
        ({"owner": "someone-else"}, "push", Outcome.NO_TRUE_SOURCE),
        ({}, "issues", Outcome.NOT_A_PUSH),
    ],
)
def test_events_that_start_nothing(
    database: Database, fields: dict, event_type: str, outcome: Outcome
) -> None:
    matching_world(database)
    from jrn_dagster_tests.support.github import push_payload

    event = store_event(database, push_payload(**fields), event_type=event_type)
    result = _match(database, event.id)
    assert result.outcome is outcome
    assert result.params == []


def test_malformed_payload_is_reported_not_raised(database: Database) -> None:
    matching_world(database)
    event = store_event(database, {"ref": "refs/heads/main", "before": "nope"})
    result = _match(database, event.id)
    assert result.outcome is Outcome.INVALID
    assert "before" in (result.detail or "")


def test_matching_is_a_fixed_number_of_indexed_queries(database: Database) -> None:
    """No scan of sources in Python: one query whatever the number of sources."""
    world: World = matching_world(database)
    with database.unit_of_work() as uow:
        for i in range(50):
            uow.sources.add(f"noise-{i}", repo=f"github.com/acme/noise-{i}", integration="gh")
        uow.commit()
    pushed = store_push(database, before=BEFORE, after=AFTER, installation_id=42)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        with database.unit_of_work() as uow:
            loaded = uow.events.get(pushed.id)
            statements.clear()
            result = match_event(uow.matching, loaded)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert len(result.params) == 3 and world["source:main"] == result.params[0].source_id
    assert len(statements) == 1
    assert "repo_key" in statements[0]


def test_match_command_prints_params_and_explains(database: Database) -> None:
    import json

    from jrn_dagster_tests.support.cli import run_cli

    world = matching_world(database)
    event = store_push(database, before=BEFORE, after=AFTER, installation_id=42)
    as_json = run_cli(database.url, "match", str(event.id), "--json")
    assert as_json.exit_code == 0
    params = json.loads(as_json.stdout)
    assert [p["sourceId"] for p in params] == [
        world["source:main"],
        world["source:every"],
        world["source:app"],
    ]
    assert set(params[0]) == {
        "sourceId",
        "integrationId",
        "eventJrn",
        "headSha",
        "baseSha",
        "affectedSpaceIds",
    }
    explained = run_cli(database.url, "match", str(event.id), "--explain")
    assert explained.exit_code == 0
    assert "widgets-local" in explained.stdout and "virtual source" in explained.stdout
    assert "space archived" in explained.stdout
    missing = run_cli(database.url, "match", "999999")
    assert missing.exit_code == 2 and "event 999999 does not exist" in missing.stderr
