"""An orchestrator process for secret tests: one sensor tick and the runs it requests for one
space, in a Dagster instance under ``$DAGSTER_HOME``, with the resources a JSON file names.

    python -m jrn_dagster_tests.support.orchestrator config.json

A test starts it with the secrets in its environment from the first instruction, as a real
deployment has them (``monkeypatch.setenv`` in the test's own process would not be the same: the
secrets would not be in ``/proc/<pid>/environ``). Nothing here reads them; the clone resolves the
git token from the integration's variable, as in production.

With ``"llm"`` in the config the agent is the LLM agent (``base_url``, ``model``, and the
variable holding the key, ``api_key_env``). With ``"e2b_home"`` the sandbox is E2B, on the
autospec'd SDK of ``resources/e2b_double.py``; the sandbox is kept (its files can be searched
afterwards) and every ``commands.run`` call (command and environment) is written to
``"commands_path"``.
"""

import json
import sys
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, EnvVar

from jrn_dagster.adapters import e2b_sandbox as e2b_module
from jrn_dagster.demo.runner import evaluate_sensor, requests_of, run_requested
from jrn_dagster.resources.agent import CommandAgentResource, LLMAgentResource
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import E2BSandboxResource, LocalSandboxResource, SandboxResource
from jrn_dagster_tests.support.e2b_double import FakeE2BCloud


def _e2b_sandboxes(config: dict[str, Any]) -> tuple[E2BSandboxResource, FakeE2BCloud]:
    cloud = FakeE2BCloud(Path(config["e2b_home"]))
    e2b_module.E2BSdkSandbox = cloud.sdk_class  # type: ignore[misc] - the SDK, autospec'd
    resource = E2BSandboxResource(
        api_key="e2b_test_key_0123456789",  # not a secret: the SDK is a double
        template="jrn-test-template",
        workdir=config["e2b_workdir"],
        release_on_teardown=False,
    )
    return resource, cloud


def _commands(cloud: FakeE2BCloud) -> list[dict[str, Any]]:
    return [
        {
            "cmd": call.args[0] if call.args else call.kwargs.get("cmd"),
            "envs": call.kwargs.get("envs"),
        }
        for sandbox in cloud.sandboxes.values()
        for call in sandbox.commands.run.call_args_list
    ]


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    cloud = None
    sandboxes: SandboxResource = LocalSandboxResource(
        base_dir=config["sandbox_dir"],
        bubblewrap_path=config.get("bubblewrap_path"),
        allow_unisolated_agent=config.get("allow_unisolated_agent", False),
    )
    if "e2b_home" in config:
        sandboxes, cloud = _e2b_sandboxes(config)
    resources = {
        "database": DatabaseResource(url=config["database_url"]),
        "sandbox": sandboxes,
        "repository_access": RepositoryAccessResource(
            clone_url_template=config["clone_url_template"],
            credential_hosts=config["credential_hosts"],
        ),
        "agent": CommandAgentResource(command=config["agent_command"], timeout_seconds=120),
    }
    if "llm" in config:  # the LLM agent, its key read from the environment when a run starts
        resources["agent"] = LLMAgentResource(
            model=config["llm"]["model"],
            base_url=config["llm"]["base_url"],
            api_key=EnvVar(config["llm"]["api_key_env"]),
            max_retries=0,
        )
    with DagsterInstance.get() as instance:
        requests = [
            request
            for request in requests_of(evaluate_sensor(instance, resources, None))
            if request.partition_key == config["space"]
        ]
        outcomes = run_requested(instance, resources, requests)
    Path(config["outcome_path"]).write_text(
        json.dumps([{"run_id": o.run_id, "success": o.success} for o in outcomes])
    )
    if cloud is not None:
        Path(config["commands_path"]).write_text(json.dumps(_commands(cloud)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
