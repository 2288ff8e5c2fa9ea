from dagster import OpExecutionContext, op

from jrn_dagster.domain.steps import Checkouts, SyncedDocs
from jrn_dagster.ops.context import add_metadata, sandbox_of
from jrn_dagster.ops.failures import failures_explained
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repository_access import RepositoryAccessResource
from jrn_dagster.resources.sandbox.resource import SandboxResource
from jrn_dagster.services.docs_sync import write_docs


@op(description="Write the space's docs into the sandbox and record each doc's version.")
def sync_docs(
    context: OpExecutionContext,
    workspace: Checkouts,
    database: DatabaseResource,
    sandbox: SandboxResource,
    repository_access: RepositoryAccessResource,
) -> SyncedDocs:
    if not workspace.has_work:
        return SyncedDocs(docs=[])
    with failures_explained(context, "sync_docs"):
        with database.unit_of_work() as uow:
            docs = uow.docs.all(workspace.plan.space_id)
        target = sandbox_of(
            context, sandbox, workspace, database=database, access=repository_access
        )
        synced = write_docs(target, docs)
    add_metadata(context, {"docs": len(synced.docs)})
    return synced
