"""The replay tally on hand-made ranges: shares, the noisy threshold, never-fired suggestions."""

import pytest

from jrn_dagster.domain import rules_replay
from jrn_dagster.domain.changes import ChangedFile, ChangeStatus, SourceChanges, SourceRef
from jrn_dagster.domain.frontmatter import parse_doc
from jrn_dagster.domain.impact import prepare_rules
from jrn_dagster.domain.rules_replay import (
    ReplayMode,
    ReplayRange,
    ReplayTally,
    closest_paths,
    directories_of,
)

API = SourceRef(id=1, name="api", kind="true")
FILES = ["README.md", "services/billing/api.py", "services/payments/app.py", "web/index.ts"]


def doc(path: str, *patterns: str) -> str:
    rules = "".join(f"  - {{op: file, path: '{p}'}}\n" for p in patterns)
    return f"---\nattention:\n{rules}---\n# {path}\n"


def tally_of(docs: dict[str, str], ranges: list[list[str]]) -> ReplayTally:
    prepared = prepare_rules([parse_doc(p, t) for p, t in docs.items()], ["api"])
    tally = ReplayTally(prepared, ["api"])
    for number, files in enumerate(ranges):
        changed = [ChangedFile(path=f, status=ChangeStatus.MODIFIED) for f in files]
        fired = prepared.fired_rules([SourceChanges(source=API, files=changed)])
        tally.add(
            ReplayRange(sha=f"{number:040x}", base_sha=None, subject=f"r{number}", changed_files=1),
            fired,
        )
    return tally


def report_of(tally: ReplayTally, noisy_share: float = 0.5) -> rules_replay.ReplayReport:
    return tally.report(
        space="s",
        repository="r",
        branch="main",
        head_sha="f" * 40,
        mode=ReplayMode.FIRST_PARENT,
        head_files=FILES,
        noisy_share=noisy_share,
        seconds=1.0,
        timings={},
    )


def test_directories_of_lists_every_ancestor_once() -> None:
    assert directories_of(["a/b/c.txt", "a/d.txt", "e.txt", "a/b/f.txt"]) == ["a/", "a/b/"]


@pytest.mark.parametrize(
    ("pattern", "closest"),
    [
        ("READMEE.md", ["README.md"]),  # a literal path: the files
        ("servcies/billing/**", ["services/billing/", "services/"]),  # a missing directory
        ("services/payments/*.ts", ["services/payments/app.py"]),  # files below the directory
        ("legacy/old.py", []),
    ],
)
def test_closest_paths(pattern: str, closest: list[str]) -> None:
    assert closest_paths(pattern, FILES, directories_of(FILES)) == closest


def test_noisy_means_more_than_the_share_and_last_ranges_are_newest_first() -> None:
    tally = tally_of(
        {"half.md": doc("half.md", "README.md"), "all.md": doc("all.md", "**")},
        [["README.md"], ["web/index.ts"], ["README.md"], ["web/index.ts"]],
    )
    report = report_of(tally)
    assert [(r.doc_path, r.ranges) for r in report.noisy] == [("all.md", 4)]
    assert [(r.doc_path, r.ranges) for r in report_of(tally, 0.49).noisy] == [
        ("all.md", 4),
        ("half.md", 2),
    ]
    half = next(d for d in report.docs if d.path == "half.md")
    assert (half.ranges, half.share) == (2, 0.5)
    assert [ref.subject for ref in half.last_ranges] == ["r2", "r0"]
    assert [r.flagged_docs for r in report.ranges] == [2, 1, 2, 1]
    assert report.totals.flagged_pairs == 6


def test_suggestions_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_replay, "MAX_RULES_WITH_SUGGESTIONS", 1)
    tally = tally_of({"typos.md": doc("typos.md", "READMEE.md", "web/indx.ts", "README.md")}, [])
    never = report_of(tally).never_fired
    assert [(r.pattern, r.files_at_head, r.closest_paths) for r in never] == [
        ("READMEE.md", 0, ["README.md"]),
        ("web/indx.ts", 0, None),  # not computed: over the bound
        ("README.md", 1, []),  # it exists: quiet, not a typo
    ]
