"""The ``clone`` step: claim the (event, space) records, open the sandbox, check out each source
at exactly its head, and decide the commit range each source is analysed over."""

import re
from dataclasses import dataclass

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import ConflictError
from jrn_dagster.domain.jrn import event_jrn
from jrn_dagster.domain.params import idempotency_key
from jrn_dagster.domain.ranges import BaseOrigin, RangeDecision, decide_range
from jrn_dagster.domain.run_plan import CoveredRange, RunPlan, SourceWork
from jrn_dagster.domain.workspace import (
    REPOS_DIR,
    CommitRange,
    SourceCheckout,
    SyncedDocs,
    Workspace,
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


def checkout_dir(work: SourceWork, branch: str) -> str:
    """``repos/<source id>-<branch>``: one directory per source branch, a plain name."""
    return f"{REPOS_DIR}/{work.source_id}-{_UNSAFE_DIR_CHARS.sub('_', branch)[:80]}"


def work_identity(work: SourceWork, branch: str, head_sha: str) -> tuple[str, str]:
    """(idempotency key, event JRN). A catch-up work gets the key an event to the same head
    has, so a catch-up and that event share their (event, space) record: no double work."""
    if work.idempotency_key is not None and work.event_jrn is not None:
        return work.idempotency_key, work.event_jrn
    coordinate = RepoCoordinate.parse(work.repo)
    jrn = event_jrn(coordinate.host, coordinate.owner, coordinate.repo, branch)
    return idempotency_key(work.source_id, jrn, head_sha), jrn


@dataclass(frozen=True)
class Claim:
    key: str
    space_run_id: int
    done: bool  # an earlier run finished this (event, space)


def _claim(
    database: Database, plan: RunPlan, work: SourceWork, *, branch: str, head_sha: str, run_id: str
) -> Claim:
    """Record that this run works on (event, space)."""
    if work.integration_id is None:  # pragma: no cover - only true sources are planned
        raise ValueError(f"source {work.source_name} is virtual: it has no records")
    key, jrn = work_identity(work, branch, head_sha)
    with database.unit_of_work() as uow:
        job_id = uow.runs.ensure_job(
            idempotency_key=key,
            source_id=work.source_id,
            integration_id=work.integration_id,
            event_id=work.event_id,
            event_jrn=jrn,
            branch=branch,
            head_sha=head_sha,
            base_sha=work.event_base_sha,
            forced=work.forced,
            affected_space_ids=work.affected_space_ids,
        )
        record, done = uow.runs.start(job_id, plan.space_id, run_id)
        uow.commit()
    return Claim(key, record.id, done)


def _credential(
    database: Database, access: RepositoryAccessResource, work: SourceWork, clone_url: str
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
    work: SourceWork,
    *,
    branch: str,
    head_sha: str | None,
    base_sha: str | None,
    dest: str,
    covered: CoveredRange | None = None,
) -> Checkout:
    """``clone_at`` with the resource's settings; the covered range is located too, so that
    ancestry questions about it can be answered (see ``services/ancestry.py``)."""
    coordinate = RepoCoordinate.parse(work.repo)
    template = access.resolved_clone_url_template()
    return clone_at(
        sandbox,
        coordinate=coordinate,
        branch=branch,
        head_sha=head_sha,
        base_sha=base_sha,
        credential=_credential(database, access, work, clone_url_for(coordinate, template)),
        clone_url_template=template,
        dest=dest,
        other_shas=[covered.head_sha, covered.covered_from_sha] if covered else [],
        descendant_shas=[covered.head_sha] if covered else [],
        credential_hosts=access.resolved_credential_hosts(),
        timeout=access.git_timeout_seconds,
        retry_delays=access.git_retry_delays_seconds,
    )


def _check_out(
    sandbox: Sandbox,
    database: Database,
    access: RepositoryAccessResource,
    work: SourceWork,
    branch: str,
) -> tuple[str, RangeDecision]:
    """Clone at exactly the work's head; the commit range this space is analysed over."""
    path = checkout_dir(work, branch)
    checkout = _clone(
        sandbox,
        database,
        access,
        work,
        branch=branch,
        head_sha=work.head_sha,
        base_sha=work.event_base_sha,
        dest=path,
        covered=work.covered,
    )
    facts = ancestry(sandbox, checkout, event_base_sha=work.event_base_sha, covered=work.covered)
    decision = decide_range(
        head_sha=checkout.head_sha,
        event_base_sha=work.event_base_sha,
        covered=work.covered,
        ancestry=facts,
    )
    return path, decision


def prepare_workspace(
    database: Database,
    sandboxes: SandboxResource,
    access: RepositoryAccessResource,
    *,
    plan: RunPlan,
    run_id: str,
) -> Workspace:
    """Event runs claim their (event, space) before cloning, so a run for a pair that is
    already done ends without touching git; catch-up runs claim once the head is known."""
    sandbox: Sandbox | None = None
    checkouts = []
    for work in plan.works:
        branch = work.branch
        claim = None
        if work.head_sha is not None:
            claim = _claim(
                database, plan, work, branch=branch, head_sha=work.head_sha, run_id=run_id
            )
            if claim.done:
                checkouts.append(_already_done(work, branch, claim))
                continue
        sandbox = sandbox or sandboxes.open(run_id)
        path, decision = _check_out(sandbox, database, access, work, branch)
        if claim is None:
            claim = _claim(
                database, plan, work, branch=branch, head_sha=decision.head_sha, run_id=run_id
            )
        checkouts.append(
            SourceCheckout(
                work=work,
                branch=branch,
                path=path,
                range=CommitRange.of(decision),
                idempotency_key=claim.key,
                space_run_id=claim.space_run_id,
                already_done=claim.done,
            )
        )
    return Workspace(plan=plan, sandbox_id=sandbox.id if sandbox else None, checkouts=checkouts)


def _already_done(work: SourceWork, branch: str, claim: Claim) -> SourceCheckout:
    """Nothing to check out: the outputs only carry what later steps skip on."""
    return SourceCheckout(
        work=work,
        branch=branch,
        path="",
        range=CommitRange(
            base_sha=work.event_base_sha,
            head_sha=work.head_sha or "",
            origin=BaseOrigin.EVENT,
            relation=None,
            stale=False,
            base_precedes_covered_from=False,
        ),
        idempotency_key=claim.key,
        space_run_id=claim.space_run_id,
        already_done=True,
    )


RESTORED_MARKER = ".jrn-restored"


def restore_workspace(
    sandbox: Sandbox,
    database: Database,
    access: RepositoryAccessResource,
    workspace: Workspace,
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
    for checkout in workspace.true_checkouts:
        if not checkout.needs_work:
            continue
        _clone(
            sandbox,
            database,
            access,
            checkout.work,
            branch=checkout.branch,
            head_sha=checkout.range.head_sha,
            base_sha=checkout.range.base_sha,
            dest=checkout.path,
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
