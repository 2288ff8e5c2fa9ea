"""What the demo shows after its runs: per space, the impacted docs, evidence and changesets."""

from dataclasses import dataclass, field

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.runner import RunOutcome


@dataclass
class SpaceResult:
    space: str
    run_id: str | None
    success: bool
    status: str | None = None
    impacted: list[tuple[str, list[str]]] = field(default_factory=list)  # doc, evidence lines
    warnings: list[str] = field(default_factory=list)
    changeset: str | None = None


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
            results.append(result)
    return results
