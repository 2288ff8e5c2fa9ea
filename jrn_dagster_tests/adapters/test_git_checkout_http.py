"""clone_at over HTTP on loopback: ``git http-backend`` behind a server that requires the
credential (401 otherwise), can fail on purpose (5xx), or is not there at all."""

import socket
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from jrn_dagster.adapters.git import Checkout, clone_at
from jrn_dagster.adapters.github import GitCredential
from jrn_dagster.ports.git import CheckoutAuthError, CheckoutTransportError
from jrn_dagster_tests.support.git_repos import RemoteRepo
from jrn_dagster_tests.support.http_git import GitHttpServer, basic_authorization
from jrn_dagster_tests.support.recording_sandbox import RecordingSandbox

TOKEN = "ghs_httpcheckouttoken0123456789abcdef"
CREDENTIAL = GitCredential(username="x-access-token", token=SecretStr(TOKEN))
NO_WAIT = (0.0, 0.0)


@pytest.fixture
def server(remote: RemoteRepo) -> Iterator[GitHttpServer]:
    with GitHttpServer(remote.root, token=TOKEN) as running:
        yield running


def clone_over_http(
    sandbox: RecordingSandbox,
    remote: RemoteRepo,
    template: str,
    credential: GitCredential | None,
    *,
    head_sha: str | None,
    base_sha: str | None = None,
) -> Checkout:
    return clone_at(
        sandbox,
        coordinate=str(remote.coordinate),
        branch="main",
        head_sha=head_sha,
        base_sha=base_sha,
        credential=credential,
        clone_url_template=template,
        credential_hosts=[GitHttpServer.host],
        retry_delays=NO_WAIT,
    )


def test_the_credential_is_sent_and_the_clone_succeeds(
    remote: RemoteRepo, server: GitHttpServer, spy: RecordingSandbox
) -> None:
    base = remote.head()
    head = remote.commit_and_push({"src/a.py": "print('a')\n"}, "change")
    checkout = clone_over_http(
        spy, remote, server.url_template, CREDENTIAL, head_sha=head, base_sha=base
    )
    assert checkout.head_sha == head
    assert checkout.base_reachable
    assert spy.read_file("repo/src/a.py") == b"print('a')\n"
    served = server.requests
    assert served and all(r.status == 200 for r in served)
    assert {r.authorization for r in served} == {basic_authorization(TOKEN)}


def test_without_the_credential_the_server_says_401_and_the_error_is_not_retryable(
    remote: RemoteRepo, server: GitHttpServer, spy: RecordingSandbox
) -> None:
    with pytest.raises(CheckoutAuthError) as caught:
        clone_over_http(spy, remote, server.url_template, None, head_sha=remote.head())
    assert not caught.value.retryable
    assert "the remote refused the credentials (or needs some)" in str(caught.value)
    assert [r.status for r in server.requests] == [401]  # asked once, never retried
    # Git did not hang on a prompt: the command returned.
    assert spy.commands[-1].result is not None


def test_a_wrong_token_is_an_auth_error(
    remote: RemoteRepo, server: GitHttpServer, spy: RecordingSandbox
) -> None:
    wrong = GitCredential(
        username="x-access-token", token=SecretStr("ghs_wrongtoken00000000000000000")
    )
    with pytest.raises(CheckoutAuthError):
        clone_over_http(spy, remote, server.url_template, wrong, head_sha=remote.head())
    assert {r.status for r in server.requests} == {401}


def test_server_errors_are_retried_with_the_credential_each_time(
    remote: RemoteRepo, server: GitHttpServer, spy: RecordingSandbox
) -> None:
    server.fail_next(2, status=503)
    checkout = clone_over_http(spy, remote, server.url_template, CREDENTIAL, head_sha=remote.head())
    assert checkout.head_sha == remote.head()
    statuses = [r.status for r in server.requests]
    assert statuses[:2] == [503, 503]
    assert set(statuses[2:]) == {200}
    fetches = [c for c in spy.commands if "fetch" in c.argv]
    assert len(fetches) == 3


def test_persistent_server_errors_end_in_a_retryable_transport_error(
    remote: RemoteRepo, server: GitHttpServer, spy: RecordingSandbox
) -> None:
    server.fail_next(10, status=502)
    with pytest.raises(CheckoutTransportError) as caught:
        clone_over_http(spy, remote, server.url_template, CREDENTIAL, head_sha=remote.head())
    assert caught.value.retryable
    assert "502" in str(caught.value)
    assert len([c for c in spy.commands if "fetch" in c.argv]) == 1 + len(NO_WAIT)


def test_connection_refused_is_a_retryable_transport_error(
    remote: RemoteRepo, spy: RecordingSandbox
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    template = f"http://127.0.0.1:{port}/{{host}}/{{owner}}/{{repo}}.git"
    with pytest.raises(CheckoutTransportError) as caught:
        clone_over_http(spy, remote, template, CREDENTIAL, head_sha=remote.head())
    assert caught.value.retryable
    assert "transport error" in str(caught.value)


def test_a_server_that_will_not_serve_commits_by_id_gets_the_branch_instead(
    remote: RemoteRepo, spy: RecordingSandbox
) -> None:
    base = remote.head()
    pushed = remote.commit_and_push({"a.txt": "pushed"}, "pushed")
    remote.commit_and_push({"a.txt": "later"}, "later")
    with GitHttpServer(remote.root, token=TOKEN, protocol_v2=False) as old_server:
        checkout = clone_over_http(
            spy, remote, old_server.url_template, CREDENTIAL, head_sha=pushed, base_sha=base
        )
    assert checkout.head_sha == pushed
    assert checkout.base_reachable
    assert not checkout.partial  # such a server could not serve the blobs later
    assert spy.read_file("repo/a.txt") == b"pushed"
    fetched = [c.argv[-1] for c in spy.commands if "fetch" in c.argv]
    assert fetched[0] == pushed
    assert fetched[1] == "+refs/heads/main:refs/remotes/origin/main"
