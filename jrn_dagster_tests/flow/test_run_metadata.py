"""Every run's metadata says plainly what it did: processed, or skipped and why; no value is
left blank (docs/operations.md#run-metadata)."""

from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance, RunRequest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, push_change
from jrn_dagster.ops.cli_impact import ALREADY_DONE, NO_CHANGESET, NO_SANDBOX
from jrn_dagster_tests.support.flow import demo_flow, run_request, space_request


def _metadata(instance: DagsterInstance, run_id: str, step: str) -> dict[str, Any]:
    [output] = [
        record.event_log_entry.dagster_event
        for record in instance.get_records_for_run(
            run_id, of_type=DagsterEventType.STEP_OUTPUT
        ).records
        if record.event_log_entry.dagster_event
        and record.event_log_entry.dagster_event.step_key == step
    ]
    return {key: value.value for key, value in output.step_output_data.metadata.items()}


def _blank_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [found for item in value.values() for found in _blank_values(item)]
    if isinstance(value, list):
        return [found for item in value for found in _blank_values(item)]
    return [value] if value is None or value == "" else []


def test_processed_and_already_done_runs_say_so(database: Database, tmp_path: Path) -> None:
    with demo_flow(database, tmp_path) as flow:
        event = push_change(database, flow.world)
        request = space_request(flow, event, API_SPACE)
        processed = run_request(flow, request)
        assert processed.success and processed.run_id
        clone = _metadata(flow.instance, processed.run_id, "clone")
        assert clone["outcome"] == "processed"
        assert "skip_reason" not in clone
        assert clone["sandbox_id"] not in ("", NO_SANDBOX)
        assert [c["outcome"] for c in clone["checkouts"]] == ["processed"]
        assert _blank_values(clone) == []
        assert _blank_values(_metadata(flow.instance, processed.run_id, "advance_cursor")) == []

        # The same request launched again under another run key (a daemon that never saw the
        # first run): the run ends at once and says why.
        again = RunRequest(
            run_key=f"{request.run_key}-again",
            partition_key=request.partition_key,
            run_config=request.run_config,
            tags=request.tags,
        )
        repeated = run_request(flow, again)
        assert repeated.success and repeated.run_id
        clone = _metadata(flow.instance, repeated.run_id, "clone")
        assert (clone["outcome"], clone["skip_reason"]) == ("skipped", ALREADY_DONE)
        assert clone["sandbox_id"] == NO_SANDBOX
        assert [c["outcome"] for c in clone["checkouts"]] == [ALREADY_DONE]
        assert _blank_values(clone) == []
        advanced = _metadata(flow.instance, repeated.run_id, "advance_cursor")
        assert advanced["changeset_id"] == NO_CHANGESET
        assert _blank_values(advanced) == []
