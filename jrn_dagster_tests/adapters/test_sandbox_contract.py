"""The semantics every sandbox shares, checked on the local sandbox and on E2B (autospec'd SDK)."""

import pytest

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.ports.sandbox import (
    Sandbox,
    SandboxCommandError,
    SandboxFileNotFoundError,
    SandboxGoneError,
    SandboxTimeoutError,
)
from jrn_dagster.redaction import REDACTED, register_secret
from jrn_dagster_tests.support.liveness import wait_until_gone
from jrn_dagster_tests.support.sandboxes import Backend


def test_run_returns_output_exit_code_and_duration(sandbox: Sandbox) -> None:
    result = sandbox.run(["bash", "-c", "echo out; echo err >&2; exit 3"], timeout=10, check=False)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert result.duration_seconds > 0


def test_commands_start_in_root_and_accept_a_relative_cwd(sandbox: Sandbox) -> None:
    assert sandbox.run(["pwd"], timeout=10).stdout.strip() == sandbox.root
    sandbox.write_file("sub/dir/marker", "x")
    assert sandbox.run(["pwd"], cwd="sub/dir", timeout=10).stdout.strip() == sandbox.path("sub/dir")


def test_arguments_are_passed_verbatim_without_a_shell(sandbox: Sandbox) -> None:
    tricky = ["$(touch pwned)", "a b", "'quote", "`id`", ";ls", "*"]
    result = sandbox.run(["printf", "%s\\n", *tricky], timeout=10)
    assert result.stdout.splitlines() == tricky
    assert "pwned" not in sandbox.list_files()


def test_environment_is_minimal_plus_what_the_command_is_given(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JRN_TEST_PARENT_SECRET", "parent-process-secret-value")
    env = sandbox.run(["env"], env={"ONLY_FOR_THIS": "yes"}, timeout=10).stdout
    assert "parent-process-secret-value" not in env
    assert "JRN_TEST_PARENT_SECRET" not in env
    assert "ONLY_FOR_THIS=yes" in env
    assert "LANG=C.UTF-8" in env
    # The variable was given to one command only.
    assert "ONLY_FOR_THIS" not in sandbox.run(["env"], timeout=10).stdout


def test_non_zero_exit_raises_with_redacted_output(sandbox: Sandbox) -> None:
    register_secret("contract-secret-token-1234")
    with pytest.raises(SandboxCommandError) as caught:
        sandbox.run(
            ["bash", "-c", "echo 'fatal: contract-secret-token-1234 rejected' >&2; exit 128"],
            timeout=10,
        )
    error = caught.value
    assert error.exit_code == 128
    assert "contract-secret-token-1234" not in str(error)
    assert f"fatal: {REDACTED} rejected" in error.stderr_tail
    assert "exited with code 128" in str(error)


def test_a_missing_program_exits_127(sandbox: Sandbox) -> None:
    result = sandbox.run(["jrn-no-such-program"], timeout=10, check=False)
    assert result.exit_code == 127


def test_timeout_stops_the_whole_process_tree(sandbox: Sandbox) -> None:
    # The grandchild ignores SIGTERM: only the SIGKILL that follows the grace period stops it.
    script = "(trap '' TERM; sleep 300) & echo $! > {pid_file}; wait"
    with pytest.raises(SandboxTimeoutError) as caught:
        sandbox.run_script(script, {"pid_file": "grandchild.pid"}, timeout=1)
    assert "did not finish within 1 s" in str(caught.value)
    grandchild = int(sandbox.read_file("grandchild.pid"))
    assert wait_until_gone(grandchild), f"grandchild {grandchild} survived the timeout"


def test_run_script_quotes_every_value(sandbox: Sandbox) -> None:
    hostile = "$(touch pwned); `touch pwned2` 'x' \"y\" \\ *"
    result = sandbox.run_script("printf '%s' {value}", {"value": hostile}, timeout=10)
    assert result.stdout == hostile
    assert not {"pwned", "pwned2"} & set(sandbox.list_files())


@pytest.mark.parametrize(
    "template",
    ["echo {unknown}", "echo {}", "echo {0}", "echo {value.attr}", "echo {value[0]}",
     "echo {value!r}", "echo {value:>10}", "echo {value"],
)  # fmt: skip
def test_run_script_refuses_placeholders_that_bypass_quoting(
    sandbox: Sandbox, template: str
) -> None:
    with pytest.raises(InvalidInputError):
        sandbox.run_script(template, {"value": "x"}, timeout=10)


def test_run_refuses_a_shell_string_and_a_bad_timeout(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidInputError):
        sandbox.run("echo hi", timeout=10)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        sandbox.run(["true"], timeout=0)
    with pytest.raises(InvalidInputError):
        sandbox.run(["true"], env={"BAD-NAME": "x"}, timeout=10)


def test_files_write_read_list_remove(sandbox: Sandbox) -> None:
    sandbox.write_file("docs/a.md", "# A\n")
    sandbox.write_file("docs/deep/b.bin", b"\x00\x01\xff")
    sandbox.write_file("top.txt", "top")
    assert sandbox.read_file("docs/a.md") == b"# A\n"
    assert sandbox.read_file(sandbox.path("docs/deep/b.bin")) == b"\x00\x01\xff"
    assert sandbox.list_files() == ["docs/a.md", "docs/deep/b.bin", "top.txt"]
    assert sandbox.list_files("docs") == ["a.md", "deep/b.bin"]
    # Files written through the API are what commands see, and the other way round.
    assert sandbox.run(["cat", "docs/a.md"], timeout=10).stdout == "# A\n"
    sandbox.run(["bash", "-c", "echo made > docs/c.md"], timeout=10)
    assert sandbox.read_file("docs/c.md") == b"made\n"
    sandbox.remove("docs/deep")
    sandbox.remove("top.txt")
    sandbox.remove("never-existed")
    assert sandbox.list_files() == ["docs/a.md", "docs/c.md"]


def test_removing_a_symlink_removes_the_link_never_its_target(sandbox: Sandbox) -> None:
    """A command may plant a symlink where the pipeline later removes a file of its own."""
    sandbox.write_file("repo/README.md", "# keep me\n")
    sandbox.run(["ln", "-s", "repo/README.md", "report.json"], timeout=10)
    sandbox.run(["ln", "-s", "repo", "dir-link"], timeout=10)
    sandbox.remove("report.json")
    sandbox.remove("dir-link")
    assert sandbox.read_file("repo/README.md") == b"# keep me\n"
    assert sandbox.list_files() == ["repo/README.md"]


def test_untrusted_commands_run_like_commands(sandbox: Sandbox) -> None:
    """Same contract as ``run``: output, exit codes, the given environment, timeouts."""
    sandbox.write_file("docs/a.md", "# A\n")
    result = sandbox.run_untrusted(
        ["bash", "-c", 'cat docs/a.md; echo "$JRN_X"; echo edit > docs/b.md; exit 3'],
        env={"JRN_X": "given"},
        timeout=30,
        check=False,
    )
    assert (result.exit_code, result.stdout) == (3, "# A\ngiven\n")
    assert sandbox.read_file("docs/b.md") == b"edit\n"
    with pytest.raises(SandboxCommandError):
        sandbox.run_untrusted(["false"], timeout=30)
    with pytest.raises(SandboxTimeoutError):
        sandbox.run_untrusted(["sleep", "300"], timeout=1)


def test_reading_a_missing_file_says_so(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxFileNotFoundError) as caught:
        sandbox.read_file("nope.txt")
    assert isinstance(caught.value, FileNotFoundError)
    assert "nope.txt" in str(caught.value)
    with pytest.raises(SandboxFileNotFoundError):
        sandbox.list_files("no-such-dir")


def test_open_is_idempotent_per_key(backend: Backend) -> None:
    resource = backend.make_resource()
    try:
        first = resource.open("run-a")
        assert resource.open("run-a") is first
        assert resource.open("run-b").id != first.id
    finally:
        resource.release_all()


def test_attach_from_a_fresh_resource_reaches_the_same_sandbox(backend: Backend) -> None:
    opener = backend.make_resource()
    opened = opener.open("attach-run")
    opened.write_file("state.txt", "from the first process")
    other = backend.make_resource()
    attached = other.attach(opened.id)
    assert attached.id == opened.id
    assert attached.read_file("state.txt") == b"from the first process"
    other.release(opened.id)
    with pytest.raises(SandboxGoneError):
        backend.make_resource().attach(opened.id)
    opener.release(opened.id)  # already gone: nothing happens


def test_release_is_idempotent_and_final(backend: Backend) -> None:
    resource = backend.make_resource()
    sandbox = resource.open("release-run")
    sandbox.write_file("x.txt", "x")
    sandbox.release()
    sandbox.release()
    assert sandbox.released
    with pytest.raises(SandboxGoneError):
        sandbox.run(["true"], timeout=10)
    with pytest.raises(SandboxGoneError):
        sandbox.read_file("x.txt")
    # A new open with the same key gives a fresh, empty sandbox.
    again = resource.open("release-run")
    assert again.list_files() == []
    resource.release_all()
    assert again.released


def test_release_all_releases_everything_opened(backend: Backend) -> None:
    resource = backend.make_resource()
    sandboxes = [resource.open(f"run-{n}") for n in range(3)]
    assert resource.release_all() == []
    assert all(s.released for s in sandboxes)
    for opened in sandboxes:
        with pytest.raises(SandboxGoneError):
            backend.make_resource().attach(opened.id)


def test_command_errors_keep_the_end_of_long_output(sandbox: Sandbox) -> None:
    script = "for i in $(seq 1 2000); do echo line-$i >&2; done; exit 1"
    with pytest.raises(SandboxCommandError) as caught:
        sandbox.run(["bash", "-c", script], timeout=30)
    tail = caught.value.stderr_tail
    assert len(tail) <= 2001
    assert tail.rstrip().endswith("line-2000")
    assert "line-1\n" not in tail
