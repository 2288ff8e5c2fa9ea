"""What one doc's proposal covers: this run's ranges of the sources that impacted it, after the
ranges of the open proposal it takes over (docs/decisions.md, "One open proposal per doc")."""

from jrn_dagster.domain.covers import CoveredChange, SourceUnion, carry_covers, union_by_source
from jrn_dagster.domain.impact import ImpactedDoc, ImpactReport
from jrn_dagster.domain.steps import Checkouts, SourceCheckout


def checkout_of(
    source_id: int, report: ImpactReport, checkouts: Checkouts
) -> SourceCheckout | None:
    """The run's checkout a source's evidence comes from: its own, or for a virtual source the
    true checkout of the same repository it sees."""
    by_id = {c.plan.source_id: c for c in checkouts.true_sources}
    if source_id in by_id:
        return by_id[source_id]
    summary = next((s for s in report.sources if s.id == source_id), None)
    if summary is None or summary.view_of is None:
        return None
    return by_id.get(summary.view_of)


def run_covers(doc: ImpactedDoc, report: ImpactReport, checkouts: Checkouts) -> list[CoveredChange]:
    """This run's ranges of each source with evidence for ``doc``."""
    files: dict[int, set[str]] = {}
    names: dict[int, str] = {}
    for evidence in doc.evidence:
        files.setdefault(evidence.source_id, set()).add(evidence.changed_file)
        names[evidence.source_id] = evidence.source_name
    covers = []
    for source_id in sorted(files):
        checkout = checkout_of(source_id, report, checkouts)
        if checkout is None:
            continue
        covers.append(
            CoveredChange(
                source_name=names[source_id],
                repo=checkout.plan.repo or None,
                base_sha=checkout.range.base_sha,
                head_sha=checkout.range.head_sha,
                changed_files=sorted(files[source_id]),
            )
        )
    return covers


def doc_covers(doc: ImpactedDoc, report: ImpactReport, checkouts: Checkouts) -> list[CoveredChange]:
    """Everything the doc's proposal covers: the open proposal's ranges, then this run's."""
    return carry_covers(doc.carried, run_covers(doc, report, checkouts))


def doc_unions(doc: ImpactedDoc, report: ImpactReport, checkouts: Checkouts) -> list[SourceUnion]:
    """Per source, oldest base to newest head: what a notice says."""
    unions = union_by_source(doc_covers(doc, report, checkouts))
    return [unions[name] for name in sorted(unions)]
