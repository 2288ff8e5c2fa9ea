"""The demo's sensor ticks, recorded on the Dagster instance as the daemon records its own: the
cursor on the sensor's instigator state and the tick in its history. A daemon started later on
the same instance (``make dev``) goes on from that cursor instead of reading the demo's events
again (docs/operations.md#from-the-demo-to-the-ui).

Dagster finds a sensor's state by its selector (code location, repository, sensor name), so the
state is stored under the location name ``workspace.yaml`` pins."""

import time
from dataclasses import dataclass, field

from dagster import DagsterInstance
from dagster._core.definitions.repository_definition.valid_definitions import (
    SINGLETON_REPOSITORY_NAME,
)
from dagster._core.definitions.sensor_definition import SensorType
from dagster._core.remote_origin import RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._core.workspace.load_target import ModuleTarget

# The code location as workspace.yaml declares it: its name is what sensor state belongs to.
LOCATION_NAME = "jrn_dagster"
DEFINITIONS_MODULE = "jrn_dagster.definitions"
DEFINITIONS_ATTRIBUTE = "defs"


def repository_origin() -> RemoteRepositoryOrigin:
    """The project's code location as ``workspace.yaml`` loads it (``dagster dev`` matches runs
    and sensor state to it by location and repository name)."""
    [location] = ModuleTarget(
        module_name=DEFINITIONS_MODULE,
        attribute=DEFINITIONS_ATTRIBUTE,
        working_directory=None,
        location_name=LOCATION_NAME,
    ).create_origins()
    return RemoteRepositoryOrigin(
        code_location_origin=location, repository_name=SINGLETON_REPOSITORY_NAME
    )


def sensor_origin(sensor_name: str) -> RemoteInstigatorOrigin:
    return RemoteInstigatorOrigin(
        repository_origin=repository_origin(), instigator_name=sensor_name
    )


def stored_sensor_state(instance: DagsterInstance, sensor_name: str) -> InstigatorState | None:
    origin = sensor_origin(sensor_name)
    return instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id())


def stored_cursor(instance: DagsterInstance, sensor_name: str) -> str | None:
    """The cursor the daemon would evaluate the sensor with next (None: never evaluated)."""
    state = stored_sensor_state(instance, sensor_name)
    data = state.instigator_data if state else None
    return data.cursor if isinstance(data, SensorInstigatorData) else None


@dataclass
class EvaluatedTick:
    started: float
    cursor: str | None
    skip_reason: str | None = None
    run_ids: list[str] = field(default_factory=list)
    run_keys: list[str] = field(default_factory=list)


def record_tick(
    instance: DagsterInstance, sensor_name: str, tick: EvaluatedTick, min_interval: int
) -> None:
    """Store ``tick``'s cursor on the sensor's state (created as the daemon creates it for a
    sensor running by default; a stopped sensor stays stopped) and the tick in its history."""
    ended = time.time()
    state = stored_sensor_state(instance, sensor_name)
    previous = state.instigator_data if state else None
    data = SensorInstigatorData(
        last_tick_timestamp=ended,
        last_run_key=tick.run_keys[-1] if tick.run_keys else None,
        min_interval=min_interval,
        cursor=tick.cursor,
        last_tick_start_timestamp=tick.started,
        last_sensor_start_timestamp=(
            previous.last_sensor_start_timestamp
            if isinstance(previous, SensorInstigatorData)
            else tick.started
        ),
        sensor_type=SensorType.STANDARD,
        last_tick_success_timestamp=ended,
    )
    if state is None:
        state = instance.add_instigator_state(
            InstigatorState(
                sensor_origin(sensor_name),
                InstigatorType.SENSOR,
                InstigatorStatus.DECLARED_IN_CODE,
                data,
            )
        )
    else:
        state = instance.update_instigator_state(state.with_data(data))
    instance.create_tick(
        TickData(
            instigator_origin_id=state.instigator_origin_id,
            instigator_name=sensor_name,
            instigator_type=InstigatorType.SENSOR,
            status=TickStatus.SUCCESS if tick.run_ids else TickStatus.SKIPPED,
            timestamp=tick.started,
            end_timestamp=ended,
            run_ids=tick.run_ids,
            run_keys=tick.run_keys,
            skip_reason=None if tick.run_ids else tick.skip_reason,
            cursor=tick.cursor,
            selector_id=state.selector_id,
        )
    )
