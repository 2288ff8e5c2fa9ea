"""Op-level tests: a pushed event's params and an op context on a demo flow's resources."""

from dagster import build_op_context
from dagster._core.execution.context.invocation import DirectOpExecutionContext

from jrn_dagster.demo.scenario import push_change
from jrn_dagster.domain.steps import CliImpactJobParams
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.services.matching import match_event
from jrn_dagster_tests.support.flow import Flow


def pushed_params(flow: Flow) -> tuple[int, CliImpactJobParams]:
    event = push_change(flow.database, flow.world)
    with flow.database.unit_of_work() as uow:
        [params] = match_event(uow.matching, uow.events.get(event.id)).params
    return event.id, params


def context_for(
    flow: Flow, space: str, tags: dict[str, str] | None = None
) -> DirectOpExecutionContext:
    return build_op_context(
        resources=with_run_sandbox(flow.resources), partition_key=space, run_tags=tags
    )
