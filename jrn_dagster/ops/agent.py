from dagster import OpExecutionContext, op

from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.steps import Checkouts, Proposals, SyncedDocs
from jrn_dagster.ops.context import add_metadata, sandbox_of
from jrn_dagster.ops.failures import failures_explained
from jrn_dagster.redaction import redact
from jrn_dagster.resources.agent.base import AgentResource
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repository_access import RepositoryAccessResource
from jrn_dagster.resources.sandbox.resource import SandboxResource
from jrn_dagster.services.agent_run import run_agent


@op(
    description="Let the agent update the impacted docs in the sandbox; collect its proposals "
    "(edits outside the docs directory are rejected)."
)
def agent(
    context: OpExecutionContext,
    workspace: Checkouts,
    synced: SyncedDocs,
    report: ImpactReport,
    agent: AgentResource,
    sandbox: SandboxResource,
    database: DatabaseResource,
    repository_access: RepositoryAccessResource,
) -> Proposals:
    if not workspace.has_work or not report.impacted:
        return Proposals(agent=agent.name, docs=[])
    with failures_explained(context, "agent"):
        target = sandbox_of(
            context, sandbox, workspace, database=database, access=repository_access, synced=synced
        )
        proposals, warnings = run_agent(agent, target, workspace, synced, report)
    for warning in warnings:
        context.log.warning(redact(warning))  # agent output: never trusted to be clean
    add_metadata(
        context,
        {
            "agent": proposals.agent,
            "proposed_docs": [d.path for d in proposals.docs],
            "rejected_paths": proposals.rejected_paths,
        },
    )
    return proposals
