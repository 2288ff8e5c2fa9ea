"""Dagster's GraphQL API (the one the UI uses), for end-to-end tests: runs, sensor ticks and
cursors, partition backfills. Names and shapes are dagster-graphql 1.13's."""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
POLL_SECONDS = 1.0

_WORKSPACE = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

_RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs {
      results { runId jobName status tags { key value } }
    }
    ... on Error { message }
  }
}
"""

_SENSOR_TICKS = """
query SensorTicks($selector: SensorSelector!, $limit: Int) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor {
      sensorState {
        status
        ticks(limit: $limit) {
          tickId status timestamp endTimestamp cursor runIds runKeys skipReason
          error { message }
        }
      }
    }
    ... on Error { message }
  }
}
"""

_SENSOR_STATE = """
query SensorState($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor {
      sensorState {
        status
        typeSpecificData { ... on SensorData { lastTickTimestamp lastCursor } }
      }
    }
    ... on Error { message }
  }
}
"""

_SET_SENSOR_CURSOR = """
mutation SetSensorCursor($selector: SensorSelector!, $cursor: String) {
  setSensorCursor(sensorSelector: $selector, cursor: $cursor) {
    __typename
    ... on Sensor { sensorState { status typeSpecificData { ... on SensorData { lastCursor } } } }
    ... on Error { message }
  }
}
"""

# The mutation the UI's "Launch backfill" dialog sends for a partitioned job.
_LAUNCH_PARTITION_BACKFILL = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId launchedRunIds }
    ... on Error { message }
  }
}
"""

_BACKFILL = """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill { id status partitionNames numPartitions error { message } }
    ... on Error { message }
  }
}
"""


# The mutation behind the UI's "Re-execute" menu (all steps, or from failure).
_REEXECUTE = """
mutation Reexecute($reexecutionParams: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $reexecutionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}
"""

_RUN_LOGS = """
query RunLogs($runId: ID!) {
  logsForRun(runId: $runId, limit: 2000) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on ExecutionStepFailureEvent { error { message } }
      }
    }
    ... on Error { message }
  }
}
"""


class GraphQLError(RuntimeError):
    """The API answered with errors, or with an error type instead of the expected one."""


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    job_name: str
    status: str
    tags: dict[str, str]


@dataclass(frozen=True)
class Tick:
    tick_id: str
    status: str
    timestamp: float
    end_timestamp: float | None
    cursor: str | None
    run_ids: list[str]
    run_keys: list[str]
    skip_reason: str | None
    error: str | None


@dataclass(frozen=True)
class SensorState:
    status: str
    last_tick_timestamp: float | None  # written with the cursor, after the tick itself
    last_cursor: str | None


@dataclass(frozen=True)
class Backfill:
    backfill_id: str
    status: str
    partition_names: list[str]
    error: str | None


def _expect(result: Mapping[str, Any], typename: str) -> Mapping[str, Any]:
    if result.get("__typename") != typename:
        raise GraphQLError(f"expected {typename}, got {result.get('__typename')}: {result}")
    return result


def wait_for(
    probe: Callable[[], T | None], *, timeout_seconds: float, what: str, poll: float = POLL_SECONDS
) -> T:
    """Call ``probe`` until it returns something other than None; bounded."""
    deadline = time.monotonic() + timeout_seconds
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
        except (httpx.TransportError, GraphQLError) as error:  # not up yet, or mid-restart
            value, last_error = None, error
        if value is not None:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout_seconds} s waiting for {what}{detail}")
        time.sleep(poll)


class DagsterGraphQL:
    """A client for ``http://HOST:PORT/graphql`` of a running webserver."""

    def __init__(self, base_url: str, *, timeout_seconds: float = 30) -> None:
        self.base_url = base_url
        self._client = httpx.Client(base_url=base_url, timeout=timeout_seconds)

    def close(self) -> None:
        self._client.close()

    def execute(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self._client.post("/graphql", json={"query": query, "variables": variables})
        if response.status_code != 200:
            raise GraphQLError(f"HTTP {response.status_code}: {response.text[:2000]}")
        body = response.json()
        if body.get("errors"):
            raise GraphQLError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    # --- code locations ------------------------------------------------------------------

    def loaded_repositories(self, location_name: str) -> list[str] | None:
        """Repository names of a loaded code location; None while it loads (or is missing)."""
        data = _expect(self.execute(_WORKSPACE)["workspaceOrError"], "Workspace")
        for entry in data["locationEntries"]:
            if entry["name"] != location_name or entry["loadStatus"] != "LOADED":
                continue
            location = entry["locationOrLoadError"]
            if location["__typename"] == "PythonError":
                raise GraphQLError(f"location {location_name} failed: {location['message']}")
            return [repository["name"] for repository in location["repositories"]]
        return None

    # --- runs --------------------------------------------------------------------------------

    def runs(
        self,
        job_name: str,
        *,
        statuses: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> list[RunSummary]:
        run_filter: dict[str, Any] = {"pipelineName": job_name}
        if statuses:
            run_filter["statuses"] = list(statuses)
        if tags:
            run_filter["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        data = _expect(self.execute(_RUNS, {"filter": run_filter})["runsOrError"], "Runs")
        return [
            RunSummary(
                run_id=run["runId"],
                job_name=run["jobName"],
                status=run["status"],
                tags={tag["key"]: tag["value"] for tag in run["tags"]},
            )
            for run in data["results"]
        ]

    def failure_messages(self, run_id: str) -> list[str]:
        """What a failed run logged at ERROR level, and its step failures, in order."""
        data = _expect(self.execute(_RUN_LOGS, {"runId": run_id})["logsForRun"], "EventConnection")
        messages = []
        for event in data["events"]:
            if event["__typename"] == "ExecutionStepFailureEvent" and event.get("error"):
                messages.append(f"{event.get('stepKey')}: {event['error']['message']}")
            elif event.get("level") in {"ERROR", "CRITICAL"}:
                messages.append(event["message"])
        return messages

    def reexecute(self, parent_run_id: str, *, strategy: str = "FROM_FAILURE") -> str:
        """Re-execute a run as the UI does (``FROM_FAILURE`` or ``ALL_STEPS``); the new run's
        id. The new run is queued like any other and keeps the parent's tags."""
        params = {"parentRunId": parent_run_id, "strategy": strategy}
        result = self.execute(_REEXECUTE, {"reexecutionParams": params})
        return _expect(result["launchRunReexecution"], "LaunchRunSuccess")["run"]["runId"]

    # --- sensors -----------------------------------------------------------------------------

    def sensor_ticks(self, selector: Mapping[str, str], *, limit: int = 20) -> list[Tick]:
        """Most recent first."""
        data = _expect(
            self.execute(_SENSOR_TICKS, {"selector": dict(selector), "limit": limit})[
                "sensorOrError"
            ],
            "Sensor",
        )
        return [
            Tick(
                tick_id=tick["tickId"],
                status=tick["status"],
                timestamp=tick["timestamp"],
                end_timestamp=tick["endTimestamp"],
                cursor=tick["cursor"],
                run_ids=tick["runIds"],
                run_keys=tick["runKeys"],
                skip_reason=tick["skipReason"],
                error=(tick["error"] or {}).get("message"),
            )
            for tick in data["sensorState"]["ticks"]
        ]

    def sensor_state(self, selector: Mapping[str, str]) -> SensorState:
        result = self.execute(_SENSOR_STATE, {"selector": dict(selector)})
        state = _expect(result["sensorOrError"], "Sensor")["sensorState"]
        data = state["typeSpecificData"] or {}
        return SensorState(
            status=state["status"],
            last_tick_timestamp=data.get("lastTickTimestamp"),
            last_cursor=data.get("lastCursor"),
        )

    def set_sensor_cursor(self, selector: Mapping[str, str], cursor: str | None) -> None:
        """What the UI's "Set cursor" / "Clear cursor" does (``cursor=None`` clears it)."""
        result = self.execute(_SET_SENSOR_CURSOR, {"selector": dict(selector), "cursor": cursor})
        sensor = _expect(result["setSensorCursor"], "Sensor")
        last_cursor = sensor["sensorState"]["typeSpecificData"]["lastCursor"]
        if last_cursor != cursor:
            raise GraphQLError(f"the sensor cursor is {last_cursor!r}, not {cursor!r}")

    # --- backfills ---------------------------------------------------------------------------

    def launch_partition_backfill(
        self,
        *,
        location_name: str,
        repository_name: str,
        partition_set_name: str,
        partition_names: Sequence[str],
    ) -> str:
        """Submit a backfill of some partitions of a partitioned job, with no run config (as
        the UI's backfill dialog does); the daemon launches its runs. Returns its id."""
        params = {
            "selector": {
                "partitionSetName": partition_set_name,
                "repositorySelector": {
                    "repositoryName": repository_name,
                    "repositoryLocationName": location_name,
                },
            },
            "partitionNames": list(partition_names),
            "fromFailure": False,
        }
        result = self.execute(_LAUNCH_PARTITION_BACKFILL, {"backfillParams": params})
        return _expect(result["launchPartitionBackfill"], "LaunchBackfillSuccess")["backfillId"]

    def backfill(self, backfill_id: str) -> Backfill:
        result = self.execute(_BACKFILL, {"backfillId": backfill_id})
        data = _expect(result["partitionBackfillOrError"], "PartitionBackfill")
        return Backfill(
            backfill_id=data["id"],
            status=data["status"],
            partition_names=data["partitionNames"] or [],
            error=(data["error"] or {}).get("message"),
        )
