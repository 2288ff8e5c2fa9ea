from dagster import OpExecutionContext, op

from jrn_dagster.domain.steps import Checkouts
from jrn_dagster.ops.context import add_metadata
from jrn_dagster.ops.failures import failures_explained
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.services.cursor_advance import advance_cursors


@op(
    description="Record the range this space processed and the pushes it covered, move its "
    "binding cursor, then move the source cursor as far as every bound space's processed ranges "
    "reach (compare-and-swap, serialised per source)."
)
def advance_cursor(
    context: OpExecutionContext,
    workspace: Checkouts,
    changeset_id: int | None,
    database: DatabaseResource,
) -> None:
    with failures_explained(context, "advance_cursor"):
        report = advance_cursors(database.database, workspace, dagster_run_id=context.run_id)
    add_metadata(
        context,
        {
            "changeset_id": changeset_id,
            "moves": [
                {
                    "source": m.source_name,
                    "branch": m.branch,
                    "space_status": m.space_status,
                    "covered_pushes": m.covered_events,
                    "binding_cursor": f"{m.binding_before} -> {m.binding_after}",
                    "binding_note": m.binding_note,
                    "source_cursor": f"{m.source_before} -> {m.source_after}",
                    "source_note": m.source_note,
                }
                for m in report.moves
            ],
        },
    )
