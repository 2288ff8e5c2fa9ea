"""The resource inside real Dagster runs: sandboxes are released when the run ends, whatever the
outcome; the implementation is picked from JRN_SANDBOX with secrets left as EnvVars."""

import os
import signal
import threading
from pathlib import Path

import pytest
from dagster import Config, Failure, In, OpExecutionContext, in_process_executor, job, op

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.ports.sandbox import SandboxGoneError
from jrn_dagster.resources.sandbox import (
    E2BSandboxResource,
    LocalSandboxResource,
    SandboxResource,
    sandbox_resource_from_env,
)
from jrn_dagster_tests.support.liveness import wait_until_gone


@op
def open_sandbox(context: OpExecutionContext, sandbox: SandboxResource) -> str:
    opened = sandbox.open(context.run_id)
    opened.write_file("state.txt", context.run_id)
    return opened.id


@op(ins={"sandbox_id": In(str)})
def use_sandbox(sandbox_id: str, sandbox: SandboxResource) -> str:
    attached = sandbox.attach(sandbox_id)
    return attached.read_file("state.txt").decode()


@op(ins={"sandbox_id": In(str)})
def fail_after_use(sandbox_id: str, sandbox: SandboxResource) -> None:
    sandbox.attach(sandbox_id).run(["true"], timeout=10)
    raise Failure("the step failed after using the sandbox", allow_retries=False)


class PidFile(Config):
    path: str


@op
def interrupted_while_running(
    context: OpExecutionContext, config: PidFile, sandbox: SandboxResource
) -> None:
    opened = sandbox.open(context.run_id)
    # What `dagster run terminate` does to an in-process run worker, half a second into a command.
    # Cancelled if the op ends first: a SIGTERM after Dagster restored the default handler would
    # kill the test process.
    terminate = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    terminate.start()
    try:
        opened.run_script(
            "echo $$ > {pid_file}; exec sleep 60", {"pid_file": config.path}, timeout=120
        )
    finally:
        terminate.cancel()


@job(executor_def=in_process_executor)
def succeeding_job() -> None:
    use_sandbox(open_sandbox())


@job(executor_def=in_process_executor)
def failing_job() -> None:
    fail_after_use(open_sandbox())


@job(executor_def=in_process_executor)
def interrupted_job() -> None:
    interrupted_while_running()


def _sandbox_id(result, op_name: str = "open_sandbox") -> str:  # type: ignore[no-untyped-def]
    return result.output_for_node(op_name)


def test_the_run_sandbox_is_released_when_the_run_succeeds(tmp_path: Path) -> None:
    base = tmp_path / "sandboxes"
    result = succeeding_job.execute_in_process(
        resources={"sandbox": LocalSandboxResource(base_dir=str(base))}
    )
    assert result.success
    assert result.output_for_node("use_sandbox") == result.run_id
    sandbox_id = _sandbox_id(result)
    assert not (base / sandbox_id).exists()
    with pytest.raises(SandboxGoneError):
        LocalSandboxResource(base_dir=str(base)).attach(sandbox_id)


def test_the_run_sandbox_is_released_when_the_run_fails(tmp_path: Path) -> None:
    base = tmp_path / "sandboxes"
    result = failing_job.execute_in_process(
        resources={"sandbox": LocalSandboxResource(base_dir=str(base))}, raise_on_error=False
    )
    assert not result.success
    sandbox_id = _sandbox_id(result)
    assert sandbox_id.startswith("local-")
    assert list(base.iterdir()) == []


def test_the_run_sandbox_and_its_command_are_gone_when_the_run_is_terminated(
    tmp_path: Path,
) -> None:
    base = tmp_path / "sandboxes"
    pid_file = tmp_path / "command.pid"
    result = interrupted_job.execute_in_process(
        resources={"sandbox": LocalSandboxResource(base_dir=str(base))},
        run_config={"ops": {"interrupted_while_running": {"config": {"path": str(pid_file)}}}},
        raise_on_error=False,
    )
    assert not result.success
    assert list(base.iterdir()) == []
    assert wait_until_gone(int(pid_file.read_text()))


def test_release_on_teardown_can_be_turned_off(tmp_path: Path) -> None:
    base = tmp_path / "sandboxes"
    resource = LocalSandboxResource(base_dir=str(base), release_on_teardown=False)
    result = succeeding_job.execute_in_process(resources={"sandbox": resource})
    sandbox_id = _sandbox_id(result)
    assert (base / sandbox_id).exists()
    LocalSandboxResource(base_dir=str(base)).release(sandbox_id)
    assert not (base / sandbox_id).exists()


def test_factory_defaults_to_local(tmp_path: Path) -> None:
    assert isinstance(sandbox_resource_from_env({}), LocalSandboxResource)
    chosen = sandbox_resource_from_env(
        {"JRN_SANDBOX": " Local ", "JRN_LOCAL_SANDBOX_DIR": str(tmp_path)}
    )
    assert isinstance(chosen, LocalSandboxResource)
    assert chosen.base_dir == str(tmp_path)


def test_factory_builds_e2b_with_secrets_left_to_dagster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("E2B_API_KEY", "e2b_real_secret_value_123456")
    monkeypatch.setenv("JRN_E2B_TEMPLATE", "jrn-git-template")
    chosen = sandbox_resource_from_env({"JRN_SANDBOX": "e2b"})
    assert isinstance(chosen, E2BSandboxResource)
    # Configured by name: the value is read when Dagster initialises the resource for a run.
    assert "e2b_real_secret_value_123456" not in repr(chosen)
    assert "e2b_real_secret_value_123456" not in str(chosen.model_dump())
    with chosen.process_config_and_initialize_cm() as initialised:
        assert initialised.api_key == "e2b_real_secret_value_123456"
        assert initialised.template == "jrn-git-template"


def test_factory_rejects_an_unknown_sandbox_kind() -> None:
    with pytest.raises(
        InvalidInputError, match="invalid JRN_SANDBOX='docker': use one of local, e2b"
    ):
        sandbox_resource_from_env({"JRN_SANDBOX": "docker"})
