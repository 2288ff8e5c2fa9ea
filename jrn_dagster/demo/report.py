"""What the demo shows after its runs: per space, the impacted docs, evidence and changesets."""

from dataclasses import dataclass, field

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.demo.runner import RunOutcome
from jrn_dagster.domain.records import Changeset
from jrn_dagster.domain.review import (
    commit_lines,
    doc_state,
    evidence_text,
    terminal_safe,
    unified_diff,
)

MAX_DIFF_LINES_SHOWN = 40


@dataclass
class SpaceResult:
    space: str
    run_id: str | None
    success: bool
    status: str | None = None
    impacted: list[tuple[str, list[str]]] = field(default_factory=list)  # doc, evidence lines
    warnings: list[str] = field(default_factory=list)
    changeset: str | None = None
    # The changeset as a reviewer sees it (``changesets show``): commits, evidence, diffs.
    review: list[str] = field(default_factory=list)


def review_lines(uow: UnitOfWork, changeset: Changeset) -> list[str]:
    """Commits of the range, then per doc its evidence and its diff against the current doc."""
    lines: list[str] = []
    for commits in changeset.commits:
        lines.extend(commit_lines(commits))
    for doc in changeset.docs:
        current = uow.docs.find(changeset.space_id, doc.path)
        lines.append(f"=== {terminal_safe(doc.path)} ({doc_state(doc, current)}) ===")
        lines.extend(f"  evidence: {evidence_text(e)}" for e in doc.evidence)
        diff = [terminal_safe(line) for line in unified_diff(doc, current)]
        lines.extend(diff[:MAX_DIFF_LINES_SHOWN])
        if len(diff) > MAX_DIFF_LINES_SHOWN:
            lines.append(f"… {len(diff) - MAX_DIFF_LINES_SHOWN} more diff line(s)")
    return lines


def space_results(database: Database, outcomes: list[RunOutcome]) -> list[SpaceResult]:
    results = []
    with database.unit_of_work() as uow:
        for outcome in outcomes:
            result = SpaceResult(outcome.space, outcome.run_id, outcome.success)
            run_id = outcome.run_id
            pushes = uow.coverage.pushes_by_run(run_id) if run_id else []
            if pushes:
                result.status = pushes[0].status.value
            for record in uow.coverage.ranges_by_run(run_id) if run_id else []:
                report = record.report or {}
                for doc in report.get("impacted", []):
                    lines = [
                        f"{e['sourceName']} ({e['sourceKind']}): {e['changedFile']} "
                        f"[{e['status']}] matched {e['pattern']!r} ({e['matchType']})"
                        for e in doc.get("evidence", [])
                    ]
                    result.impacted.append((doc["path"], lines))
                result.warnings = [
                    f"{w.get('docPath') or '-'}: {w['message']}" for w in report.get("warnings", [])
                ]
                if record.changeset_id is not None:
                    changeset = uow.changesets.get(record.changeset_id)
                    docs = ", ".join(d.path for d in changeset.docs) or "nothing to propose"
                    result.changeset = f"#{changeset.id} {changeset.status.value}: {docs}"
                    result.review = review_lines(uow, changeset)
            results.append(result)
    return results
