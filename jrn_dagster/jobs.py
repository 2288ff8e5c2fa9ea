from dagster import in_process_executor, job, partitioned_config

from jrn_dagster import tags
from jrn_dagster.ops.advance_cursor import advance_cursor
from jrn_dagster.ops.agent import agent
from jrn_dagster.ops.clone import clone
from jrn_dagster.ops.impact import impact
from jrn_dagster.ops.sync_back import sync_back
from jrn_dagster.ops.sync_docs import sync_docs
from jrn_dagster.partitions import spaces_partitions


def _partition_tags(partition_key: str) -> dict[str, str]:
    # Dagster applies these to EVERY run of the partition, sensor runs included, and they win
    # over the RunRequest's own tags: so nothing here may depend on how the run was launched
    # (a `jrn/mode: catch_up` here relabelled every event run). Catch-up runs are the ones
    # without `jrn/event_id`; sensor runs carry `jrn/mode: event`.
    return {tags.SPACE: partition_key}


@partitioned_config(partitions_def=spaces_partitions, tags_for_partition_key_fn=_partition_tags)
def catch_up_config(partition_key: str) -> dict[str, object]:
    """UI launches and backfills carry no event: an empty ``clone`` config means "catch the
    partition's space up on every true source bound to it". Sensor runs replace this config
    with the event's ``CliImpactJobParams``."""
    return {"ops": {"clone": {"config": {}}}}


@job(
    partitions_def=spaces_partitions,
    config=catch_up_config,
    # One sandbox per run, shared by the ops: they run in the run's own process, and the
    # sandbox is released when the run ends, fails or is cancelled.
    executor_def=in_process_executor,
    description="Keep one space's docs in step with a push to a true source (or catch the "
    "space up): clone -> sync_docs -> impact -> agent -> sync_back -> advance_cursor.",
)
def cli_impact() -> None:
    workspace = clone()
    synced = sync_docs(workspace)
    report = impact(workspace, synced)
    proposals = agent(workspace, synced, report)
    changeset_id = sync_back(workspace, proposals)
    advance_cursor(workspace, changeset_id)
