from dagster import Config, MetadataValue, OpExecutionContext, op
from pydantic import Field

from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.steps import Checkouts, SyncedDocs
from jrn_dagster.ops.context import add_metadata, sandbox_of
from jrn_dagster.ops.failures import failures_explained
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repository_access import RepositoryAccessResource
from jrn_dagster.resources.sandbox.resource import SandboxResource
from jrn_dagster.services.impact import analyse_impact, empty_report, persist_report


class ImpactConfig(Config):
    strict: bool = Field(
        default=False,
        description="Fail the run on invalid docs or rules, ambiguous rules, or rules naming a "
        "source the space is not bound to (default: report them as warnings).",
    )


@op(
    description="Find the docs whose attention rules match the changed files of each source "
    "(git diff base..head in the sandbox); attach and persist the impact report."
)
def impact(
    context: OpExecutionContext,
    config: ImpactConfig,
    workspace: Checkouts,
    synced: SyncedDocs,
    database: DatabaseResource,
    sandbox: SandboxResource,
    repository_access: RepositoryAccessResource,
) -> ImpactReport:
    if not workspace.has_work:
        return empty_report(config.strict)
    with failures_explained(context, "impact"):
        with database.unit_of_work() as uow:
            bound = uow.sources.bound_to(workspace.plan.space_id)
        target = sandbox_of(
            context, sandbox, workspace, database=database, access=repository_access, synced=synced
        )
        report = analyse_impact(target, workspace, bound, strict=config.strict)
        persist_report(database.database, workspace, report)
    add_metadata(
        context,
        {
            "impacted_docs": report.counts.impacted_docs,
            "changed_files": report.counts.changed_files,
            "warnings": len(report.warnings),
            "report": MetadataValue.md(report.to_markdown()),
        },
    )
    return report
