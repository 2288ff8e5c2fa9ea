"""Git credentials for an integration, resolved at the moment a clone needs them.

``token`` integrations read the env var named in their row; ``github_app`` integrations mint a
short-lived installation access token scoped to the one repository being cloned, read-only.
Every secret is registered with the redaction registry the moment it is read.
"""

import base64
import os
from collections.abc import Mapping, Sequence
from datetime import datetime

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.records import Integration, IntegrationKind, IntegrationStatus
from jrn_dagster.redaction import register_secret
from jrn_dagster.services.credential_errors import CredentialError
from jrn_dagster.services.github_app import DEFAULT_RETRY_DELAYS, mint_installation_token

# Overrides the REST API root App tokens are minted at (e.g. a proxy).
GITHUB_API_URL_ENV = "JRN_GITHUB_API_URL"
# GitHub accepts this user name with any token (personal, fine-grained, installation).
TOKEN_USERNAME = "x-access-token"  # noqa: S105 - a user name, not a secret

__all__ = ["CredentialError", "GitCredential", "git_auth_environment", "resolve_git_credential"]


class GitCredential(BaseModel):
    """HTTPS credentials for one git host. ``token`` never prints (``SecretStr``)."""

    model_config = ConfigDict(frozen=True)

    username: str
    token: SecretStr
    expires_at: datetime | None = None


def _integration_label(integration: Integration) -> str:
    return f"integration {integration.name!r} (id {integration.id})"


def _read_secret_env(
    environ: Mapping[str, str], name: str | None, integration: Integration, holds: str
) -> str:
    value = environ.get(name or "", "").strip()
    if not name or not value:
        raise CredentialError(
            f"{_integration_label(integration)}: set env var {name or '(none named)'} "
            f"to the {holds}; it is unset or empty in the process that runs the clone",
            retryable=False,
        )
    register_secret(value)
    return value


def _private_key(environ: Mapping[str, str], integration: Integration) -> str:
    key = _read_secret_env(
        environ, integration.private_key_env, integration, "GitHub App private key (PEM)"
    )
    if "\\n" in key and "\n" not in key:
        # Keys pasted into a one-line env var usually carry literal "\n" sequences.
        key = key.replace("\\n", "\n")
        register_secret(key)
    return key


def github_api_base_url(host: str) -> str:
    """REST API root for a GitHub host: github.com or a GitHub Enterprise Server."""
    return "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"


def resolve_git_credential(
    integration: Integration,
    coordinate: RepoCoordinate,
    *,
    environ: Mapping[str, str] = os.environ,
    http_client: httpx.Client | None = None,
    api_base_url: str | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
) -> GitCredential:
    """Credentials to clone ``coordinate`` with ``integration``.

    Raises ``CredentialError`` (``retryable`` says whether trying again can help) with a message
    that says what to fix and never contains a secret.
    """
    label = _integration_label(integration)
    if integration.status != IntegrationStatus.ACTIVE:
        raise CredentialError(
            f"{label} is {integration.status.value}; reactivate it to clone {coordinate}",
            retryable=False,
        )
    if coordinate.host != integration.host.lower():
        # A credential is only ever sent to the host it was issued for.
        raise CredentialError(
            f"{label} holds credentials for {integration.host}, not for {coordinate.host} "
            f"({coordinate})",
            retryable=False,
        )
    if integration.kind == IntegrationKind.TOKEN:
        token = _read_secret_env(environ, integration.token_env, integration, "git token")
        return GitCredential(username=TOKEN_USERNAME, token=SecretStr(token))
    if integration.app_id is None or integration.installation_id is None:
        raise CredentialError(
            f"{label} is a GitHub App integration without an app id or installation id",
            retryable=False,
        )
    minted = mint_installation_token(
        app_id=integration.app_id,
        installation_id=integration.installation_id,
        private_key=_private_key(environ, integration),
        private_key_env=integration.private_key_env or "",
        repository=coordinate.repo,
        api_base_url=api_base_url or github_api_base_url(coordinate.host),
        http_client=http_client,
        retry_delays=retry_delays,
    )
    return GitCredential(
        username=TOKEN_USERNAME, token=SecretStr(minted.token), expires_at=minted.expires_at
    )


def basic_auth_header(credential: GitCredential) -> str:
    """The ``Authorization`` header git sends: Basic with the token as the password."""
    pair = f"{credential.username}:{credential.token.get_secret_value()}"
    encoded = base64.b64encode(pair.encode()).decode()
    register_secret(encoded)
    return f"Authorization: Basic {encoded}"


def git_auth_environment(credential: GitCredential) -> dict[str, str]:
    """Environment that makes one git command (and the helpers it spawns) send the credential as
    an HTTP header, without writing it to the URL, the command line or any config file."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": basic_auth_header(credential),
    }
