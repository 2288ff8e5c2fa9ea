"""``jrn-dagster changesets show`` reads like a review: commits, evidence, a diff against the
doc's current content; ``--full`` bodies, ``--json`` structure; ``list`` filters."""

import pytest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.changes import ChangeStatus
from jrn_dagster.domain.commits import RangeCommit, SourceCommits
from jrn_dagster.domain.globs import MatchKind
from jrn_dagster.domain.impact import Evidence
from jrn_dagster.domain.records import ChangesetDoc
from jrn_dagster_tests.support.cli import cli_json, run_cli

BASE, HEAD = "1" * 40, "2" * 40
ROUTES_V1 = "# Routes\n\nGET /widgets\n"
ROUTES_V2 = "# Routes\n\nGET /widgets\nGET /orders\n"
PROPOSED = "# Routes\n\nGET /widgets\nGET /widgets/{id} \x1b[2J\n"

EVIDENCE = Evidence(
    source_kind="true",
    source_name="widgets",
    source_id=1,
    changed_file="src/api/routes.py",
    pattern="src/api/**/*.py",
    match_type=MatchKind.GLOB,
    status=ChangeStatus.MODIFIED,
)
COMMITS = SourceCommits(
    source_name="widgets",
    base_sha=BASE,
    head_sha=HEAD,
    commits=[
        RangeCommit(sha="3" * 40, subject="Merge pull request #488 from acme/x", author="Ada",
                    pr_number=488),
        RangeCommit(sha="4" * 40, subject="Add the widget route", author="Grace"),
    ],
)  # fmt: skip


def _world(database: Database) -> tuple[int, int]:
    """Space ``api`` with routes.md at version 1, a changeset over it; space ``other`` with an
    empty changeset."""
    with database.unit_of_work() as uow:
        space = uow.spaces.add("api")
        other = uow.spaces.add("other")
        uow.docs.put(space.id, "routes.md", ROUTES_V1)
        changeset, _ = uow.changesets.create_once(
            key="k1",
            space_id=space.id,
            summary="1 doc(s) proposed by NoticeAgent",
            docs=[
                ChangesetDoc(
                    path="routes.md",
                    base_version=1,
                    proposed_content=PROPOSED,
                    evidence=[EVIDENCE],
                ),
                ChangesetDoc(path="new.md", base_version=None, proposed_content="# New\n"),
            ],
            dagster_run_id="run-1",
            commits=[COMMITS],
        )
        uow.changesets.create_once(
            key="k2", space_id=other.id, summary="nothing", docs=[], dagster_run_id="run-2"
        )
        uow.commit()
    return space.id, changeset.id


def test_show_prints_commits_evidence_and_a_diff_against_the_current_doc(
    database: Database,
) -> None:
    _, changeset_id = _world(database)
    result = run_cli(database.url, "changesets", "show", str(changeset_id))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b" not in out  # no colour off a terminal, and the agent's ESC is shown escaped
    assert "\\x1b[2J" in out
    lines = out.splitlines()
    assert "Commits of widgets 111111111111..222222222222 (2):" in lines
    assert "  333333333333  Merge pull request #488 from acme/x  (Ada)  PR #488" in lines
    assert "=== routes.md (proposed over version 1) ===" in lines
    assert "  widgets (true): src/api/routes.py [modified] matched glob 'src/api/**/*.py'" in lines
    assert "--- a/routes.md" in lines and "+++ b/routes.md" in lines
    assert "+GET /widgets/{id} \\x1b[2J" in lines
    assert "=== new.md (new doc) ===" in lines and "--- /dev/null" in lines and "+# New" in lines
    assert "proposed body" not in out
    # Evidence comes before the diff, commits before every doc.
    assert out.index("Commits of") < out.index("Evidence (1):") < out.index("--- a/routes.md")


def test_the_diff_is_against_the_current_content_and_says_it_will_conflict(
    database: Database,
) -> None:
    space_id, changeset_id = _world(database)
    with database.unit_of_work() as uow:
        uow.docs.put(space_id, "routes.md", ROUTES_V2)
        uow.commit()
    out = run_cli(database.url, "changesets", "show", str(changeset_id)).stdout
    assert (
        "=== routes.md (proposed over version 1; the doc is now at version 2: applying will "
        "conflict) ===" in out
    )
    assert "-GET /orders" in out.splitlines()


def test_show_colours_only_on_a_terminal_and_full_prints_bodies(database: Database) -> None:
    _, changeset_id = _world(database)
    coloured = run_cli(database.url, "changesets", "show", str(changeset_id), "--full", color=True)
    assert "\x1b[32m+GET /widgets/{id} \\x1b[2J\x1b[0m" in coloured.stdout
    assert "\x1b[2J" not in coloured.stdout  # the hostile sequence itself never reaches it
    assert "--- proposed body of routes.md ---" in coloured.stdout
    assert "# New" in coloured.stdout.split("--- proposed body of new.md ---")[1]


def test_show_json_is_structured(database: Database) -> None:
    _, changeset_id = _world(database)
    shown = cli_json(database.url, "changesets", "show", str(changeset_id))
    assert shown["commits"][0]["commits"][0] == {
        "sha": "3" * 40,
        "subject": "Merge pull request #488 from acme/x",
        "author": "Ada",
        "prNumber": 488,
    }
    routes = shown["docs"][1]
    assert routes["path"] == "routes.md" and routes["currentVersion"] == 1
    assert routes["evidence"][0]["changedFile"] == "src/api/routes.py"
    assert routes["evidence"][0]["matchType"] == "glob"
    assert routes["content"] == PROPOSED
    assert "+GET /widgets/{id}" in routes["diff"]
    assert shown["docs"][0]["baseVersion"] is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["api", "other"]),
        (("--space", "api"), ["api"]),
        (("--status", "empty"), ["other"]),
        (("--space", "api", "--status", "empty"), []),
    ],
)
def test_list_filters_by_space_and_status(
    database: Database, args: tuple[str, ...], expected: list[str]
) -> None:
    _world(database)
    listed = cli_json(database.url, "changesets", "list", *args)
    assert [row["space"] for row in listed] == expected
