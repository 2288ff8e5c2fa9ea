"""Untrusted commands on the local sandbox run isolated with bubblewrap: their own processes,
only the work directory, no network, nothing left running; refused where that cannot be done,
unless the operator opted in (then with a warning). docs/sandboxes.md, "Isolation of the agent".
"""

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jrn_dagster.adapters.bubblewrap import default_bubblewrap
from jrn_dagster.adapters.local_sandbox import UNISOLATED_WARNING, LocalSandbox
from jrn_dagster.ports.sandbox import (
    SandboxIsolationError,
    SandboxTimeoutError,
)
from jrn_dagster.resources.sandbox import LocalSandboxResource, sandbox_resource_from_env
from jrn_dagster_tests.support.liveness import processes_with


@pytest.fixture
def sandbox(resource: LocalSandboxResource) -> Iterator[LocalSandbox]:
    opened = resource.open("isolation")
    assert isinstance(opened, LocalSandbox)
    yield opened
    resource.release_all()


def test_the_bundled_bubblewrap_is_found_and_works_here(sandbox: LocalSandbox) -> None:
    assert default_bubblewrap() is not None
    assert sandbox.untrusted_isolation_warning() is None


def test_an_isolated_command_sees_only_its_own_processes(sandbox: LocalSandbox) -> None:
    result = sandbox.run_untrusted(
        [
            "bash",
            "-c",
            'for p in /proc/[0-9]*; do echo "${p#/proc/} $(cat $p/comm)"; done;'
            " echo environ-of-1:; tr '\\0' '\\n' < /proc/1/environ",
        ],
        timeout=30,
    )
    listing, environ = result.stdout.split("environ-of-1:\n")
    commands = {line.split(" ", 1)[1] for line in listing.splitlines()}
    # bwrap as PID 1 (started from an empty environment), this shell and its children only.
    assert commands <= {"bwrap", "bash", "cat", "tr"}, commands
    assert environ == ""


def test_an_isolated_command_sees_only_the_work_directory(
    sandbox: LocalSandbox, tmp_path: Path
) -> None:
    outside = tmp_path / "outside-the-sandbox.txt"
    outside.write_text("the orchestrator's file")
    sandbox.write_file("docs/a.md", "# A\n")
    directory = Path(sandbox.root).parent
    script = (
        'echo "outside: $(cat "$1" 2>&1)"; echo "home: $(ls "$2" 2>&1)";'
        ' echo "beside:" $(ls ..); echo "root:" $(ls /); echo "doc: $(cat docs/a.md)";'
        ' echo "env: $HOME $TMPDIR"; echo new > docs/b.md;'
        ' echo "usr: $(touch /usr/x 2>/dev/null && echo writable || echo read-only)"'
    )
    result = sandbox.run_untrusted(
        ["bash", "-c", script, "spy", str(outside), str(directory / "home")], timeout=30
    )
    seen = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert seen["outside"] == f"cat: {outside}: No such file or directory"
    assert seen["home"] == f"ls: cannot access '{directory / 'home'}': No such file or directory"
    assert seen["beside"] == "work"  # not the sandbox's home/ and tmp/, no other sandbox
    assert set(seen["root"].split()) <= {"bin", "dev", "etc", "lib", "lib64", "proc", "sbin",
                                          "tmp", "usr", "lib32", "libx32"}  # fmt: skip
    assert seen["doc"] == "# A" and seen["env"] == "/tmp/home /tmp"
    assert seen["usr"] == "read-only"
    assert sandbox.read_file("docs/b.md") == b"new\n"  # the work directory is writable


def test_an_isolated_command_has_no_network_unless_asked(sandbox: LocalSandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        probe = ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"]
        offline = sandbox.run_untrusted(probe, timeout=30, check=False)
        online = sandbox.run_untrusted(probe, timeout=30, check=False, network=True)
    assert offline.exit_code != 0 and "connected" not in offline.stdout
    assert online.exit_code == 0 and online.stdout == "connected\n"


def test_a_setsid_daemon_dies_with_the_isolated_command(sandbox: LocalSandbox) -> None:
    marker = f"jrn-daemon-{uuid.uuid4().hex}"
    sandbox.run_untrusted(
        [
            "bash",
            "-c",
            f"setsid bash -c 'exec -a {marker} sleep 300' >/dev/null 2>&1 < /dev/null &",
        ],
        timeout=30,
    )
    # The PID namespace ended with the command: the kernel killed everything in it.
    assert processes_with(marker) == []


def test_a_timeout_kills_the_isolated_tree(sandbox: LocalSandbox) -> None:
    marker = f"jrn-slow-{uuid.uuid4().hex}"
    with pytest.raises(SandboxTimeoutError):
        sandbox.run_untrusted(
            ["bash", "-c", f"trap '' TERM; exec -a {marker} sleep 300"], timeout=1
        )
    assert processes_with(marker) == []


def test_read_only_paths_are_readable_not_writable(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "agent.sh").write_text("echo from-the-tool\n")
    resource = LocalSandboxResource(
        base_dir=str(tmp_path / "sandboxes"), agent_read_only_paths=[str(tools)]
    )
    sandbox = resource.open("tools")
    result = sandbox.run_untrusted(
        ["bash", "-c", f"bash {tools}/agent.sh; touch {tools}/x 2>/dev/null || echo read-only"],
        timeout=30,
    )
    assert result.stdout == "from-the-tool\nread-only\n"
    resource.release_all()


def test_without_bubblewrap_an_untrusted_command_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-bwrap"
    resource = LocalSandboxResource(
        base_dir=str(tmp_path / "sandboxes"), bubblewrap_path=str(missing)
    )
    sandbox = resource.open("refused")
    for attempt in (
        sandbox.untrusted_isolation_warning,
        lambda: sandbox.run_untrusted(["touch", "ran"], timeout=10),
    ):
        with pytest.raises(SandboxIsolationError) as refused:
            attempt()
        assert str(refused.value) == (
            f"cannot isolate the agent on the local sandbox: bubblewrap not found at {missing}. "
            "Run agents on E2B (JRN_SANDBOX=e2b), make bubblewrap work here (it needs "
            "unprivileged user namespaces, or root), or set JRN_ALLOW_UNISOLATED_AGENT=1 to run "
            "the agent unisolated, able to read this machine's secrets (docs/sandboxes.md)"
        )
    assert sandbox.list_files() == []  # nothing ran
    assert sandbox.run(["true"], timeout=10).exit_code == 0  # the pipeline's commands still run


def test_a_bubblewrap_that_cannot_create_namespaces_is_refused_with_its_reason(
    tmp_path: Path,
) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to create a new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    resource = LocalSandboxResource(base_dir=str(tmp_path / "sandboxes"), bubblewrap_path=str(fake))
    with pytest.raises(SandboxIsolationError, match="No permissions to create a new namespace"):
        resource.open("no-userns").untrusted_isolation_warning()


def test_the_opt_in_runs_unisolated_with_a_warning_every_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    resource = sandbox_resource_from_env(
        {
            "JRN_LOCAL_SANDBOX_DIR": str(tmp_path / "sandboxes"),
            "JRN_ALLOW_UNISOLATED_AGENT": "1",
        }
    )
    assert isinstance(resource, LocalSandboxResource) and resource.allow_unisolated_agent
    resource = resource.model_copy(update={"bubblewrap_path": str(tmp_path / "no-such-bwrap")})
    sandbox = resource.open("opted-in")
    assert sandbox.untrusted_isolation_warning() == UNISOLATED_WARNING
    for _ in range(2):
        result = sandbox.run_untrusted(
            ["bash", "-c", "ls /proc/1 >/dev/null && echo host"], timeout=10
        )
        assert result.stdout == "host\n"  # the machine's processes are visible: what it gives up
    assert [r.getMessage() for r in caplog.records].count(UNISOLATED_WARNING) == 2
    resource.release_all()
