"""One real ``cli_impact`` run with the LLM agent: the sensor's run, in process, against a
chat-completions server; the refused answer's reason is in the agent step's metadata."""

import json
from pathlib import Path

from dagster import DagsterInstance

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, DOCS, push_change
from jrn_dagster.domain.records import ChangesetStatus
from jrn_dagster.resources.agent import LLMAgentResource
from jrn_dagster_tests.support.chat_server import Reply, chat_server
from jrn_dagster_tests.support.flow import demo_flow, run_request, space_request

API_KEY = "sk-flow-test-key-0123456789abcdef"
ROUTES = "reference/routes.md"


def _agent_metadata(instance: DagsterInstance, run_id: str) -> dict[str, object]:
    for record in instance.get_records_for_run(run_id, limit=10_000).records:
        event = record.event_log_entry.dagster_event
        if (
            event is not None
            and event.event_type_value == "STEP_OUTPUT"
            and event.step_key == "agent"
        ):
            metadata = event.event_specific_data.metadata  # type: ignore[union-attr]
            return {key: value.value for key, value in metadata.items()}
    raise AssertionError("no output of the agent step")


def test_a_run_with_the_llm_agent_records_refused_answers(
    database: Database, tmp_path: Path
) -> None:
    changed_rules = DOCS[API_SPACE][ROUTES].replace("src/api/**/*.py", "src/**")
    reply = Reply(content=json.dumps({"path": ROUTES, "content": changed_rules}))
    with demo_flow(database, tmp_path) as flow, chat_server([reply]) as server:
        flow.resources["agent"] = LLMAgentResource(
            model="test-model", api_key=API_KEY, base_url=server.url, retry_delays_seconds=[0.0]
        )
        event = push_change(flow.database, flow.world)
        outcome = run_request(flow, space_request(flow, event))
        assert outcome.success and outcome.run_id
        metadata = _agent_metadata(flow.instance, outcome.run_id)
        assert metadata["agent"] == "LLMAgent"
        assert metadata["refused_answers"] == [
            {
                "doc": ROUTES,
                "reason": "the answer changed the frontmatter (attention rules included), "
                "which must stay exactly as it is",
            }
        ]
        assert metadata["commits"] == {"widgets": "1"}
        assert len(server.requests) == 1
        with flow.database.unit_of_work() as uow:
            [changeset] = uow.changesets.all()
        assert changeset.status is ChangesetStatus.EMPTY
        assert changeset.summary.endswith(f"1 answer(s) refused: {ROUTES}")
        everything = json.dumps(
            [
                str(r.event_log_entry)
                for r in flow.instance.get_records_for_run(outcome.run_id, limit=10_000).records
            ]
        )
        assert API_KEY not in everything
