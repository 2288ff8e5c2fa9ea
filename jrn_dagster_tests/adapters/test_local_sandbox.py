"""Local sandbox specifics: private directories, process groups, containment."""

import os
import signal
import stat
import time
from pathlib import Path

import pytest

from jrn_dagster.adapters.local_sandbox import MARKER, LocalSandbox, default_base_dir
from jrn_dagster.ports.sandbox import (
    SandboxPathError,
    SandboxUnavailableError,
)
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster_tests.support.liveness import process_alive, wait_until_gone


def test_default_base_dir_is_under_the_system_temp_dir() -> None:
    import tempfile

    assert default_base_dir() == str(Path(tempfile.gettempdir()) / "jrn-sandboxes")
    assert LocalSandboxResource().base_dir is None


def test_sandbox_directory_is_private_and_laid_out(resource: LocalSandboxResource) -> None:
    sandbox = resource.open("layout")
    assert isinstance(sandbox, LocalSandbox)
    directory = Path(sandbox.root).parent
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(resource.base_dir or "").stat().st_mode) == 0o700
    assert {p.name for p in directory.iterdir()} == {MARKER, "work", "home", "tmp"}
    env = dict(line.split("=", 1) for line in sandbox.run(["env"], timeout=10).stdout.splitlines())
    assert env["HOME"] == str(directory / "home")
    assert env["TMPDIR"] == str(directory / "tmp")
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "PWD", "SHLVL", "_"}
    resource.release_all()
    assert not directory.exists()


def test_git_global_config_stays_inside_the_sandbox(resource: LocalSandboxResource) -> None:
    sandbox = resource.open("git-home")
    sandbox.run(["git", "config", "--global", "user.name", "Sandboxed"], timeout=10)
    assert b"Sandboxed" in sandbox.read_file("../home/.gitconfig")


def test_the_same_key_from_another_resource_instance_is_the_same_sandbox(
    resource: LocalSandboxResource,
) -> None:
    first = resource.open("shared-key")
    first.write_file("note", "kept")
    again = LocalSandboxResource(base_dir=resource.base_dir).open("shared-key")
    assert again.id == first.id
    assert again.read_file("note") == b"kept"


def test_a_base_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "shared"
    base.mkdir()
    base.chmod(0o777)
    with pytest.raises(SandboxUnavailableError, match="writable by other users") as caught:
        LocalSandboxResource(base_dir=str(base)).open("k")
    assert not caught.value.retryable


def test_a_symlinked_base_dir_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(SandboxUnavailableError, match="symlink"):
        LocalSandboxResource(base_dir=str(link)).open("k")


def test_paths_cannot_leave_the_sandbox(resource: LocalSandboxResource, tmp_path: Path) -> None:
    sandbox = resource.open("escape")
    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    with pytest.raises(SandboxPathError):
        sandbox.write_file("../../../outside.txt", "overwrite")
    with pytest.raises(SandboxPathError):
        sandbox.read_file(str(outside))
    (Path(sandbox.root) / "link").symlink_to(outside)
    with pytest.raises(SandboxPathError):
        sandbox.read_file("link")
    with pytest.raises(SandboxPathError):
        sandbox.run(["true"], cwd="/", timeout=5)
    with pytest.raises(SandboxPathError):
        sandbox.remove(".")
    assert outside.read_text() == "host file"
    assert sandbox.list_files() == ["link"]  # listed, never followed


def test_writing_over_a_symlink_replaces_the_link(
    resource: LocalSandboxResource, tmp_path: Path
) -> None:
    sandbox = resource.open("write-over-link")
    sandbox.write_file("repo/README.md", "# keep me\n")
    sandbox.run(["ln", "-s", "repo/README.md", "report.json"], timeout=10)
    sandbox.write_file("report.json", "{}")
    assert sandbox.read_file("repo/README.md") == b"# keep me\n"
    assert not Path(sandbox.path("report.json")).is_symlink()
    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    sandbox.run(["ln", "-s", str(outside), "out-link"], timeout=10)
    sandbox.write_file("out-link", "x")  # the link is in the sandbox: replaced, not followed
    assert outside.read_text() == "host file"


def test_background_processes_do_not_outlive_their_command(
    resource: LocalSandboxResource,
) -> None:
    sandbox = resource.open("leftovers")
    # Waiting for the background sleep would end in a SandboxTimeoutError after 30 s.
    result = sandbox.run(["bash", "-c", "sleep 300 & echo $!"], timeout=30)
    assert wait_until_gone(int(result.stdout))


def _signal_state() -> str:
    """This process's blocked and ignored signal masks (inherited by every command it starts)."""
    status = Path("/proc/self/status").read_text().splitlines()
    return "; ".join(line for line in status if line.startswith(("SigBlk", "SigIgn")))


def test_timeout_sends_term_first(tmp_path: Path) -> None:
    # A command inherits its starter's blocked and ignored signals: this test wants to see the
    # sandbox's TERM, so it starts the command with TERM deliverable whatever earlier tests in
    # this worker process left behind (the state is in the message when it fails).
    before = _signal_state()
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    handler = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # A long grace: on a loaded machine the trap may take more than a second to run, and the
    # command ends as soon as it has. The timeout leaves bash time to set its trap.
    resource = LocalSandboxResource(base_dir=str(tmp_path / "sandboxes"), kill_grace_seconds=30)
    sandbox = resource.open("term-first")
    try:
        with pytest.raises(Exception, match="did not finish"):
            sandbox.run(
                ["bash", "-c", "trap 'echo got-term > term.txt; exit 1' TERM; sleep 300 & wait"],
                timeout=5,
            )
    finally:
        signal.signal(signal.SIGTERM, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    assert Path(sandbox.path("term.txt")).exists(), f"no TERM seen; before the test: {before}"
    assert sandbox.read_file("term.txt") == b"got-term\n"
    resource.release_all()


def test_release_removes_read_only_trees(resource: LocalSandboxResource) -> None:
    sandbox = resource.open("read-only")
    sandbox.run(["bash", "-c", "mkdir -p ro/sub && touch ro/sub/f && chmod -R a-w ro"], timeout=10)
    directory = Path(sandbox.root).parent
    sandbox.release()
    assert not directory.exists()


def test_release_stale_removes_only_old_sandboxes(resource: LocalSandboxResource) -> None:
    old = resource.open("old")
    new = resource.open("new")
    marker = Path(old.root).parent / MARKER
    os.utime(marker, (time.time() - 7200, time.time() - 7200))
    assert resource.release_stale(older_than_seconds=3600) == [old.id]
    assert old.released
    assert not new.released


def test_process_alive_sees_a_live_process() -> None:
    assert process_alive(os.getpid())
