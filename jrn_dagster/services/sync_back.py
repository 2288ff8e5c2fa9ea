"""Proposals become one changeset per run key, whatever re-executes the run; a new changeset is
the one open proposal of each of its docs (docs/decisions.md, "One open proposal per doc")."""

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.domain.records import Changeset, ChangesetDoc
from jrn_dagster.domain.steps import (
    ONBOARDING_NOTE,
    Checkouts,
    PlanMode,
    Proposals,
    SourceCheckout,
    run_key,
)

MAX_REFUSED_NAMED = 10


def changeset_key(checkouts: Checkouts) -> str:
    """Event runs: the run key (source, pushes, space). Catch-up runs: the space and every range
    it processed (the same catch-up re-executed reuses its changeset)."""
    plan = checkouts.plan
    if plan.mode is PlanMode.EVENT:
        work = checkouts.true_sources[0].plan
        return run_key(work.source_id, work.event_ids, plan.space_slug, head_sha=work.head_sha)
    ranges = ",".join(
        f"{c.plan.source_id}:{c.branch}@{c.range.link_from_sha or 'any'}..{c.range.head_sha}"
        for c in checkouts.true_sources
    )
    return f"catch-up|{plan.space_slug}|{ranges}"


def _ranges(checkouts: list[SourceCheckout]) -> str:
    return "; ".join(
        f"{c.plan.source_name} {c.branch} "
        f"{(c.range.base_sha or 'root')[:12]}..{c.range.head_sha[:12]}"
        for c in checkouts
    )


def summarize(checkouts: Checkouts, proposals: Proposals) -> str:
    parts = []
    if checkouts.to_review:
        parts.append(
            f"{len(proposals.docs)} doc(s) proposed by {proposals.agent} for "
            f"{_ranges(checkouts.to_review)}"
        )
    if proposals.refused:
        shown = ", ".join(r.path for r in proposals.refused[:MAX_REFUSED_NAMED])
        more = len(proposals.refused) - MAX_REFUSED_NAMED
        parts.append(
            f"{len(proposals.refused)} answer(s) refused: {shown}"
            + (f", and {more} more" if more > 0 else "")
        )
    baselines = [c for c in checkouts.true_sources if c.needs_work and c.baseline]
    if baselines:
        parts.append(f"onboarding: {ONBOARDING_NOTE} for {_ranges(baselines)}")
    return "; ".join(parts)


def write_changeset(
    database: Database, checkouts: Checkouts, proposals: Proposals, dagster_run_id: str
) -> tuple[Changeset, bool]:
    """Create (or find) the changeset and link it to the run's ranges. A run with nothing to
    propose records an empty changeset, so that is explicit too."""
    with database.unit_of_work(serializable_write=True) as uow:
        changeset, created = _write(uow, checkouts, proposals, dagster_run_id)
        uow.commit()
    return changeset, created


def _write(
    uow: UnitOfWork, checkouts: Checkouts, proposals: Proposals, dagster_run_id: str
) -> tuple[Changeset, bool]:
    changeset, created = uow.changesets.create_once(
        key=changeset_key(checkouts),
        space_id=checkouts.plan.space_id,
        summary=summarize(checkouts, proposals),
        docs=[
            ChangesetDoc(
                path=d.path,
                base_version=d.base_version,
                proposed_content=d.content,
                evidence=d.evidence,
                covers=d.covers,
            )
            for d in proposals.docs
        ],
        dagster_run_id=dagster_run_id,
        commits=proposals.commits,
    )
    if created and uow.changesets.supersede_open(changeset.id):
        # Done once, in the transaction that creates it: a re-execution finds it by its key.
        changeset = uow.changesets.get(changeset.id)
    for checkout in checkouts.true_sources:
        if checkout.range_id is not None:
            uow.coverage.update_range(checkout.range_id, changeset_id=changeset.id)
    return changeset, created
