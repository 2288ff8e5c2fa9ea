"""Each proposed doc carries its evidence, each changeset the range's commits: read with git in
the sandbox before the agent, bounded, stored with the changeset, shown in the notice."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.report import review_lines
from jrn_dagster.ops.cli_impact import agent, sync_back
from jrn_dagster_tests.support.agent_steps import push_commits, up_to_agent
from jrn_dagster_tests.support.flow import Flow, demo_flow

HOSTILE_SUBJECT = "\x1b]0;pwned\x07<script>alert(1)</script> [x](javascript:y)"


@pytest.fixture
def flow(database: Database, tmp_path: Path) -> Iterator[Flow]:
    with demo_flow(database, tmp_path) as flow:
        yield flow


def test_proposals_and_changeset_carry_evidence_and_commits(flow: Flow) -> None:
    event_id = push_commits(
        flow,
        [
            ({"src/api/routes.py": 'ROUTES = ["/a"]\n'}, "Add route /a (#488)"),
            ({"README.md": "# w\n"}, HOSTILE_SUBJECT),
            ({"src/api/routes.py": 'ROUTES = ["/b"]\n'}, "Merge pull request #489 from acme/b"),
        ],
    )
    with up_to_agent(flow, event_id) as step:
        proposals = agent(step.context, step.checkouts, step.synced, step.report)
        changeset_id = sync_back(step.context, step.checkouts, proposals)

    [commits] = proposals.commits
    assert commits.source_name == "widgets"
    assert [(c.subject, c.pr_number) for c in commits.commits] == [
        ("Merge pull request #489 from acme/b", 489),
        ("]0;pwned <script>alert(1)</script> [x](javascript:y)", None),  # no control character
        ("Add route /a (#488)", 488),
    ]
    assert all(c.author for c in commits.commits)
    [doc] = proposals.docs
    assert doc.path == "reference/routes.md"
    assert [(e.changed_file, e.pattern, e.status) for e in doc.evidence] == [
        ("src/api/routes.py", "src/api/**/*.py", "modified")
    ]
    assert "> Commits (3):" in doc.content and "Add route /a (#488) (" in doc.content
    assert "<script>" not in doc.content and "\x1b" not in doc.content

    with flow.database.unit_of_work() as uow:
        stored = uow.changesets.get(changeset_id)
        review = review_lines(uow, stored)  # what the demo prints
    assert stored.commits == proposals.commits
    assert stored.docs[0].evidence == doc.evidence

    assert review[0].startswith("Commits of widgets ") and review[0].endswith(" (3):")
    assert review[1].endswith("Merge pull request #489 from acme/b  (jrn demo)  PR #489")
    assert "=== reference/routes.md (proposed over version 1) ===" in review
    assert (
        "  evidence: widgets (true): src/api/routes.py [modified] matched glob "
        "'src/api/**/*.py'" in review
    )
    assert "+> Commits (3):" in review and "--- a/reference/routes.md" in review
    assert not any("\x1b" in line for line in review)


def test_commits_are_bounded(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    from jrn_dagster.services import commits as commits_service

    original = commits_service.log_argv
    monkeypatch.setattr(
        commits_service, "log_argv", lambda base, head: original(base, head, limit=2)
    )
    monkeypatch.setattr(commits_service, "parse_log", _parse_with_limit(2))
    event_id = push_commits(
        flow, [({"src/api/routes.py": f"ROUTES = [{n}]\n"}, f"change {n}") for n in range(5)]
    )
    with up_to_agent(flow, event_id) as step:
        proposals = agent(step.context, step.checkouts, step.synced, step.report)
    [commits] = proposals.commits
    assert [c.subject for c in commits.commits] == ["change 4", "change 3"]
    assert commits.omitted == 1  # "at least one more": the log is read one past the limit
    assert "> Commits (2+1):" in proposals.docs[0].content


def _parse_with_limit(limit: int):
    from jrn_dagster.domain.commits import parse_log

    return lambda output: parse_log(output, limit=limit)
