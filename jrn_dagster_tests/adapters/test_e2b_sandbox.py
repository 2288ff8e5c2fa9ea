"""E2B specifics: what is sent to the SDK, and how SDK failures are reported.

The SDK is ``create_autospec`` of the real classes (``e2b_double``), so each call below is also
checked against the real signatures. One test runs the real SDK against a closed port.
"""

import inspect
import shlex
from pathlib import Path
from unittest.mock import ANY, create_autospec

import e2b
import httpx
import pytest
from e2b.sandbox.filesystem.filesystem import EntryInfo, FileType
from e2b.sandbox_sync.commands.command import Commands

from jrn_dagster.adapters import e2b_sandbox as e2b_module
from jrn_dagster.adapters.e2b_sandbox import SUPERVISOR_SCRIPT, E2BSandbox, idempotency_key_for
from jrn_dagster.ports.sandbox import (
    SandboxCommandError,
    SandboxGoneError,
    SandboxTimeoutError,
    SandboxUnavailableError,
)
from jrn_dagster.redaction import REDACTED, register_secret
from jrn_dagster.resources.sandbox import E2BSandboxResource
from jrn_dagster_tests.support.e2b_double import CLASS_CONNECT, CLASS_KILL, FakeE2BCloud
from jrn_dagster_tests.support.sandboxes import make_e2b_resource


def test_create_sets_template_lifetime_key_and_idempotency_explicitly(
    e2b_cloud: FakeE2BCloud, tmp_path: Path
) -> None:
    resource = E2BSandboxResource(
        api_key="e2b_secret_api_key_123",
        template="jrn-git",
        lifetime_seconds=1800,
        request_timeout_seconds=12.5,
        workdir=str(tmp_path / "work"),
        domain="e2b.internal.example",
    )
    sandbox = resource.open("9f1c2d3e-aaaa-bbbb-cccc-0123456789ab")
    e2b_cloud.sdk_class.create.assert_called_once_with(
        template="jrn-git",
        timeout=1800,
        metadata={"app": "jrn-dagster", "key": "9f1c2d3e-aaaa-bbbb-cccc-0123456789ab"},
        allow_internet_access=True,
        lifecycle={"on_timeout": "kill"},
        idempotency_key="jrn-9f1c2d3e-aaaa-bbbb-cccc-0123456789ab",
        api_key="e2b_secret_api_key_123",
        request_timeout=12.5,
        domain="e2b.internal.example",
    )
    sdk = e2b_cloud.sandboxes[sandbox.id]
    sdk.files.make_dir.assert_called_once_with(str(tmp_path / "work"), request_timeout=12.5)
    # Same key, same resource: no second sandbox.
    assert resource.open("9f1c2d3e-aaaa-bbbb-cccc-0123456789ab") is sandbox
    assert e2b_cloud.sdk_class.create.call_count == 1


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("run-123", "jrn-run-123"),
        ("Run_With Spaces", None),
        ("x" * 300, None),
    ],
)
def test_idempotency_keys_fit_e2b_rules(key: str, expected: str | None) -> None:
    derived = idempotency_key_for(key)
    if expected is not None:
        assert derived == expected
    assert len(derived) <= 255
    assert set(derived) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert idempotency_key_for(key) == derived


def test_run_sends_a_supervised_command_with_env_cwd_and_explicit_timeouts(
    e2b_cloud: FakeE2BCloud, tmp_path: Path
) -> None:
    sandbox = make_e2b_resource(tmp_path).open("run")
    sandbox.write_file("sub/.keep", "")
    result = sandbox.run(["echo", "a b"], cwd="sub", env={"ONE": "1"}, timeout=42, check=False)
    assert result.stdout == "a b\n"
    sdk = e2b_cloud.sandboxes[sandbox.id]
    sdk.commands.run.assert_called_once_with(
        ANY, envs={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC", "ONE": "1"},
        cwd=sandbox.path("sub"), timeout=42 + 1.0 + 15.0,
    )  # fmt: skip
    command = shlex.split(sdk.commands.run.call_args.args[0])
    assert command == [
        "bash", "-c", SUPERVISOR_SCRIPT, "jrn-supervisor", "42.000", "1.000", "echo", "a b"
    ]  # fmt: skip


def test_command_exit_exception_becomes_a_redacted_command_error(tmp_path: Path) -> None:
    register_secret("ghs_e2bcommandsecret0123456789")
    sdk = create_autospec(e2b.Sandbox, instance=True)
    sdk.sandbox_id = "sbx-exit"
    sdk.commands = create_autospec(Commands, instance=True)
    sdk.commands.run.side_effect = e2b.CommandExitException(
        stderr="fatal: Authentication failed for ghs_e2bcommandsecret0123456789\n",
        stdout="",
        exit_code=128,
        error="exit status 128",
    )
    sandbox = E2BSandbox(sdk, root="/home/user/work", request_timeout=5, kill_grace=1)
    with pytest.raises(SandboxCommandError) as caught:
        sandbox.run(["git", "fetch", "origin"], timeout=30)
    assert caught.value.exit_code == 128
    assert "ghs_e2bcommandsecret0123456789" not in str(caught.value)
    assert f"Authentication failed for {REDACTED}" in caught.value.stderr_tail
    # check=False returns the result instead.
    assert sandbox.run(["git", "fetch"], timeout=30, check=False).exit_code == 128


def test_sdk_timeout_becomes_a_sandbox_timeout(tmp_path: Path) -> None:
    sdk = create_autospec(e2b.Sandbox, instance=True)
    sdk.sandbox_id = "sbx-timeout"
    sdk.commands = create_autospec(Commands, instance=True)
    sdk.commands.run.side_effect = e2b.TimeoutException("context deadline exceeded")
    sandbox = E2BSandbox(sdk, root="/home/user/work", request_timeout=5, kill_grace=1)
    with pytest.raises(SandboxTimeoutError):
        sandbox.run(["sleep", "100"], timeout=3)


@pytest.mark.parametrize(
    "error",
    [
        e2b.SandboxNotRunningException("The sandbox was killed or reached its timeout"),
        e2b.SandboxNotFoundException("sandbox not found"),
    ],
)
def test_a_sandbox_that_disappeared_is_reported_gone(error: Exception) -> None:
    sdk = create_autospec(e2b.Sandbox, instance=True)
    sdk.sandbox_id = "sbx-gone"
    sdk.commands = create_autospec(Commands, instance=True)
    sdk.commands.run.side_effect = error
    sandbox = E2BSandbox(sdk, root="/home/user/work", request_timeout=5, kill_grace=1)
    with pytest.raises(SandboxGoneError, match="sbx-gone"):
        sandbox.run(["true"], timeout=3)


def test_files_go_through_the_files_api(e2b_cloud: FakeE2BCloud, tmp_path: Path) -> None:
    sandbox = make_e2b_resource(tmp_path).open("files")
    sdk = e2b_cloud.sandboxes[sandbox.id]
    sandbox.write_file("a/b.txt", "hello")
    sdk.files.write.assert_called_once_with(sandbox.path("a/b.txt"), "hello", request_timeout=30.0)
    assert sandbox.read_file("a/b.txt") == b"hello"
    sdk.files.read.assert_called_once_with(
        sandbox.path("a/b.txt"), format="bytes", request_timeout=30.0
    )
    assert sandbox.list_files("a") == ["b.txt"]
    sdk.files.list.assert_called_once_with(sandbox.path("a"), depth=256, request_timeout=30.0)
    sandbox.remove("a")
    sdk.files.remove.assert_called_once_with(sandbox.path("a"), request_timeout=30.0)


def test_list_files_keeps_files_and_symlinks_only() -> None:
    sdk = create_autospec(e2b.Sandbox, instance=True)
    sdk.sandbox_id = "sbx-list"
    root = "/home/user/work"

    def entry(path: str, kind: FileType) -> EntryInfo:
        return EntryInfo(
            name=path.rsplit("/", 1)[-1], type=kind, path=f"{root}/{path}", size=1, mode=0o644,
            permissions="-rw-r--r--", owner="user", group="user", modified_time=ANY,
        )  # fmt: skip

    sdk.files.list.return_value = [
        entry("docs", FileType.DIR),
        entry("docs/z.md", FileType.FILE),
        entry("docs/a.md", FileType.FILE),
        entry("link", FileType.SYMLINK),
    ]
    sandbox = E2BSandbox(sdk, root=root, request_timeout=5, kill_grace=1)
    assert sandbox.list_files() == ["docs/a.md", "docs/z.md", "link"]


def test_release_kills_once(e2b_cloud: FakeE2BCloud, tmp_path: Path) -> None:
    resource = make_e2b_resource(tmp_path)
    sandbox = resource.open("kill")
    sdk = e2b_cloud.sandboxes[sandbox.id]
    sandbox.release()
    sandbox.release()
    resource.release_all()
    sdk.kill.assert_called_once_with(request_timeout=30.0)


def test_attach_reconnects_by_id_and_release_kills_by_id(
    e2b_cloud: FakeE2BCloud, tmp_path: Path
) -> None:
    sandbox_id = make_e2b_resource(tmp_path).open("other-process").id
    fresh = make_e2b_resource(tmp_path)
    attached = fresh.attach(sandbox_id)
    assert attached.id == sandbox_id
    e2b_cloud.sdk_class.connect.assert_called_once_with(
        sandbox_id, timeout=3600, api_key="e2b_test_key_0123456789", request_timeout=30.0
    )
    CLASS_CONNECT.bind(
        *e2b_cloud.sdk_class.connect.call_args.args, **e2b_cloud.sdk_class.connect.call_args.kwargs
    )
    fresh.release(sandbox_id)
    assert sandbox_id in e2b_cloud.killed
    make_e2b_resource(tmp_path).release(sandbox_id)  # already gone: no error
    e2b_cloud.sdk_class.kill.assert_called_with(
        sandbox_id, api_key="e2b_test_key_0123456789", request_timeout=30.0
    )
    CLASS_KILL.bind(
        *e2b_cloud.sdk_class.kill.call_args.args, **e2b_cloud.sdk_class.kill.call_args.kwargs
    )
    with pytest.raises(SandboxGoneError):
        make_e2b_resource(tmp_path).attach(sandbox_id)


@pytest.mark.parametrize(
    ("error", "retryable", "says"),
    [
        (httpx.ConnectError("Connection refused"), True, "cannot reach E2B"),
        (e2b.AuthenticationException("invalid API key"), False, "check E2B_API_KEY"),
        (e2b.RateLimitException("rate limit"), True, "busy"),
        (e2b.SandboxException("template not found", status_code=404), False, "template"),
        (e2b.SandboxException("internal error", status_code=500), True, "internal error"),
    ],
)
def test_creation_failures_are_unavailable_with_the_right_retryability(
    e2b_cloud: FakeE2BCloud, tmp_path: Path, error: Exception, retryable: bool, says: str
) -> None:
    e2b_cloud.sdk_class.create.side_effect = error
    with pytest.raises(SandboxUnavailableError) as caught:
        make_e2b_resource(tmp_path).open("unavailable")
    assert caught.value.retryable is retryable
    assert says in str(caught.value)
    assert "e2b_test_key_0123456789" not in str(caught.value)


def test_connect_failure_without_network_is_unavailable(
    e2b_cloud: FakeE2BCloud, tmp_path: Path
) -> None:
    e2b_cloud.sdk_class.connect.side_effect = httpx.ConnectError("Connection refused")
    with pytest.raises(SandboxUnavailableError) as caught:
        make_e2b_resource(tmp_path).attach("sbx0001")
    assert caught.value.retryable


def test_real_sdk_without_network_gives_a_retryable_unavailable_error(tmp_path: Path) -> None:
    """The real SDK, pointed at a closed port: ``httpx.ConnectError`` (not a SandboxException)."""
    assert e2b_module.E2BSdkSandbox is e2b.Sandbox
    resource = E2BSandboxResource(
        api_key="e2b_0000000000000000000000000000000000000000",
        template="jrn-test",
        domain="127.0.0.1:9",
        request_timeout_seconds=3,
    )
    with pytest.raises(SandboxUnavailableError) as caught:
        resource.open("offline")
    assert caught.value.retryable
    assert "cannot reach E2B" in str(caught.value)
    assert "e2b_0000000000000000000000000000000000000000" not in str(caught.value)


def test_the_sdk_signatures_we_rely_on_still_exist() -> None:
    """If an SDK upgrade drops a parameter we pass, fail here with a clear message."""
    create = inspect.signature(e2b.Sandbox.create).parameters
    for name in ("template", "timeout", "metadata", "allow_internet_access", "lifecycle",
                 "idempotency_key"):  # fmt: skip
        assert name in create, f"e2b.Sandbox.create no longer accepts {name}"
    run = inspect.signature(Commands.run).parameters
    assert {"envs", "cwd", "timeout"} <= set(run)
    assert "sandbox_id" in CLASS_CONNECT.parameters
    assert "timeout" in CLASS_CONNECT.parameters
    assert "sandbox_id" in CLASS_KILL.parameters


def test_a_sandbox_that_cannot_be_prepared_is_killed_not_leaked(
    e2b_cloud: FakeE2BCloud, tmp_path: Path
) -> None:
    created: list[str] = []
    original = e2b_cloud.sdk_class.create.side_effect

    def create_then_break(*args: object, **kwargs: object) -> object:
        sandbox = original(*args, **kwargs)
        sandbox.files.make_dir.side_effect = e2b.SandboxException("disk full", status_code=507)
        created.append(sandbox.sandbox_id)
        return sandbox

    e2b_cloud.sdk_class.create.side_effect = create_then_break
    with pytest.raises(SandboxUnavailableError, match="disk full"):
        make_e2b_resource(tmp_path).open("broken")
    assert created and created[0] in e2b_cloud.killed
