"""The ops of ``cli_impact``. Each is thin: it takes its resources, calls one service (which
opens and commits its own unit of work), and attaches redacted metadata."""

import os
from typing import Any

from dagster import (
    Config,
    Failure,
    MarkdownMetadataValue,
    MetadataValue,
    OpExecutionContext,
    TextMetadataValue,
    op,
)
from pydantic import Field

from jrn_dagster import tags
from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.steps import (
    ONBOARDING_ENV,
    ONBOARDING_NOTE,
    Checkouts,
    CliImpactJobParams,
    OnboardingMode,
    Proposals,
    SourceCheckout,
    SyncedDocs,
)
from jrn_dagster.ops.failures import failures_explained
from jrn_dagster.redaction import redact, redact_value
from jrn_dagster.resources.agent import AgentResource
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.sandbox import RunSandboxResource
from jrn_dagster.services.advance_cursor import advance_cursors
from jrn_dagster.services.agent import run_agent
from jrn_dagster.services.clone import check_out_sources, plan_run
from jrn_dagster.services.impact import analyse_impact, empty_report
from jrn_dagster.services.sync_back import write_changeset
from jrn_dagster.services.sync_docs import sync_space_docs


class CliImpactConfig(Config):
    """``CliImpactJobParams`` as run config, with the seed's JSON names, so the output of
    ``jrn-dagster match EVENT_ID --json`` can be pasted into the launchpad as it is.

    Leave ``sourceId`` empty (the default for UI launches and backfills) to catch the
    partition's space up on every true source bound to it instead.
    """

    sourceId: int | None = Field(default=None, description="FK to sources; empty: catch-up")  # noqa: N815
    integrationId: int | None = Field(default=None, description="integration of the source")  # noqa: N815
    eventJrn: str | None = Field(default=None, description="JRN of the push")  # noqa: N815
    headSha: str | None = Field(default=None, description="webhook `after`")  # noqa: N815
    baseSha: str | None = Field(  # noqa: N815
        default=None, description="webhook `before`, or the source cursor"
    )
    affectedSpaceIds: list[int] = Field(  # noqa: N815
        default_factory=list, description="every space the event fans out to"
    )
    onboarding: str | None = Field(
        default=None,
        description="What the first run of a binding with no cursor (a branch's creation, a "
        "space's first catch-up or backfill) does: 'baseline' records the head as covered and "
        f"proposes nothing, 'review' proposes as any run. Empty: ${ONBOARDING_ENV}, else "
        "'baseline' (docs/cursors.md, Onboarding).",
    )

    def to_params(self) -> CliImpactJobParams | None:
        """None in catch-up mode; raises pydantic.ValidationError on inconsistent params."""
        if self.sourceId is None:
            return None
        return CliImpactJobParams.model_validate(self.model_dump(exclude={"onboarding"}))

    def onboarding_mode(self) -> OnboardingMode:
        """This run's setting, else the code location's ``JRN_ONBOARDING``, else baseline."""
        return OnboardingMode.parse(self.onboarding or os.environ.get(ONBOARDING_ENV))

    @classmethod
    def from_params(cls, params: CliImpactJobParams) -> dict[str, object]:
        """Run config for the ``clone`` op (None values left out)."""
        return {key: value for key, value in params.to_json_dict().items() if value is not None}


class ImpactConfig(Config):
    strict: bool = Field(
        default=False,
        description="Fail the run on invalid docs or rules, ambiguous rules, or rules naming a "
        "source the space is not bound to (default: report them as warnings).",
    )


def _space_slug(context: OpExecutionContext) -> str:
    if not context.has_partition_key:
        raise Failure(
            description="cli_impact runs per space: launch it for a partition (a space slug)",
            allow_retries=False,
        )
    return context.partition_key


def _label_mode(context: OpExecutionContext, mode: str) -> None:
    """Tag the run ``jrn/mode`` once its mode is known: UI launches and backfills carry no tag
    saying they catch up (partition tags apply to every run, sensor runs included)."""
    if context.has_tag(tags.MODE):
        return
    run = context.instance.get_run_by_id(context.run_id)
    if run is not None:  # None when the op is invoked directly, outside a run
        context.instance.add_run_tags(context.run_id, {tags.MODE: mode})


def _redacted(value: Any) -> Any:
    if isinstance(value, MarkdownMetadataValue):
        return MetadataValue.md(redact(value.md_str or ""))
    if isinstance(value, TextMetadataValue):
        return MetadataValue.text(redact(value.text or ""))
    return redact_value(value)


def add_metadata(context: OpExecutionContext, metadata: dict[str, Any]) -> None:
    """Every value goes through redaction before it reaches the event log."""
    context.add_output_metadata({key: _redacted(value) for key, value in metadata.items()})


@op(
    description="Plan the run (event or catch-up), claim its pushes, and check out each source at "
    "exactly its head in the run's sandbox, with the integration's credentials given to the git "
    "commands that fetch and to nothing else.",
    pool="sandboxes",
)
def clone(
    context: OpExecutionContext,
    config: CliImpactConfig,
    database: DatabaseResource,
    run_sandbox: RunSandboxResource,
) -> Checkouts:
    with failures_explained(context, "clone"):
        plan = plan_run(
            database.database,
            space_slug=_space_slug(context),
            params=config.to_params(),
            event_ids=tags.event_ids_of(context.run_tags),
        )
        _label_mode(context, plan.mode.value)
        if plan.skip_reason:
            context.log.info(f"nothing to do: {plan.skip_reason}")
        checkouts = check_out_sources(
            database.database,
            run_sandbox.provider,
            run_sandbox.git,
            plan=plan,
            run_id=context.run_id,
            onboarding=config.onboarding_mode(),
        )
    add_metadata(context, clone_metadata(checkouts))
    return checkouts


ALREADY_DONE = "already done: every push this run is for was processed before it started"
NO_SANDBOX = "none: no source needed a checkout"
NO_CHANGESET = "none: the run had nothing to process"


def _checkout_outcome(checkout: SourceCheckout) -> str:
    if checkout.already_done:
        return ALREADY_DONE
    if checkout.range.skip_reason:
        return f"skipped: {checkout.range.skip_reason}"
    return "processed"


def run_skip_reason(checkouts: Checkouts) -> str | None:
    """Why the run has nothing to do, in one sentence (None: it processes something)."""
    if checkouts.plan.skip_reason:
        return checkouts.plan.skip_reason
    if checkouts.has_work:
        return None
    true_sources = checkouts.true_sources
    if not true_sources:
        return "no true source is bound to the space"
    if all(c.already_done for c in true_sources):
        return ALREADY_DONE
    return "; ".join(f"{c.plan.source_name}: {_checkout_outcome(c)}" for c in true_sources)


def clone_metadata(checkouts: Checkouts) -> dict[str, Any]:
    """What the run did, plainly: ``outcome`` is ``processed`` or ``skipped``, and a skipped run
    says why (``skip_reason``); no value is ever left blank (docs/operations.md#run-metadata)."""
    skip_reason = run_skip_reason(checkouts)
    plan = checkouts.plan
    return {
        "mode": plan.mode.value,
        "space": plan.space_slug,
        "outcome": "skipped" if skip_reason else "processed",
        **({"skip_reason": skip_reason} if skip_reason else {}),
        **({"onboarding": onboarding} if (onboarding := _onboarding_note(checkouts)) else {}),
        "sandbox_id": checkouts.sandbox_id or NO_SANDBOX,
        "checkouts": [
            {
                "source": c.plan.source_name,
                "branch": c.branch,
                "pushes": c.plan.event_ids,
                "head": c.range.head_sha,
                "base": c.range.base_sha or "none: the whole head tree",
                "comparison": c.range.comparison.describe(c.range.base_sha),
                "outcome": _checkout_outcome(c),
                "baseline": c.baseline,
            }
            for c in checkouts.sources
        ],
    }


def _onboarding_note(checkouts: Checkouts) -> str | None:
    baselines = [c.plan.source_name for c in checkouts.true_sources if c.baseline]
    if not baselines:
        return None
    if checkouts.onboarding_only:
        return ONBOARDING_NOTE
    return f"{ONBOARDING_NOTE} for {', '.join(sorted(set(baselines)))}"


@op(
    description="Record the version of each doc of the space (the versions the run works on); "
    "the agent step writes the docs it needs into the sandbox at those versions."
)
def sync_docs(
    context: OpExecutionContext,
    checkouts: Checkouts,
    database: DatabaseResource,
    run_sandbox: RunSandboxResource,
) -> SyncedDocs:
    if not checkouts.to_review:  # nothing to analyse, or only baselines (onboarding)
        return SyncedDocs(docs=[])
    with failures_explained(context, "sync_docs"):
        sandbox = run_sandbox.for_step(context.run_id, checkouts)
        synced = sync_space_docs(database.database, sandbox, checkouts)
    add_metadata(context, {"docs": len(synced.docs)})
    return synced


@op(
    description="Find the docs whose attention rules match the changed files of each source "
    "(git diff base..head in the sandbox); attach and persist the impact report."
)
def impact(
    context: OpExecutionContext,
    config: ImpactConfig,
    checkouts: Checkouts,
    synced: SyncedDocs,
    database: DatabaseResource,
    run_sandbox: RunSandboxResource,
) -> ImpactReport:
    if not checkouts.to_review:
        return empty_report(config.strict)
    with failures_explained(context, "impact"):
        sandbox = run_sandbox.for_step(context.run_id, checkouts)
        report = analyse_impact(
            database.database,
            sandbox,
            checkouts,
            strict=config.strict,
            repositories=run_sandbox.git,
        )
    add_metadata(
        context,
        {
            "impacted_docs": report.counts.impacted_docs,
            "changed_files": report.counts.changed_files,
            "warnings": len(report.warnings),
            "context_sources": [c.name for c in report.context_sources],
            "report": MetadataValue.md(report.to_markdown()),
        },
    )
    return report


@op(
    description="Write the impacted docs into the sandbox at their synced versions, let the "
    "agent update them, and collect its proposals (edits outside the docs directory are "
    "rejected)."
)
def agent(
    context: OpExecutionContext,
    checkouts: Checkouts,
    synced: SyncedDocs,
    report: ImpactReport,
    agent: AgentResource,
    database: DatabaseResource,
    run_sandbox: RunSandboxResource,
) -> Proposals:
    with failures_explained(context, "agent"):
        chosen = agent.build()
    if not checkouts.has_work or not report.impacted:
        return Proposals(agent=chosen.name, docs=[])
    with failures_explained(context, "agent"):
        sandbox = run_sandbox.for_step(context.run_id, checkouts, report.context_sources)
        proposals, warnings = run_agent(
            database.database, chosen, sandbox, checkouts, synced=synced, report=report
        )
    for warning in warnings:
        context.log.warning(redact(warning))  # agent output: never trusted to be clean
    add_metadata(
        context,
        {
            "agent": proposals.agent,
            "proposed_docs": [d.path for d in proposals.docs],
            "rejected_paths": proposals.rejected_paths,
            # Why an answer was not proposed (an LLM's answer that failed validation).
            "refused_answers": [{"doc": r.path, "reason": r.reason} for r in proposals.refused],
            "commits": {c.source_name: c.total_shown for c in proposals.commits},
        },
    )
    return proposals


@op(
    description="Write the proposals as one changeset for review (re-executing the run reuses "
    "it); a run with nothing to propose records an empty changeset."
)
def sync_back(
    context: OpExecutionContext,
    checkouts: Checkouts,
    proposals: Proposals,
    database: DatabaseResource,
) -> int | None:
    if not checkouts.has_work:
        return None
    with failures_explained(context, "sync_back"):
        changeset, created = write_changeset(
            database.database, checkouts, proposals, context.run_id
        )
    add_metadata(
        context,
        {
            "changeset_id": changeset.id,
            "status": changeset.status.value,
            **({"onboarding": onboarding} if (onboarding := _onboarding_note(checkouts)) else {}),
            "created_now": created,
            "docs": [d.path for d in changeset.docs],
            "summary": changeset.summary,
        },
    )
    return changeset.id


@op(
    description="Record the range this space processed and the pushes it covered, move its "
    "binding cursor, then move the source cursor as far as every bound space's processed ranges "
    "reach (compare-and-swap, serialised per source)."
)
def advance_cursor(
    context: OpExecutionContext,
    checkouts: Checkouts,
    changeset_id: int | None,
    database: DatabaseResource,
) -> None:
    with failures_explained(context, "advance_cursor"):
        report = advance_cursors(database.database, checkouts, dagster_run_id=context.run_id)
    add_metadata(
        context,
        {
            "changeset_id": NO_CHANGESET if changeset_id is None else changeset_id,
            "moves": [
                {
                    "source": m.source_name,
                    "branch": m.branch,
                    "space_status": m.space_status,
                    "covered_pushes": m.covered_events,
                    "binding_cursor": f"{m.binding_before} -> {m.binding_after}",
                    **({"binding_note": m.binding_note} if m.binding_note else {}),
                    "source_cursor": f"{m.source_before} -> {m.source_after}",
                    **({"source_note": m.source_note} if m.source_note else {}),
                }
                for m in report.moves
            ],
        },
    )
