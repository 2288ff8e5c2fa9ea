"""The code location loads, and so does every resource variant the environment can select."""

from pathlib import Path

import pytest
from dagster import Definitions, DynamicPartitionsDefinition, EnvVar

from jrn_dagster import definitions
from jrn_dagster.adapters.agents import CommandAgent, NoticeAgent
from jrn_dagster.adapters.e2b_sandbox import E2BSandboxes
from jrn_dagster.adapters.local_sandbox import LocalSandboxes
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.jobs import SPACES, cli_impact
from jrn_dagster.ops.cli_impact import CliImpactConfig
from jrn_dagster.resources.agent import (
    CommandAgentResource,
    LLMAgentResource,
    NoticeAgentResource,
)
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.sandbox import (
    E2BSandboxResource,
    LocalSandboxResource,
    RunSandboxResource,
)

OPS = ["clone", "sync_docs", "impact", "agent", "sync_back", "advance_cursor"]
SENSORS = ["webhook_event_sensor", "cli_impact_failure_sensor", "cli_impact_cancel_sensor"]
SELECTING_ENV = [
    "JRN_DATABASE_URL",
    "JRN_SANDBOX",
    "JRN_LOCAL_SANDBOX_DIR",
    "JRN_ALLOW_UNISOLATED_AGENT",
    "JRN_AGENT_COMMAND",
    "JRN_AGENT_NETWORK",
    "E2B_API_KEY",
    "JRN_E2B_TEMPLATE",
    "JRN_LLM_MODEL",
    "JRN_LLM_BASE_URL",
    "JRN_LLM_API_KEY_ENV",
    "JRN_AGENT_ENV_ALLOWLIST",
]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SELECTING_ENV:
        monkeypatch.delenv(name, raising=False)


def _loadable(resources: dict[str, object]) -> Definitions:
    """The code location's definitions with ``resources``, validated as Dagster loads them."""
    defs = Definitions(
        jobs=[cli_impact],
        sensors=list(definitions.defs.sensors or []),
        resources=resources,
    )
    Definitions.validate_loadable(defs)
    return defs


def test_the_code_location_loads_with_the_job_and_its_sensors() -> None:
    defs = definitions.defs
    Definitions.validate_loadable(defs)
    job = defs.get_job_def("cli_impact")
    assert [node.name for node in job.graph.node_defs] == OPS
    assert isinstance(job.partitions_def, DynamicPartitionsDefinition)
    assert job.partitions_def.name == SPACES
    assert sorted(sensor.name for sensor in defs.sensors or []) == sorted(SENSORS)
    for name in SENSORS:
        assert defs.get_sensor_def(name).name == name
    # The sensor's run config is the clone op's config: the params with their JSON names.
    assert {"sourceId", "eventJrn", "headSha", "baseSha"} <= set(CliImpactConfig.model_fields)


def test_the_embedded_default_is_sqlite_a_local_sandbox_and_the_notice_agent() -> None:
    resources = definitions.build_resources()
    _loadable(resources)
    assert isinstance(resources["database"], DatabaseResource)
    assert resources["database"].url is None  # SQLite under $DAGSTER_HOME
    sandbox = resources["sandbox"]
    assert isinstance(sandbox, LocalSandboxResource)
    assert isinstance(sandbox.provider, LocalSandboxes)
    assert isinstance(resources["agent"], NoticeAgentResource)
    assert isinstance(resources["agent"].build(), NoticeAgent)
    run_sandbox = resources["run_sandbox"]
    assert isinstance(run_sandbox, RunSandboxResource)
    assert run_sandbox.sandboxes is sandbox


def test_a_database_url_is_taken_by_name_not_by_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JRN_DATABASE_URL", "postgresql://jrn:pw-in-url@db.internal/jrn")
    resources = definitions.build_resources()
    _loadable(resources)
    database = resources["database"]
    assert isinstance(database, DatabaseResource)
    # The resource holds the variable's name (the UI shows it); Dagster resolves the value, with
    # its password, only when a run or a tick initialises the resource.
    config = database.get_resource_definition().config_schema.default_value
    assert config == {"url": {"env": "JRN_DATABASE_URL"}}
    assert "pw-in-url" not in repr(config)


def test_e2b_is_selected_by_environment_and_reads_its_key_only_when_initialised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JRN_SANDBOX", "e2b")
    resources = definitions.build_resources()
    _loadable(resources)
    sandbox = resources["sandbox"]
    assert isinstance(sandbox, E2BSandboxResource)

    monkeypatch.setenv("E2B_API_KEY", "e2b_defs_test_key_0123456789")
    monkeypatch.setenv("JRN_E2B_TEMPLATE", "jrn-template")
    with sandbox.process_config_and_initialize_cm() as initialised:
        assert isinstance(initialised, E2BSandboxResource)
        assert (initialised.api_key, initialised.template) == (
            "e2b_defs_test_key_0123456789",
            "jrn-template",
        )
        assert isinstance(initialised.provider, E2BSandboxes)


def test_an_unknown_sandbox_kind_is_refused_with_the_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JRN_SANDBOX", "docker")
    with pytest.raises(InvalidInputError, match="invalid JRN_SANDBOX='docker': use one of"):
        definitions.build_resources()


def test_the_command_agent_is_selected_by_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JRN_AGENT_COMMAND", "my-agent --apply 'two words'")
    monkeypatch.setenv("JRN_AGENT_NETWORK", "1")
    resources = definitions.build_resources()
    _loadable(resources)
    agent = resources["agent"]
    assert isinstance(agent, CommandAgentResource)
    assert agent.command == ["my-agent", "--apply", "two words"]
    assert agent.network is True
    assert isinstance(agent.build(), CommandAgent)


def test_the_llm_agent_is_selected_by_its_model_and_takes_its_key_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JRN_LLM_MODEL", "gpt-4.1-mini")
    monkeypatch.setenv("JRN_LLM_API_KEY_ENV", "TEAM_LLM_KEY")
    resources = definitions.build_resources()
    _loadable(resources)
    agent = resources["agent"]
    assert isinstance(agent, LLMAgentResource)
    assert agent.model == "gpt-4.1-mini"
    assert agent.api_key == EnvVar("TEAM_LLM_KEY")


def test_a_local_sandbox_directory_and_the_unisolated_opt_in_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JRN_LOCAL_SANDBOX_DIR", str(tmp_path))
    monkeypatch.setenv("JRN_ALLOW_UNISOLATED_AGENT", "true")
    resources = definitions.build_resources()
    _loadable(resources)
    sandbox = resources["sandbox"]
    assert isinstance(sandbox, LocalSandboxResource)
    assert (sandbox.base_dir, sandbox.allow_unisolated_agent) == (str(tmp_path), True)
