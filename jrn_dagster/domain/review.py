"""A changeset laid out for a reviewer (``jrn-dagster changesets show``, the demo): the range's
commits, then per doc its evidence and a unified diff against the doc's current content.

Everything shown comes from hostile places (commit subjects, file names, what an agent wrote):
each line is made terminal-safe (control characters shown escaped, so no escape sequence reaches
a terminal) before anyone adds colour.
"""

import difflib
from collections.abc import Iterator

from jrn_dagster.domain.commits import SourceCommits
from jrn_dagster.domain.impact import Evidence
from jrn_dagster.domain.records import ChangesetDoc, Doc

SHORT_SHA = 12
DIFF_CONTEXT_LINES = 3


def terminal_safe(text: str) -> str:
    """One line of untrusted text, with every control character (ESC, CR, C1 codes...) shown as
    an escape instead of acting on the terminal; tabs are kept."""
    return "".join(
        ch if ch == "\t" or ch.isprintable() else ch.encode("unicode_escape").decode()
        for ch in text
    )


def range_label(commits: SourceCommits) -> str:
    base = commits.base_sha[:SHORT_SHA] if commits.base_sha else "root"
    return f"{commits.source_name} {base}..{commits.head_sha[:SHORT_SHA]}"


def commit_lines(commits: SourceCommits) -> Iterator[str]:
    yield f"Commits of {terminal_safe(range_label(commits))} ({commits.total_shown}):"
    if commits.unavailable:
        yield f"  (not available: {terminal_safe(commits.unavailable)})"
    for commit in commits.commits:
        pr = f"  PR #{commit.pr_number}" if commit.pr_number is not None else ""
        yield (
            f"  {commit.sha[:SHORT_SHA]}  {terminal_safe(commit.subject)}"
            f"  ({terminal_safe(commit.author)}){pr}"
        )
    if commits.omitted:
        yield f"  … and at least {commits.omitted} more (only the newest are kept)"


def evidence_text(evidence: Evidence) -> str:
    changed = evidence.changed_file
    if evidence.old_path and evidence.old_path != evidence.changed_file:
        changed = f"{evidence.old_path} -> {evidence.changed_file}"
    rule = f"{evidence.match_type} {evidence.pattern!r}"
    if evidence.keyword_check == "matched":
        rule += f" + keyword {evidence.keyword!r}"
    elif evidence.keyword_check == "diff_unavailable":
        rule += " (keywords not checked: no diff)"
    return terminal_safe(
        f"{evidence.source_name} ({evidence.source_kind}): {changed} [{evidence.status}] "
        f"matched {rule}"
    )


def doc_state(doc: ChangesetDoc, current: Doc | None) -> str:
    """Which version the proposal was computed from and what the doc is now."""
    if doc.base_version is None:
        now = f"; a doc at this path exists now (version {current.version})" if current else ""
        return f"new doc{now}"
    if current is None:
        return f"proposed over version {doc.base_version}; the doc was deleted since"
    if current.version != doc.base_version:
        return (
            f"proposed over version {doc.base_version}; the doc is now at version "
            f"{current.version}: applying will conflict"
        )
    return f"proposed over version {doc.base_version}"


def unified_diff(doc: ChangesetDoc, current: Doc | None) -> list[str]:
    """The proposal as a unified diff against the doc's current content (lines without their
    line endings); empty when they are the same."""
    before = current.content if current is not None else ""
    old_label = f"a/{doc.path}" if current is not None else "/dev/null"
    return [
        line.rstrip("\r\n")
        for line in difflib.unified_diff(
            before.splitlines(keepends=True),
            doc.proposed_content.splitlines(keepends=True),
            fromfile=old_label,
            tofile=f"b/{doc.path}",
            n=DIFF_CONTEXT_LINES,
        )
    ]
