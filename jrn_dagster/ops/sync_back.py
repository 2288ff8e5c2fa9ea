from dagster import OpExecutionContext, op

from jrn_dagster.domain.steps import Checkouts, Proposals
from jrn_dagster.ops.context import add_metadata
from jrn_dagster.ops.failures import failures_explained
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.services.sync_back import write_changeset


@op(
    description="Write the proposals as one changeset for review (re-executing the run reuses "
    "it); a run with nothing to propose records an empty changeset."
)
def sync_back(
    context: OpExecutionContext,
    workspace: Checkouts,
    proposals: Proposals,
    database: DatabaseResource,
) -> int | None:
    if not workspace.has_work:
        return None
    with failures_explained(context, "sync_back"), database.unit_of_work() as uow:
        changeset, created = write_changeset(uow, workspace, proposals, context.run_id)
        uow.commit()
    add_metadata(
        context,
        {
            "changeset_id": changeset.id,
            "status": changeset.status.value,
            "created_now": created,
            "docs": [d.path for d in changeset.docs],
            "summary": changeset.summary,
        },
    )
    return changeset.id
