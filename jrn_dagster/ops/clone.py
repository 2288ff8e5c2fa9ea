from dagster import OpExecutionContext, op

from jrn_dagster.config import CliImpactConfig
from jrn_dagster.domain.steps import Checkouts
from jrn_dagster.ops.context import add_metadata, event_ids, label_mode, space_slug
from jrn_dagster.ops.failures import failures_explained
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repository_access import RepositoryAccessResource
from jrn_dagster.resources.sandbox.resource import SandboxResource
from jrn_dagster.services.planning import plan_run
from jrn_dagster.services.workspace import prepare_workspace


@op(
    description="Plan the run (event or catch-up), claim its (event, space) records, and check "
    "out each source at exactly its head in the run's sandbox, with the integration's "
    "credentials given to the git commands that fetch and to nothing else.",
    pool="sandboxes",
)
def clone(
    context: OpExecutionContext,
    config: CliImpactConfig,
    database: DatabaseResource,
    sandbox: SandboxResource,
    repository_access: RepositoryAccessResource,
) -> Checkouts:
    with failures_explained(context, "clone"):
        params = config.to_params()
        with database.unit_of_work() as uow:
            plan = plan_run(
                uow, space_slug=space_slug(context), params=params, event_ids=event_ids(context)
            )
        label_mode(context, plan.mode.value)
        if plan.skip_reason:
            context.log.info(f"nothing to do: {plan.skip_reason}")
        workspace = prepare_workspace(
            database.database, sandbox, repository_access, plan=plan, run_id=context.run_id
        )
    add_metadata(
        context,
        {
            "mode": plan.mode.value,
            "space": plan.space_slug,
            "skip_reason": plan.skip_reason or "",
            "sandbox_id": workspace.sandbox_id or "",
            "checkouts": [
                {
                    "source": c.plan.source_name,
                    "branch": c.branch,
                    "pushes": c.plan.event_ids,
                    "head": c.range.head_sha,
                    "base": c.range.base_sha,
                    "comparison": c.range.comparison.describe(c.range.base_sha),
                    "skipped": c.range.skip_reason or "",
                }
                for c in workspace.sources
            ],
        },
    )
    return workspace
