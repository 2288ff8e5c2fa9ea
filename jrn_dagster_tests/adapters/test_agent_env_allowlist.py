"""``JRN_AGENT_ENV_ALLOWLIST``: named variables reach a command agent, for the agent step only:
on E2B (the VM holds nothing else) and on the local sandbox when bubblewrap isolates the agent
(through a pipe, never on a command line); an unisolated local agent is refused them."""

import shlex
from pathlib import Path

import pytest

from jrn_dagster.adapters.agents import CommandAgent
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.steps import Checkouts, PlanMode, SpacePlan
from jrn_dagster.ports.agent import AgentTask
from jrn_dagster.ports.sandbox import Sandbox, SandboxIsolationError
from jrn_dagster.redaction import REDACTED, redact
from jrn_dagster.resources.agent import CommandAgentResource, agent_resource_from_env
from jrn_dagster.resources.sandbox import LocalSandboxResource
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


def _allowlisted(monkeypatch: pytest.MonkeyPatch, script: str) -> CommandAgent:
    monkeypatch.setenv("MY_LLM_KEY", LLM_KEY)
    monkeypatch.setenv("OTHER_SECRET", OTHER_SECRET)
    resource = agent_resource_from_env(
        {
            "JRN_AGENT_COMMAND": shlex.join(["bash", "-c", script]),
            "JRN_AGENT_ENV_ALLOWLIST": " MY_LLM_KEY, ",
        }
    )
    assert isinstance(resource, CommandAgentResource)
    assert resource.env_allowlist == ["MY_LLM_KEY"]  # a name: the value is read at run time
    agent = resource.build()
    assert redact(LLM_KEY) == REDACTED
    return agent


# What the agent sees: its environment, and the command line of PID 1 (bwrap on the local
# sandbox: what every process of the machine could read in /proc/<bwrap's pid>/cmdline).
SPY = 'env > "$JRN_DOCS_DIR/env.md"; tr "\\0" " " < /proc/1/cmdline > "$JRN_DOCS_DIR/cmdline.md"'


def test_the_listed_variables_reach_the_agent_and_no_command_line(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _allowlisted(monkeypatch, SPY).update_docs(_task(sandbox))
    seen = sandbox.read_file("docs/env.md").decode()
    assert f"MY_LLM_KEY={LLM_KEY}" in seen.splitlines()
    assert OTHER_SECRET not in seen
    assert LLM_KEY not in sandbox.read_file("docs/cmdline.md").decode()


def test_an_unisolated_local_agent_is_refused_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource = LocalSandboxResource(
        base_dir=str(tmp_path / "sandboxes"),
        bubblewrap_path=str(tmp_path / "no-bwrap"),
        allow_unisolated_agent=True,
    )
    sandbox = resource.open("unisolated")
    try:
        with pytest.raises(SandboxIsolationError, match="only to an agent it isolates"):
            _allowlisted(monkeypatch, SPY).update_docs(_task(sandbox))
        assert sandbox.list_files("docs") == ["readme.md"]  # nothing ran
    finally:
        resource.release_all()


@pytest.mark.parametrize("names", ["JRN_DATABASE_URL", "BAD-NAME", "A=B"])
def test_the_allowlist_takes_plain_names_only(names: str) -> None:
    with pytest.raises(InvalidInputError, match="JRN_AGENT_ENV_ALLOWLIST"):
        agent_resource_from_env({"JRN_AGENT_COMMAND": "agent", "JRN_AGENT_ENV_ALLOWLIST": names})


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
