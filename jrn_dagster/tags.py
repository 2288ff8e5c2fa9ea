"""Run tags: they travel with every launch path (sensor, UI re-execution, backfill)."""

SOURCE_ID = "jrn/source_id"
SPACE = "jrn/space"
EVENT_ID = "jrn/event_id"
HEAD_SHA = "jrn/head_sha"
INTEGRATION_ID = "jrn/integration_id"
MODE = "jrn/mode"
