"""Run tags: they travel with every launch path (sensor, UI re-execution, backfill)."""

from collections.abc import Mapping

SOURCE_ID = "jrn/source_id"
SPACE = "jrn/space"
EVENT_ID = "jrn/event_id"  # the newest push the run is for
EVENT_IDS = "jrn/event_ids"  # every push the run is for, comma-separated, when more than one
HEAD_SHA = "jrn/head_sha"
INTEGRATION_ID = "jrn/integration_id"
MODE = "jrn/mode"
PARTITION = "dagster/partition"  # set by Dagster on every partitioned run


def event_ids_of(run_tags: Mapping[str, str]) -> list[int]:
    """The stored pushes a run was launched for; none for catch-up and hand-made runs."""
    values = run_tags.get(EVENT_IDS) or run_tags.get(EVENT_ID, "")
    return sorted({int(value) for value in values.split(",") if value.strip().isdigit()})
