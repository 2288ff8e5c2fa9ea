"""The ``cli_impact`` job, partitioned by space (one dynamic partition per space slug), and its
catch-up config for UI launches and backfills."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from dagster import (
    DagsterInstance,
    DynamicPartitionsDefinition,
    in_process_executor,
    job,
    partitioned_config,
)

from jrn_dagster import tags
from jrn_dagster.ops.cli_impact import advance_cursor, agent, clone, impact, sync_back, sync_docs

# One partition per space; the key is the space slug (immutable, validated on creation).
SPACES = "spaces"
spaces_partitions = DynamicPartitionsDefinition(name=SPACES)


def add_space_partition(instance: DagsterInstance, slug: str) -> bool:
    """Add ``slug``'s partition; False when it was there already."""
    if instance.has_dynamic_partition(SPACES, slug):
        return False
    instance.add_dynamic_partitions(SPACES, [slug])
    return True


@dataclass(frozen=True)
class PartitionSync:
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    # Partitions of no space in the database (spaces created after the backup was taken).
    unknown: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def sync_space_partitions(
    instance: DagsterInstance, slugs: Iterable[str], *, prune: bool = False
) -> PartitionSync:
    """Add the partition of every space in ``slugs`` (archived ones too: their history stays
    visible, and their launches end at once as skipped). Partitions of no space are reported,
    and deleted only with ``prune``: their runs stay in Dagster's run history either way."""
    wanted = sorted(set(slugs))
    existing = set(instance.get_dynamic_partitions(SPACES))
    missing = [slug for slug in wanted if slug not in existing]
    if missing:
        instance.add_dynamic_partitions(SPACES, missing)
    unknown = sorted(existing - set(wanted))
    if prune:
        for key in unknown:
            instance.delete_dynamic_partition(SPACES, key)
    return PartitionSync(
        added=missing,
        present=[slug for slug in wanted if slug in existing],
        unknown=unknown,
        deleted=unknown if prune else [],
    )


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
    checkouts = clone()
    synced = sync_docs(checkouts)
    report = impact(checkouts, synced)
    proposals = agent(checkouts, synced, report)
    changeset_id = sync_back(checkouts, proposals)
    advance_cursor(checkouts, changeset_id)
