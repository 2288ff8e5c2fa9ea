"""Credentials: token integrations from env vars, GitHub App tokens minted against a local API that
verifies the JWT with the app's public key."""

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import jwt
import pytest

from jrn_dagster.adapters.github import (
    app_jwt,
    git_auth_environment,
    github_api_base_url,
    resolve_git_credential,
)
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.records import IntegrationStatus
from jrn_dagster.ports.git import CredentialError
from jrn_dagster.redaction import REDACTED, redact
from jrn_dagster_tests.support.github_api import AppKeys, FakeGitHubAppApi, generate_app_keys
from jrn_dagster_tests.support.integration_records import (
    APP_ID,
    INSTALLATION_ID,
    integration,
    token_integration,
)

COORDINATE = RepoCoordinate.parse("github.com/acme/widgets")
NO_WAIT = (0.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def keys() -> AppKeys:
    return generate_app_keys()


@pytest.fixture
def github(keys: AppKeys) -> Iterator[FakeGitHubAppApi]:
    with FakeGitHubAppApi(
        app_id=APP_ID, public_pem=keys.public_pem, installations={INSTALLATION_ID: {"widgets"}}
    ) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# token integrations ----------------------------------------------------------------------------


def test_token_integration_reads_the_env_var_named_in_its_row() -> None:
    credential = resolve_git_credential(
        token_integration(),
        COORDINATE,
        environ={"ACME_GIT_TOKEN": "ghp_tokenvalue0123456789abcdef"},
    )
    assert credential.username == "x-access-token"
    assert credential.token.get_secret_value() == "ghp_tokenvalue0123456789abcdef"
    assert credential.expires_at is None
    assert "ghp_tokenvalue0123456789abcdef" not in repr(credential)
    # Registered: from now on it is masked wherever it appears.
    assert redact("token ghp_tokenvalue0123456789abcdef") == f"token {REDACTED}"


@pytest.mark.parametrize("environ", [{}, {"ACME_GIT_TOKEN": ""}, {"ACME_GIT_TOKEN": "   "}])
def test_a_missing_token_says_which_env_var_to_set(environ: dict[str, str]) -> None:
    with pytest.raises(CredentialError, match="set env var ACME_GIT_TOKEN") as caught:
        resolve_git_credential(token_integration(), COORDINATE, environ=environ)
    assert not caught.value.retryable
    assert "integration 'acme' (id 7)" in str(caught.value)


def test_an_inactive_integration_is_refused() -> None:
    with pytest.raises(CredentialError, match="is suspended") as caught:
        resolve_git_credential(
            token_integration(status=IntegrationStatus.SUSPENDED),
            COORDINATE,
            environ={"ACME_GIT_TOKEN": "ghp_x"},
        )
    assert not caught.value.retryable


def test_a_credential_is_never_sent_to_another_host() -> None:
    with pytest.raises(CredentialError, match=r"not for ghe\.example\.com"):
        resolve_git_credential(
            token_integration(),
            RepoCoordinate.parse("ghe.example.com/acme/widgets"),
            environ={"ACME_GIT_TOKEN": "ghp_tokenvalue0123456789abcdef"},
        )


def test_git_auth_environment_carries_a_basic_header_only() -> None:
    credential = resolve_git_credential(
        token_integration(), COORDINATE, environ={"ACME_GIT_TOKEN": "tok-abcdef-123456"}
    )
    env = git_auth_environment(credential)
    assert env == {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        # base64("x-access-token:tok-abcdef-123456")
        "GIT_CONFIG_VALUE_0": "Authorization: Basic eC1hY2Nlc3MtdG9rZW46dG9rLWFiY2RlZi0xMjM0NTY=",
    }
    assert "eC1hY2Nlc3MtdG9rZW46dG9rLWFiY2RlZi0xMjM0NTY=" not in redact(str(env))


# GitHub App integrations -----------------------------------------------------------------------


def test_api_base_urls_for_github_and_enterprise_server() -> None:
    assert github_api_base_url("github.com") == "https://api.github.com"
    assert github_api_base_url("ghe.example.com") == "https://ghe.example.com/api/v3"


def test_github_app_mints_a_read_only_token_for_the_one_repository(
    github: FakeGitHubAppApi, keys: AppKeys
) -> None:
    credential = resolve_git_credential(
        integration(),
        COORDINATE,
        environ={"ACME_APP_KEY": keys.private_pem},
        api_base_url=github.base_url,
    )
    [issued] = github.issued_tokens
    assert credential.token.get_secret_value() == issued
    assert credential.username == "x-access-token"
    assert credential.expires_at is not None and credential.expires_at > datetime.now(UTC)
    [request] = github.requests
    assert request.status == 201
    assert request.installation_id == INSTALLATION_ID
    assert request.body == {"repositories": ["widgets"], "permissions": {"contents": "read"}}
    assert request.claims is not None
    assert request.claims["iss"] == str(APP_ID)
    assert request.claims["exp"] - request.claims["iat"] <= 600
    assert redact(issued) == REDACTED


def test_enterprise_server_paths_and_escaped_newlines_in_the_key(
    github: FakeGitHubAppApi, keys: AppKeys
) -> None:
    one_line_key = keys.private_pem.replace("\n", "\\n")
    credential = resolve_git_credential(
        integration(host="ghe.example.com"),
        RepoCoordinate.parse("ghe.example.com/acme/widgets"),
        environ={"ACME_APP_KEY": one_line_key},
        api_base_url=f"{github.base_url}/api/v3",
    )
    assert credential.token.get_secret_value() in github.issued_tokens


def test_jwt_is_backdated_and_short_lived(keys: AppKeys) -> None:
    token = app_jwt(APP_ID, keys.private_pem, "ACME_APP_KEY", now=1_700_000_000)
    claims = jwt.decode(token, keys.public_pem, algorithms=["RS256"], options={"verify_exp": False})
    assert claims == {"iat": 1_700_000_000 - 60, "exp": 1_700_000_000 + 540, "iss": "123"}


def test_a_rejected_jwt_says_to_check_the_key_and_app_id(github: FakeGitHubAppApi) -> None:
    wrong_key = generate_app_keys().private_pem
    with pytest.raises(CredentialError) as caught:
        resolve_git_credential(
            integration(),
            COORDINATE,
            environ={"ACME_APP_KEY": wrong_key},
            api_base_url=github.base_url,
            retry_delays=NO_WAIT,
        )
    message = str(caught.value)
    assert message.startswith("GitHub App 123 rejected the JWT (401)")
    assert "check the private key in $ACME_APP_KEY and the app id" in message
    assert not caught.value.retryable
    assert len(github.requests) == 1  # never retried
    assert "PRIVATE KEY" not in message


def test_an_unknown_installation_says_so(github: FakeGitHubAppApi, keys: AppKeys) -> None:
    with pytest.raises(CredentialError) as caught:
        resolve_git_credential(
            integration(installation_id=999),
            COORDINATE,
            environ={"ACME_APP_KEY": keys.private_pem},
            api_base_url=github.base_url,
            retry_delays=NO_WAIT,
        )
    assert str(caught.value).startswith("installation 999 not found (404) for GitHub App 123")
    assert not caught.value.retryable
    assert len(github.requests) == 1


def test_a_repository_outside_the_installation_is_a_clear_422(
    github: FakeGitHubAppApi, keys: AppKeys
) -> None:
    with pytest.raises(
        CredentialError, match=r"could not scope a token to repository gadgets \(422\)"
    ):
        resolve_git_credential(
            integration(),
            RepoCoordinate.parse("github.com/acme/gadgets"),
            environ={"ACME_APP_KEY": keys.private_pem},
            api_base_url=github.base_url,
            retry_delays=NO_WAIT,
        )


def test_server_errors_are_retried_then_succeed(github: FakeGitHubAppApi, keys: AppKeys) -> None:
    github.fail_next(2, status=502)
    credential = resolve_git_credential(
        integration(),
        COORDINATE,
        environ={"ACME_APP_KEY": keys.private_pem},
        api_base_url=github.base_url,
        retry_delays=NO_WAIT,
    )
    assert [r.status for r in github.requests] == [502, 502, 201]
    assert credential.token.get_secret_value() == github.issued_tokens[0]


def test_persistent_server_errors_are_retryable_after_the_last_attempt(
    github: FakeGitHubAppApi, keys: AppKeys
) -> None:
    github.fail_next(10, status=503)
    with pytest.raises(CredentialError, match="answered 503") as caught:
        resolve_git_credential(
            integration(),
            COORDINATE,
            environ={"ACME_APP_KEY": keys.private_pem},
            api_base_url=github.base_url,
            retry_delays=(0.0, 0.0),
        )
    assert caught.value.retryable
    assert len(github.requests) == 3


def test_an_unreachable_api_is_a_retryable_error_naming_the_url(keys: AppKeys) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(CredentialError) as caught:
        resolve_git_credential(
            integration(),
            COORDINATE,
            environ={"ACME_APP_KEY": keys.private_pem},
            api_base_url=base,
            retry_delays=(0.0,),
        )
    message = str(caught.value)
    assert message.startswith(
        f"cannot reach {base}/app/installations/42/access_tokens: ConnectError"
    )
    assert caught.value.retryable


def test_a_missing_or_broken_private_key_is_reported_without_its_content() -> None:
    with pytest.raises(CredentialError, match="set env var ACME_APP_KEY"):
        resolve_git_credential(integration(), COORDINATE, environ={})
    broken = "-----BEGIN PRIVATE KEY-----\nnot-a-key-material-0123456789\n-----END PRIVATE KEY-----"
    with pytest.raises(CredentialError) as caught:
        resolve_git_credential(integration(), COORDINATE, environ={"ACME_APP_KEY": broken})
    assert "is not a valid PEM RSA private key" in str(caught.value)
    assert "not-a-key-material" not in str(caught.value)
    assert not caught.value.retryable


def test_an_injected_http_client_is_used_and_left_open(
    github: FakeGitHubAppApi, keys: AppKeys
) -> None:
    with httpx.Client() as client:
        resolve_git_credential(
            integration(),
            COORDINATE,
            environ={"ACME_APP_KEY": keys.private_pem},
            http_client=client,
            api_base_url=github.base_url,
        )
        assert not client.is_closed


def test_integrations_stored_in_the_database_resolve(
    database: Database, github: FakeGitHubAppApi, keys: AppKeys
) -> None:
    with database.unit_of_work() as uow:
        uow.integrations.add_token("acme-token", token_env="ACME_GIT_TOKEN")
        uow.integrations.add_github_app(
            "acme-app", app_id=APP_ID, installation_id=INSTALLATION_ID, private_key_env="APP_KEY"
        )
        uow.commit()
    with database.unit_of_work() as uow:
        stored_token = uow.integrations.get_by_name("acme-token")
        stored_app = uow.integrations.get_by_name("acme-app")
    environ = {"ACME_GIT_TOKEN": "ghp_storedtoken0123456789abcdefgh", "APP_KEY": keys.private_pem}
    from_token = resolve_git_credential(stored_token, COORDINATE, environ=environ)
    assert from_token.token.get_secret_value() == "ghp_storedtoken0123456789abcdefgh"
    from_app = resolve_git_credential(
        stored_app, COORDINATE, environ=environ, api_base_url=github.base_url
    )
    assert from_app.token.get_secret_value() == github.issued_tokens[-1]
