"""The ops of a run up to the agent step, for tests of agents and proposals (no job run)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dagster import OpExecutionContext, build_op_context

from jrn_dagster.demo.scenario import API_SPACE, ingest_push
from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.steps import Checkouts, SyncedDocs
from jrn_dagster.ops.cli_impact import CliImpactConfig, ImpactConfig, clone, impact, sync_docs
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.services.matching import match_event
from jrn_dagster_tests.support.flow import Flow


@dataclass
class UpToAgent:
    context: OpExecutionContext
    checkouts: Checkouts
    synced: SyncedDocs
    report: ImpactReport


def push_commits(flow: Flow, commits: list[tuple[dict[str, str], str]]) -> int:
    """Commit each (files, message) on main, then ingest one push of them all; its event id."""
    remote = flow.world.remote
    before = remote.head() or ""
    for files, message in commits:
        remote.commit_and_push(files, message)
    after = remote.head() or ""
    return ingest_push(flow.database, flow.world, before=before, after=after).id


@contextmanager
def up_to_agent(flow: Flow, event_id: int, space: str = API_SPACE) -> Iterator[UpToAgent]:
    """clone, sync_docs and impact for the push ``event_id``, in one op context."""
    with flow.database.unit_of_work() as uow:
        [params] = match_event(uow.matching, uow.events.get(event_id)).params
    config = CliImpactConfig(**CliImpactConfig.from_params(params))  # type: ignore[arg-type]
    with build_op_context(
        resources=with_run_sandbox(flow.resources), partition_key=space
    ) as context:
        checkouts = clone(context, config)
        synced = sync_docs(context, checkouts)
        report = impact(context, ImpactConfig(), checkouts, synced)
        yield UpToAgent(context, checkouts, synced, report)
