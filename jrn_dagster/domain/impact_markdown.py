"""The impact report as a bounded markdown table, for Dagster metadata and humans."""

from typing import TYPE_CHECKING

from jrn_dagster.domain.markdown_text import table_cell, table_code

if TYPE_CHECKING:
    from jrn_dagster.domain.impact import Evidence, ImpactReport, ReportWarning


def _changed(evidence: "Evidence") -> str:
    if evidence.old_path and evidence.old_path != evidence.changed_file:
        return f"{table_code(evidence.old_path)} → {table_code(evidence.changed_file)}"
    return table_code(evidence.changed_file)


def _match(evidence: "Evidence") -> str:
    match evidence.keyword_check:
        case "matched":
            return f"{evidence.match_type} + keyword {table_cell(repr(evidence.keyword))}"
        case "diff_unavailable":
            return f"{evidence.match_type} (keywords not checked: no diff)"
        case _:
            return str(evidence.match_type)


def _evidence_rows(report: "ImpactReport", max_rows: int) -> list[str]:
    rows = [
        "| Doc | JRN | Source | Changed file | Status | Match | Pattern |",
        "|---|---|---|---|---|---|---|",
    ]
    shown = 0
    total = report.counts.evidence
    for doc in report.impacted:
        for evidence in doc.evidence:
            if shown >= max_rows:
                break
            source = f"{table_cell(evidence.source_name)} ({evidence.source_kind})"
            cells = [
                table_code(doc.path),
                table_cell(doc.jrn),
                source,
                _changed(evidence),
                str(evidence.status),
                _match(evidence),
                table_code(evidence.pattern),
            ]
            rows.append(f"| {' | '.join(cells)} |")
            shown += 1
    if total > shown:
        rows.append("")
        rows.append(f"… and {total - shown} more evidence line(s)")
    return rows


def _warning_rows(warnings: "list[ReportWarning]", max_warnings: int) -> list[str]:
    rows = ["| Doc | Rule | Code | Message |", "|---|---|---|---|"]
    for warning in warnings[:max_warnings]:
        rule = "" if warning.rule_index is None else str(warning.rule_index)
        doc = table_code(warning.doc_path) or table_cell(warning.source_name)
        rows.append(f"| {doc} | {rule} | {warning.code} | {table_cell(warning.message)} |")
    if len(warnings) > max_warnings:
        rows.append("")
        rows.append(f"… and {len(warnings) - max_warnings} more warning(s)")
    return rows


def render_impact_markdown(report: "ImpactReport", *, max_rows: int, max_warnings: int) -> str:
    counts = report.counts
    sources = ", ".join(
        f"{table_cell(s.name)} ({s.kind}, {s.changed_files} file(s)"
        + (", full tree: no base" if s.full_tree else "")
        + (f"; {table_cell(s.comparison)}" if s.comparison and not s.full_tree else "")
        + ")"
        for s in report.sources
    )
    lines = [
        f"**{counts.impacted_docs}** of {counts.docs_scanned} doc(s) impacted by "
        f"{counts.changed_files} changed file(s); {counts.rules} rule(s), "
        f"{counts.rules_skipped} skipped; {len(report.warnings)} warning(s).",
        "",
        f"Sources: {sources or 'none'}",
        "",
    ]
    if report.impacted:
        lines.extend(_evidence_rows(report, max_rows))
    else:
        lines.append("No doc is impacted.")
    if report.warnings:
        lines.extend(["", "**Warnings**", ""])
        lines.extend(_warning_rows(report.warnings, max_warnings))
    return "\n".join(lines) + "\n"
