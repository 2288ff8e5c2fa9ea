from dagster import DagsterRunStatus, OpExecutionContext, RunsFilter, op

from jrn_dagster import tags
from jrn_dagster.domain.workspace import Workspace
from jrn_dagster.ops.context import add_metadata
from jrn_dagster.ops.failures import failures_explained
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.services.cursor_advance import LaunchedRun, advance_cursors

_UNFINISHED = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
    DagsterRunStatus.FAILURE,
    DagsterRunStatus.CANCELED,
]


def launched_runs(context: OpExecutionContext, source_ids: set[int]) -> list[LaunchedRun]:
    """Runs of these sources that Dagster launched and that have not succeeded, but this one."""
    found = []
    for source_id in sorted(source_ids):
        records = context.instance.get_run_records(
            RunsFilter(tags={tags.SOURCE_ID: str(source_id)}, statuses=_UNFINISHED)
        )
        for record in records:
            run = record.dagster_run
            event_id = tags.event_id_of(run.tags)
            if run.run_id == context.run_id or event_id is None:
                continue
            found.append(LaunchedRun(run.run_id, event_id, run.tags.get(tags.SPACE, "")))
    return found


@op(
    description="Mark this space done, move its binding cursor, then move the source cursor to "
    "the newest event that is done in every affected space (compare-and-swap, serialised per "
    "source)."
)
def advance_cursor(
    context: OpExecutionContext,
    workspace: Workspace,
    changeset_id: int | None,
    database: DatabaseResource,
) -> None:
    with failures_explained(context, "advance_cursor"):
        sources = {c.work.source_id for c in workspace.true_checkouts}
        report = advance_cursors(
            database.database,
            workspace,
            launched_runs(context, sources),
            dagster_run_id=context.run_id,
        )
    add_metadata(
        context,
        {
            "changeset_id": changeset_id,
            "moves": [
                {
                    "source": m.source_name,
                    "branch": m.branch,
                    "space_status": m.space_status.value,
                    "binding_cursor": f"{m.binding_before} -> {m.binding_after}",
                    "binding_note": m.binding_note,
                    "source_cursor": f"{m.source_before} -> {m.source_after}",
                    "source_note": m.source_note,
                }
                for m in report.moves
            ],
        },
    )
