"""The ``spaces`` dynamic partitions: one per space, keyed by its slug.

They follow the application database: ``jrn-dagster space add`` adds a space's partition on the
configured Dagster instance, the sensor adds any that is missing when a push matches, and
``jrn-dagster space sync-partitions`` puts them back in step after a database restore
(docs/operations.md, "Partitions follow spaces").
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from dagster import DagsterInstance, DynamicPartitionsDefinition

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
