"""The ``clone`` step: claim the run's pushes, open the sandbox, check out each source at exactly
its head, decide the range each source is analysed over, and record it (docs/cursors.md)."""

import re
from dataclasses import dataclass

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import Comparison, Extension, RangeDecision, decide_range
from jrn_dagster.domain.errors import ConflictError
from jrn_dagster.domain.steps import (
    REPOS_DIR,
    Checkouts,
    SourceCheckout,
    SourcePlan,
    SpacePlan,
    SyncedDocs,
)
from jrn_dagster.resources.repository_access import RepositoryAccessResource
from jrn_dagster.resources.sandbox.base import Sandbox
from jrn_dagster.resources.sandbox.errors import SandboxFileNotFoundError
from jrn_dagster.resources.sandbox.resource import SandboxResource
from jrn_dagster.services.ancestry import ancestry
from jrn_dagster.services.checkout import Checkout, clone_at, clone_url_for
from jrn_dagster.services.credentials import GitCredential
from jrn_dagster.services.docs_sync import write_docs

_UNSAFE_DIR_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def checkout_dir(work: SourcePlan, branch: str) -> str:
    """``repos/<source id>-<branch>``: one directory per source branch, a plain name."""
    return f"{REPOS_DIR}/{work.source_id}-{_UNSAFE_DIR_CHARS.sub('_', branch)[:80]}"


@dataclass(frozen=True)
class Claim:
    push_ids: list[int]  # the space push records this run now holds
    all_done: bool  # every push the run is for was done before it started
    event_id: int  # the newest push the run's range will cover


def _claim(database: Database, plan: SpacePlan, work: SourcePlan, run_id: str) -> Claim:
    """Record that this run works on its pushes for the space. A catch-up claims none: its range
    covers whatever pushes it reaches, recorded when it succeeds."""
    with database.unit_of_work() as uow:
        held = []
        for event_id in work.event_ids:
            record, done = uow.coverage.claim_push(event_id, work.source_id, plan.space_id, run_id)
            if not done:
                held.append(record.id)
        newest = max(work.event_ids, default=0) or uow.events.last_push_id(
            RepoCoordinate.parse(work.repo).key, work.branch
        )
        uow.commit()
    return Claim(held, bool(work.event_ids) and not held, newest)


def _credential(
    database: Database, access: RepositoryAccessResource, work: SourcePlan, clone_url: str
) -> GitCredential | None:
    if clone_url.startswith("file:") or work.integration_id is None:
        # A local path takes no credential, and a credential never goes where it is useless.
        return None
    with database.unit_of_work() as uow:
        integration = uow.integrations.get(work.integration_id)
    return access.credential(integration, RepoCoordinate.parse(work.repo))


def _clone(
    sandbox: Sandbox,
    database: Database,
    access: RepositoryAccessResource,
    work: SourcePlan,
    *,
    head_sha: str | None,
    base_sha: str | None,
    dest: str,
    find: list[str | None],
    fetch: list[str | None],
    check_on_branch: bool = False,
    rewrite_check_sha: str | None = None,
) -> Checkout:
    """``clone_at`` with the resource's settings. ``find``: commits to look for in the head's
    history; ``fetch``: commits to fetch by id (an old head a forced push replaced)."""
    coordinate = RepoCoordinate.parse(work.repo)
    template = access.resolved_clone_url_template()
    return clone_at(
        sandbox,
        coordinate=coordinate,
        branch=work.branch,
        head_sha=head_sha,
        base_sha=base_sha,
        credential=_credential(database, access, work, clone_url_for(coordinate, template)),
        clone_url_template=template,
        dest=dest,
        other_shas=find,
        descendant_shas=fetch,
        check_on_branch=check_on_branch,
        rewrite_check_sha=rewrite_check_sha,
        credential_hosts=access.resolved_credential_hosts(),
        timeout=access.git_timeout_seconds,
        retry_delays=access.git_retry_delays_seconds,
    )


def _check_out(
    sandbox: Sandbox, database: Database, access: RepositoryAccessResource, work: SourcePlan
) -> tuple[str, RangeDecision]:
    """Clone at exactly the work's head; the range this space is analysed over."""
    path = checkout_dir(work, work.branch)
    covered = work.covered
    checkout = _clone(
        sandbox,
        database,
        access,
        work,
        head_sha=work.head_sha,
        base_sha=work.event_base_sha,
        dest=path,
        find=[
            covered.head_sha if covered else None,
            covered.covered_from_sha if covered else None,
            work.source_cursor_sha,
        ],
        fetch=[covered.head_sha if covered else None, work.event_base_sha],
        # A push may have been replaced by a forced push since; a catch-up's head is the
        # branch head, on the branch by definition.
        check_on_branch=work.head_sha is not None,
        rewrite_check_sha=covered.head_sha if covered else None,
    )
    facts = ancestry(
        sandbox,
        checkout,
        event_base_sha=work.event_base_sha,
        covered=covered,
        source_cursor_sha=work.source_cursor_sha,
    )
    decision = decide_range(
        head_sha=checkout.head_sha,
        event_base_sha=work.event_base_sha,
        rewind=work.rewind,
        covered=covered,
        facts=facts,
    )
    return path, decision


def _start_range(
    database: Database,
    plan: SpacePlan,
    work: SourcePlan,
    decision: RangeDecision,
    *,
    event_id: int,
    run_id: str,
) -> int:
    with database.unit_of_work() as uow:
        started = uow.coverage.start_range(
            space_id=plan.space_id,
            source_id=work.source_id,
            branch=work.branch,
            head_sha=decision.head_sha,
            base_sha=decision.base_sha,
            link_from_sha=decision.link_from_sha,
            comparison=decision.comparison,
            extension=decision.extension,
            event_id=event_id,
            dagster_run_id=run_id,
        )
        uow.commit()
    return started.id


def prepare_workspace(
    database: Database,
    sandboxes: SandboxResource,
    access: RepositoryAccessResource,
    *,
    plan: SpacePlan,
    run_id: str,
) -> Checkouts:
    """Pushes are claimed before cloning, so a run whose pushes are all done already ends
    without touching git."""
    sandbox: Sandbox | None = None
    checkouts = []
    for work in plan.works:
        claim = _claim(database, plan, work, run_id)
        if claim.all_done:
            checkouts.append(_already_done(work, claim))
            continue
        sandbox = sandbox or sandboxes.open(run_id)
        path, decision = _check_out(sandbox, database, access, work)
        range_id = None
        if not decision.skipped:
            range_id = _start_range(
                database, plan, work, decision, event_id=claim.event_id, run_id=run_id
            )
        checkouts.append(
            SourceCheckout(
                plan=work,
                branch=work.branch,
                path=path,
                range=decision,
                range_id=range_id,
                push_ids=claim.push_ids,
            )
        )
    return Checkouts(plan=plan, sandbox_id=sandbox.id if sandbox else None, sources=checkouts)


def _already_done(work: SourcePlan, claim: Claim) -> SourceCheckout:
    """Nothing to check out: the outputs only carry what later steps skip on."""
    return SourceCheckout(
        plan=work,
        branch=work.branch,
        path="",
        range=RangeDecision(
            head_sha=work.head_sha or "",
            base_sha=None,
            link_from_sha=None,
            comparison=Comparison.WHOLE_TREE,
            relation=None,
            extension=Extension.NONE,
            skip_reason="every push of this run was already processed for this space",
        ),
        range_id=None,
        push_ids=claim.push_ids,
        already_done=True,
    )


RESTORED_MARKER = ".jrn-restored"


def restore_workspace(
    sandbox: Sandbox,
    database: Database,
    access: RepositoryAccessResource,
    workspace: Checkouts,
    synced: SyncedDocs | None,
) -> None:
    """Rebuild a released sandbox from the step inputs (a step re-executed in a new run): the
    same checkouts at the same heads, and the docs at the synced versions. Docs changed since
    cannot be rebuilt as they were: the run must start again from its first step."""
    try:
        sandbox.read_file(RESTORED_MARKER)
        return  # restored by an earlier step of this run
    except SandboxFileNotFoundError:
        pass
    for checkout in workspace.true_sources:
        if not checkout.needs_work:
            continue
        base = checkout.range.base_sha
        _clone(
            sandbox,
            database,
            access,
            checkout.plan,
            head_sha=checkout.range.head_sha,
            base_sha=base,
            dest=checkout.path,
            find=[],
            fetch=[base],  # an old head compared with is not in the head's history
        )
    if synced is not None:
        with database.unit_of_work() as uow:
            docs = uow.docs.all(workspace.plan.space_id)
        current = {doc.path: doc.version for doc in docs}
        expected = {doc.path: doc.version for doc in synced.docs}
        if current != expected:
            raise ConflictError(
                f"the docs of space {workspace.plan.space_slug!r} changed since this run synced "
                "them: re-execute the run from its first step"
            )
        write_docs(sandbox, docs)
    sandbox.write_file(RESTORED_MARKER, "")
