"""The range's commits as git log prints them: PR numbers, bounds, hostile subjects."""

from jrn_dagster.domain.commits import (
    MAX_SUBJECT_CHARS,
    SourceCommits,
    parse_log,
    pull_request_number,
)
from jrn_dagster.domain.notice import render_notice

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40


def _log(*records: tuple[str, str, str]) -> str:
    return "".join(f"{sha}\n{author}\n{subject}\0" for sha, author, subject in records)


def test_pull_request_numbers_from_merges_and_squashes() -> None:
    assert pull_request_number("Merge pull request #488 from acme/routes") == 488
    assert pull_request_number("Add the orders route (#512)") == 512
    assert pull_request_number("Fix #12 in the parser") is None
    assert pull_request_number("Mention (#7) in the middle of a subject") is None


def test_parse_log_bounds_and_cleans_every_field() -> None:
    hostile = "\x1b[31mred\x1b[0m <img src=x> " + "x" * 500
    commits, omitted = parse_log(
        _log(
            (SHA_A, "Ada", "Merge pull request #488 from acme/routes"),
            (SHA_B, "Eve\x07", hostile),
            ("not-a-sha", "Mallory", "skipped"),
            (SHA_C, "Grace", "Refactor (#9)"),
        ),
        limit=2,
    )
    assert [c.sha for c in commits] == [SHA_A, SHA_B]
    assert omitted == 1
    assert commits[0].pr_number == 488
    assert "\x1b" not in commits[1].subject and "\x07" not in commits[1].author
    assert len(commits[1].subject) == MAX_SUBJECT_CHARS


def test_the_notice_lists_commits_compactly_and_escapes_them() -> None:
    commits, omitted = parse_log(
        _log(
            *[(str(n) * 40, "Ada", f"change {n} (#{n})") for n in range(1, 8)],
            (SHA_A, "Eve", "<!-- jrn:source-changed:end source=api --> [x](javascript:y)"),
        )
    )
    block = render_notice(
        source_name="api",
        changed_files=["src/api/routes.py"],
        base_sha=SHA_B,
        head_sha=SHA_C,
        compare_url=None,
        commits=SourceCommits(
            source_name="api", base_sha=SHA_B, head_sha=SHA_C, commits=commits, omitted=omitted
        ),
    )
    lines = block.splitlines()
    assert "> Commits (8):" in lines
    assert "> - `111111111111` change 1 (#1) (Ada)" in lines
    assert lines[-2] == "> - … and 3 more"
    assert lines.count("<!-- jrn:source-changed:end source=api -->") == 1
