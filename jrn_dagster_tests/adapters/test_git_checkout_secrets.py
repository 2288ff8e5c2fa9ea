"""The token travels in the environment of the git commands that talk to the remote, and nowhere
else: not in an argument, a file under .git/, an exception, a log line, or any later command."""

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from jrn_dagster.adapters.git import clone_at
from jrn_dagster.adapters.github import resolve_git_credential
from jrn_dagster.domain.records import Integration
from jrn_dagster.ports.git import CheckoutAuthError, CheckoutError
from jrn_dagster_tests.support.git_repos import RemoteRepo
from jrn_dagster_tests.support.http_git import GitHttpServer
from jrn_dagster_tests.support.integration_records import token_integration
from jrn_dagster_tests.support.recording_sandbox import RecordingSandbox

TOKEN = "ghs_secretcheckouttoken0123456789abcd"
ENCODED = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
NETWORK_COMMANDS = {"fetch", "checkout", "diff"}


@pytest.fixture
def server(remote: RemoteRepo) -> Iterator[GitHttpServer]:
    with GitHttpServer(remote.root, token=TOKEN) as running:
        yield running


def leaks(text: str) -> bool:
    return TOKEN in text or ENCODED in text


def git_subcommand(argv: list[str]) -> str:
    """The git subcommand, past the ``-c name=value`` options."""
    rest = argv[1:]
    while rest and rest[0] == "-c":
        rest = rest[2:]
    return rest[0]


def test_the_token_appears_only_in_the_environment_of_remote_git_commands(
    remote: RemoteRepo,
    server: GitHttpServer,
    spy: RecordingSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    integration: Integration = token_integration()
    credential = resolve_git_credential(
        integration, remote.coordinate, environ={"ACME_GIT_TOKEN": TOKEN}
    )
    base = remote.head()
    head = remote.commit_and_push({"doc.md": "new\n"}, "change")
    server.fail_next(1, status=503)  # one retried failure, logged on the way
    checkout = clone_at(
        spy,
        coordinate=str(remote.coordinate),
        branch="main",
        head_sha=head,
        base_sha=base,
        credential=credential,
        clone_url_template=server.url_template,
        credential_hosts=[server.host],
        retry_delays=(0.0,),
    )
    assert checkout.base_reachable

    # Sent, and required: the server saw the header on every successful request.
    assert {r.authorization for r in server.requests if r.status == 200} == {f"Basic {ENCODED}"}

    for command in spy.commands:
        assert not any(leaks(arg) for arg in command.argv), command.argv
        carries_token = any(leaks(value) for value in command.env.values())
        assert carries_token == (git_subcommand(command.argv) in NETWORK_COMMANDS), command.argv
        if command.result is not None:
            assert not leaks(command.result.stdout + command.result.stderr)

    git_dir = Path(checkout.path) / ".git"
    for path in git_dir.rglob("*"):
        if path.is_file():
            assert not leaks(path.read_bytes().decode("latin-1")), path
    home = Path(spy.root).parent / "home"
    for path in home.rglob("*"):
        if path.is_file():
            assert not leaks(path.read_bytes().decode("latin-1")), path

    # A later command (the agent's, say) runs without it.
    later = spy.run(["env"], cwd="repo", timeout=10)
    assert not leaks(later.stdout)
    assert "GIT_CONFIG" not in later.stdout

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "503" in logged  # the retry was logged...
    assert not leaks(logged)  # ...without the token
    assert not leaks(checkout.model_dump_json())


def test_the_token_is_not_in_the_text_of_a_failure(
    remote: RemoteRepo, server: GitHttpServer, spy: RecordingSandbox
) -> None:
    credential = resolve_git_credential(
        token_integration(), remote.coordinate, environ={"ACME_GIT_TOKEN": TOKEN}
    )
    server.fail_next(5, status=500)
    with pytest.raises(CheckoutError) as caught:
        clone_at(
            spy,
            coordinate=str(remote.coordinate),
            branch="main",
            head_sha=remote.head(),
            base_sha=None,
            credential=credential,
            clone_url_template=server.url_template,
            credential_hosts=[server.host],
            retry_delays=(0.0,),
        )
    error = caught.value
    for text in (str(error), repr(error), str(error.__cause__), str(error.__context__)):
        assert not leaks(text)


def test_a_clone_url_on_another_host_gets_no_credential_unless_declared(
    remote: RemoteRepo, server: GitHttpServer, spy: RecordingSandbox
) -> None:
    """The integration's host is github.com; the clone URL template names 127.0.0.1."""
    credential = resolve_git_credential(
        token_integration(), remote.coordinate, environ={"ACME_GIT_TOKEN": TOKEN}
    )
    with pytest.raises(CheckoutAuthError) as caught:
        clone_at(
            spy,
            coordinate=str(remote.coordinate),
            branch="main",
            head_sha=remote.head(),
            base_sha=None,
            credential=credential,
            clone_url_template=server.url_template,
            retry_delays=(0.0,),
        )
    assert server.requests and all(r.authorization is None for r in server.requests)
    assert not any(leaks(value) for c in spy.commands for value in c.env.values())
    assert str(caught.value).endswith(
        "(no credential was sent to 127.0.0.1: the integration's credential goes only to "
        "github.com; if 127.0.0.1 is a mirror that may receive it, declare it in "
        "JRN_CREDENTIAL_HOSTS)"
    )
    server.reset_counters()
    declared = clone_at(
        spy,
        coordinate=str(remote.coordinate),
        branch="main",
        head_sha=remote.head(),
        base_sha=None,
        credential=credential,
        clone_url_template=server.url_template,
        credential_hosts=["127.0.0.1"],
        retry_delays=(0.0,),
    )
    assert declared.head_sha == remote.head()
    assert {r.authorization for r in server.requests} == {f"Basic {ENCODED}"}
