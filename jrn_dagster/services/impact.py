"""The ``impact`` step: changed files per source from git, the rules those files can fire
from the database (parsed when each doc was written: docs/attention-rules.md#stored-rules),
one report. No doc's YAML is read here, and no doc is read from the sandbox."""

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.changes import (
    SourceChanges,
    SourceRef,
    changed_files_from_tree,
    parse_name_status,
)
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.impact import (
    ImpactCounts,
    ImpactReport,
    KeywordLookup,
    changed_paths,
    collector_paused,
    prepare_selected_rules,
)
from jrn_dagster.domain.impact_index import match_keys
from jrn_dagster.domain.records import Source
from jrn_dagster.domain.steps import Checkouts, SourceCheckout
from jrn_dagster.ports.git import Repositories, git_argv
from jrn_dagster.ports.sandbox import CommandResult, Sandbox
from jrn_dagster.services.named_sources import resolve_named_sources

GIT_DIFF_TIMEOUT_SECONDS = 300
# Keyword checks read one file's diff; a bigger diff counts as unavailable (the rule fires).
MAX_KEYWORD_DIFF_BYTES = 1_000_000


def changes_of(sandbox: Sandbox, checkout: SourceCheckout) -> SourceChanges:
    """``git diff --name-status -M base..head`` (a rename counts under both paths; deletions and
    binary files count). With no reachable base: every file of the head tree, flagged."""
    work, commits = checkout.plan, checkout.range
    source = SourceRef(id=work.source_id, name=work.source_name, kind="true")
    said = commits.comparison.describe(commits.base_sha)
    if commits.base_sha is None:
        listing = sandbox.run(
            git_argv("ls-tree", "-r", "--name-only", "-z", commits.head_sha),
            cwd=checkout.path,
            timeout=GIT_DIFF_TIMEOUT_SECONDS,
        )
        return SourceChanges(
            source=source,
            files=changed_files_from_tree(listing.stdout),
            head_sha=commits.head_sha,
            full_tree_reason=said,
            comparison=said,
        )
    diff = sandbox.run(
        git_argv("diff", "--name-status", "-z", "-M", commits.base_sha, commits.head_sha, "--"),
        cwd=checkout.path,
        timeout=GIT_DIFF_TIMEOUT_SECONDS,
    )
    return SourceChanges(
        source=source,
        files=parse_name_status(diff.stdout),
        base_sha=commits.base_sha,
        head_sha=commits.head_sha,
        comparison=said,
    )


def virtual_views(
    checkouts: Checkouts, bound: list[Source], changes: dict[int, SourceChanges]
) -> list[tuple[SourceChanges, SourceCheckout]]:
    """Virtual sources bound to the space that name the same repository as one of the run's
    true checkouts see that checkout's changes, marked ``virtual``. They are never cloned with
    credentials, never get a cursor and never a run of their own."""
    by_repo = {
        c.plan.coordinate.key: c for c in checkouts.true_sources if c.plan.source_id in changes
    }
    views = []
    for source in bound:
        if source.is_true or source.repo is None:
            continue
        checkout = by_repo.get(RepoCoordinate.parse(source.repo).key)
        if checkout is not None:
            view = changes[checkout.plan.source_id].model_copy(
                update={
                    "source": SourceRef(
                        id=source.id,
                        name=source.name,
                        kind="virtual",
                        view_of=checkout.plan.source_id,
                    )
                }
            )
            views.append((view, checkout))
    return views


def keyword_diff_args(base_sha: str, head_sha: str, path: str) -> list[str]:
    """The git arguments of one file's diff, as a keyword rule reads it. The path is literal:
    as a pathspec, ``pages/[id].tsx`` would bring ``pages/i.tsx``'s diff along."""
    return [
        "--literal-pathspecs", "diff", "--no-ext-diff", "--no-textconv", "-M",
        base_sha, head_sha, "--", path,
    ]  # fmt: skip


def keyword_diff_text(result: CommandResult) -> str | None:
    """The diff text a keyword rule searches; None when unavailable (failed, binary, too big)."""
    return usable_keyword_diff(result.stdout) if result.exit_code == 0 else None


def usable_keyword_diff(text: str) -> str | None:
    if "Binary files" in text or len(text) > MAX_KEYWORD_DIFF_BYTES:
        return None
    return text


def _keyword_lookup(sandbox: Sandbox, checkouts: dict[str, SourceCheckout]) -> KeywordLookup:
    def diff_text(source_name: str, path: str) -> str | None:
        checkout = checkouts.get(source_name)
        if checkout is None or checkout.range.base_sha is None:
            return None
        result = sandbox.run(
            git_argv(*keyword_diff_args(checkout.range.base_sha, checkout.range.head_sha, path)),
            cwd=checkout.path,
            timeout=GIT_DIFF_TIMEOUT_SECONDS,
            check=False,
        )
        return keyword_diff_text(result)

    return diff_text


def analyse_impact(
    database: Database,
    sandbox: Sandbox,
    checkouts: Checkouts,
    *,
    strict: bool,
    repositories: Repositories,
) -> ImpactReport:
    """The impact report of the run's ranges, kept with each of them. Every source the rules
    name is resolved: analysed, or checked out for the agent to read, or warned about."""
    space_id = checkouts.plan.space_id
    with database.unit_of_work(serializable_write=True) as uow:
        bound = uow.sources.bound_to(space_id)
        # Docs written before rules were stored (or by hand in SQL): derived once, here.
        if uow.docs.derive_stale_rules(space_id):
            uow.commit()
    report = _report(database, sandbox, checkouts, bound, strict=strict)
    report = resolve_named_sources(database, sandbox, repositories, checkouts, report, bound=bound)
    report = _with_open_proposals(database, checkouts, report)
    _persist_report(database, checkouts, report)
    return report


def _with_open_proposals(
    database: Database, checkouts: Checkouts, report: ImpactReport
) -> ImpactReport:
    """Each impacted doc with an open proposal carries its ranges: this run's proposal takes it
    over and covers them too (docs/decisions.md, "One open proposal per doc")."""
    if not report.impacted:
        return report
    with database.unit_of_work() as uow:
        open_proposals = uow.changesets.open_proposals(
            checkouts.plan.space_id, [doc.path for doc in report.impacted]
        )
    if not open_proposals:
        return report
    impacted = [
        doc.model_copy(update={"carried": open_proposals[doc.path].covers})
        if doc.path in open_proposals
        else doc
        for doc in report.impacted
    ]
    return report.model_copy(update={"impacted": impacted})


def _report(
    database: Database,
    sandbox: Sandbox,
    checkouts: Checkouts,
    bound: list[Source],
    *,
    strict: bool,
) -> ImpactReport:
    """Matched against the stored rules the changed paths can fire (no doc is parsed here)."""
    active = checkouts.to_review  # a baseline (onboarding) is recorded, not analysed
    changes = {c.plan.source_id: changes_of(sandbox, c) for c in active}
    views = virtual_views(checkouts, bound, changes)
    by_name = {c.plan.source_name: c for c in active}
    by_name.update({view.source.name: checkout for view, checkout in views})
    all_changes = [*changes.values(), *(view for view, _ in views)]
    bound_names = checkouts.plan.bound_source_names
    with collector_paused():
        with database.unit_of_work() as uow:
            selection = uow.docs.rule_selection(
                checkouts.plan.space_id, match_keys(changed_paths(all_changes)), bound_names
            )
        return prepare_selected_rules(selection, bound_names).report(
            all_changes, strict=strict, keyword_lookup=_keyword_lookup(sandbox, by_name)
        )


def empty_report(strict: bool) -> ImpactReport:
    return ImpactReport(
        strict=strict,
        sources=[],
        impacted=[],
        warnings=[],
        counts=ImpactCounts(
            docs_scanned=0,
            docs_with_problems=0,
            rules=0,
            rules_skipped=0,
            changed_files=0,
            impacted_docs=0,
            evidence=0,
        ),
    )


def _persist_report(database: Database, checkouts: Checkouts, report: ImpactReport) -> None:
    """Keep the report with each range the run processes."""
    with database.unit_of_work(serializable_write=True) as uow:
        for checkout in checkouts.true_sources:
            if checkout.range_id is not None:
                uow.coverage.update_range(checkout.range_id, report=report.to_json_dict())
        uow.commit()
