"""Every source a space's rules name is resolved (docs/attention-rules.md, "Sources the rules
name").

A rule naming a source the run analyses (a true source it checked out, or a virtual source of
the same repository, which sees that checkout) is matched as usual. A rule naming any other
bound source — another repository, or another branch — cannot fire in this run (that source
did not change here), but the doc describes its code: it is checked out read-only at its
branch head for the agent to read, with the source's own integration when active, else an
active integration of the same host, else anonymously. One that cannot be had is an
``unresolved_source`` warning in the impact report, never silence.
"""

import re
from collections.abc import Sequence

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.impact import (
    ContextSource,
    ImpactReport,
    ReportCode,
    ReportWarning,
    warning_order,
)
from jrn_dagster.domain.records import Integration, IntegrationStatus, Source
from jrn_dagster.domain.steps import Checkouts
from jrn_dagster.ports.git import CheckoutError, CheckoutRequest, CredentialError, Repositories
from jrn_dagster.ports.sandbox import Sandbox

CONTEXT_DIR = "context"
# Each is a clone: a space naming more sources than this gets a warning for the rest.
MAX_CONTEXT_SOURCES = 10
_DOCS_NAMED = 5
_UNSAFE_DIR_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def context_dir(source: Source, branch: str) -> str:
    return f"{CONTEXT_DIR}/{source.id}-{_UNSAFE_DIR_CHARS.sub('_', branch)[:80]}"


def integration_for(source: Source, integrations: Sequence[Integration]) -> Integration | None:
    """The source's own integration when active, else an active one of the same host, else
    none (anonymous)."""
    active = [i for i in integrations if i.status is IntegrationStatus.ACTIVE]
    own = next((i for i in active if i.id == source.integration_id), None)
    if own is not None or source.repo is None:
        return own
    host = RepoCoordinate.parse(source.repo).host
    return next((i for i in sorted(active, key=lambda i: i.id) if i.host.lower() == host), None)


def _warning(source: Source, docs: list[str], why: str) -> ReportWarning:
    named = ", ".join(docs[:_DOCS_NAMED]) + (" ..." if len(docs) > _DOCS_NAMED else "")
    return ReportWarning(
        code=ReportCode.UNRESOLVED_SOURCE,
        message=f"source {source.name!r}, named by the rules of {named}, was not checked out "
        f"for the agent: {why}",
        doc_path=docs[0] if docs else None,
        source_name=source.name,
    )


def resolve_named_sources(
    database: Database,
    sandbox: Sandbox,
    repositories: Repositories,
    checkouts: Checkouts,
    report: ImpactReport,
    *,
    bound: Sequence[Source],
) -> ImpactReport:
    """``report`` with the sources the rules name that the run does not analyse checked out
    (``context_sources``), or warned about. The stored rules are asked only about bound sources
    outside the run: a space whose sources are all in the run costs no query."""
    in_run = {s.name for s in report.sources} | {
        c.plan.source_name for c in checkouts.sources if c.path
    }
    outside = [s for s in bound if s.name not in in_run]
    if not outside:
        return report
    with database.unit_of_work() as uow:
        naming = uow.docs.paths_naming_sources(checkouts.plan.space_id, [s.name for s in outside])
        integrations = uow.integrations.all() if naming else []
    wanted = [s for s in outside if s.name in naming]
    if not wanted:
        return report
    context: list[ContextSource] = []
    warnings: list[ReportWarning] = []
    for source in wanted:
        named = naming[source.name]
        if source.repo is None:
            warnings.append(_warning(source, named, "it has no repository"))
            continue
        if source.branch is None:
            warnings.append(
                _warning(
                    source,
                    named,
                    "it follows every branch, so it has no single head to read; give it a "
                    "branch (jrn-dagster source add ... --branch)",
                )
            )
            continue
        if len(context) >= MAX_CONTEXT_SOURCES:
            warnings.append(
                _warning(source, named, f"a run checks out at most {MAX_CONTEXT_SOURCES}")
            )
            continue
        integration = integration_for(source, integrations)
        dest = context_dir(source, source.branch)
        try:
            checkout = repositories.check_out(
                sandbox,
                CheckoutRequest(
                    coordinate=RepoCoordinate.parse(source.repo),
                    branch=source.branch,
                    head_sha=None,
                    base_sha=None,
                    dest=dest,
                    integration=integration,
                ),
            )
        except (CheckoutError, CredentialError, InvalidInputError) as error:
            warnings.append(
                _warning(source, named, f"{source.repo} {source.branch} cannot be had: {error}")
            )
            continue
        context.append(
            ContextSource(
                id=source.id,
                name=source.name,
                repo=source.repo,
                branch=source.branch,
                head_sha=checkout.head_sha,
                path=dest,
                credential=f"integration {integration.name}" if integration else "anonymous",
            )
        )
    return report.model_copy(
        update={
            "context_sources": context,
            "warnings": sorted([*report.warnings, *warnings], key=warning_order),
        }
    )
