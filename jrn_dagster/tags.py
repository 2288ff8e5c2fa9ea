"""Run tags: they travel with every launch path (sensor, UI re-execution, backfill)."""

from collections.abc import Mapping

SOURCE_ID = "jrn/source_id"
SPACE = "jrn/space"
EVENT_ID = "jrn/event_id"
HEAD_SHA = "jrn/head_sha"
INTEGRATION_ID = "jrn/integration_id"
MODE = "jrn/mode"
PARTITION = "dagster/partition"  # set by Dagster on every partitioned run


def event_id_of(run_tags: Mapping[str, str]) -> int | None:
    """The webhook event a run was launched for; None for catch-up and hand-made runs."""
    value = run_tags.get(EVENT_ID, "")
    return int(value) if value.isdigit() else None
