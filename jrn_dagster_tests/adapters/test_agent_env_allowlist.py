"""``JRN_AGENT_ENV_ALLOWLIST``: named variables reach a command agent on E2B (the VM holds
nothing else), for the agent step only; the local sandbox refuses to give them."""

import pytest

from jrn_dagster.adapters.agents import CommandAgent
from jrn_dagster.definitions import agent_resource
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.steps import Checkouts, PlanMode, SpacePlan
from jrn_dagster.ports.agent import AgentTask
from jrn_dagster.ports.sandbox import Sandbox, SandboxIsolationError
from jrn_dagster.redaction import REDACTED, redact
from jrn_dagster.resources.agent import CommandAgentResource
from jrn_dagster.services.impact import empty_report

LLM_KEY = "sk-allowed-for-the-agent-0123456789"
OTHER_SECRET = "not-on-the-list-0123456789"


def _task(sandbox: Sandbox) -> AgentTask:
    sandbox.write_file("docs/readme.md", "# docs\n")
    plan = SpacePlan(
        mode=PlanMode.EVENT, space_id=1, space_slug="s", bound_source_names=[], works=[]
    )
    return AgentTask(
        sandbox, "docs", empty_report(False), Checkouts(plan=plan, sandbox_id=None, sources=[])
    )


@pytest.fixture
def allowlisted(monkeypatch: pytest.MonkeyPatch) -> CommandAgent:
    monkeypatch.setenv("MY_LLM_KEY", LLM_KEY)
    monkeypatch.setenv("OTHER_SECRET", OTHER_SECRET)
    resource = agent_resource(
        {"JRN_AGENT_COMMAND": "bash -c 'env > \"$JRN_DOCS_DIR/env.md\"'",
         "JRN_AGENT_ENV_ALLOWLIST": " MY_LLM_KEY, "}
    )  # fmt: skip
    assert isinstance(resource, CommandAgentResource)
    assert resource.env_allowlist == ["MY_LLM_KEY"]  # a name: the value is read at run time
    agent = resource.build()
    assert redact(LLM_KEY) == REDACTED
    return agent


def test_the_listed_variables_reach_the_agent_on_e2b_and_are_refused_locally(
    backend, sandbox: Sandbox, allowlisted: CommandAgent
) -> None:
    task = _task(sandbox)
    if backend.kind == "local":
        with pytest.raises(SandboxIsolationError, match="does not give secrets to a command"):
            allowlisted.update_docs(task)
        assert sandbox.list_files("docs") == ["readme.md"]  # nothing ran
        return
    allowlisted.update_docs(task)
    seen = sandbox.read_file("docs/env.md").decode()
    assert f"MY_LLM_KEY={LLM_KEY}" in seen.splitlines()
    assert OTHER_SECRET not in seen


@pytest.mark.parametrize("names", ["JRN_DATABASE_URL", "BAD-NAME", "A=B"])
def test_the_allowlist_takes_plain_names_only(names: str) -> None:
    with pytest.raises(InvalidInputError, match="JRN_AGENT_ENV_ALLOWLIST"):
        agent_resource({"JRN_AGENT_COMMAND": "agent", "JRN_AGENT_ENV_ALLOWLIST": names})


def test_a_listed_variable_that_is_not_set_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("UNSET_KEY", raising=False)
    resource = CommandAgentResource(command=["agent"], env_allowlist=["UNSET_KEY"])
    with pytest.raises(InvalidInputError) as error:
        resource.build()
    assert str(error.value) == (
        "JRN_AGENT_ENV_ALLOWLIST names UNSET_KEY, which is not set in the environment of the "
        "process running the agent step"
    )
