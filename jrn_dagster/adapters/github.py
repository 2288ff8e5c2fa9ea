"""Git credentials for an integration, resolved at the moment a clone needs them.

``token`` integrations read the env var named in their row; ``github_app`` integrations mint a
short-lived installation access token scoped to the one repository being cloned, read-only
(https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app).
Every secret is registered with the redaction registry the moment it is read; every error is one
line that says what to fix, never a secret.
"""

import base64
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, SecretStr

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.records import Integration, IntegrationKind, IntegrationStatus
from jrn_dagster.ports.git import CredentialError
from jrn_dagster.redaction import redact, register_secret

if TYPE_CHECKING:
    # httpx (with rich and pygments) and PyJWT (with cryptography) are imported when a token is
    # minted, not when the code location loads (docs/operations.md#start-up-time).
    import httpx

logger = logging.getLogger(__name__)

# GitHub rejects a JWT issued in the future or valid for more than 10 minutes. Backdating absorbs
# clock drift between us and GitHub; 9 minutes of validity keeps exp - iat under the limit.
JWT_BACKDATE_SECONDS = 60
JWT_VALIDITY_SECONDS = 540
HTTP_TIMEOUT_SECONDS = 10.0
HTTP_CONNECT_TIMEOUT_SECONDS = 5.0
# Waits between attempts: 4 attempts in all for transport errors, 429 and 5xx.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0, 5.0)
MAX_RETRY_AFTER_SECONDS = 30.0
API_VERSION = "2022-11-28"


def _http_timeout() -> "httpx.Timeout":
    import httpx

    return httpx.Timeout(HTTP_TIMEOUT_SECONDS, connect=HTTP_CONNECT_TIMEOUT_SECONDS)


class InstallationToken(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str
    expires_at: datetime | None


def app_jwt(
    app_id: int, private_key: str, private_key_env: str, *, now: float | None = None
) -> str:
    """The app's JWT: ``iss`` = app id, issued 60 s in the past, expiring in 9 minutes."""
    issued = int(now if now is not None else time.time()) - JWT_BACKDATE_SECONDS
    payload: dict[str, int | str] = {
        "iat": issued,
        "exp": issued + JWT_BACKDATE_SECONDS + JWT_VALIDITY_SECONDS,
        "iss": str(app_id),
    }
    import jwt

    try:
        token = jwt.encode(payload, private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        # The library's message may quote the key material: say only what to fix.
        raise CredentialError(
            f"the private key of GitHub App {app_id} in ${private_key_env} is not a valid PEM "
            "RSA private key",
            retryable=False,
        ) from None
    register_secret(token)
    return token


def _github_message(response: "httpx.Response") -> str:
    try:
        body = response.json()
        message = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    text = str(message or response.text or "").strip().replace("\n", " ")
    return redact(text[:300]) or "no message"


def _rejection(
    response: "httpx.Response", *, app_id: int, installation_id: int, key_env: str, repository: str
) -> CredentialError:
    status = response.status_code
    said = _github_message(response)
    if status == 401:
        message = (
            f"GitHub App {app_id} rejected the JWT (401): check the private key in ${key_env} "
            f"and the app id ({said})"
        )
    elif status == 403:
        message = (
            f"GitHub refused a token for installation {installation_id} of app {app_id} (403): "
            f"the installation may be suspended or lack contents:read on {repository} ({said})"
        )
    elif status == 404:
        message = (
            f"installation {installation_id} not found (404) for GitHub App {app_id}: check the "
            f"installation id of the integration (was the app uninstalled?) ({said})"
        )
    elif status == 422:
        message = (
            f"GitHub could not scope a token to repository {repository} (422): installation "
            f"{installation_id} of app {app_id} has no access to it ({said})"
        )
    else:
        message = f"GitHub refused an installation token ({status}): {said}"
    return CredentialError(message, retryable=False)


def _retry_after(response: "httpx.Response") -> float:
    try:
        return min(float(response.headers.get("retry-after", "0")), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return 0.0


def _parse_token(response: "httpx.Response", url: str) -> InstallationToken:
    try:
        body = response.json()
        token = body["token"]
        expires = body.get("expires_at")
        if not isinstance(token, str) or not token:
            raise ValueError("empty token")
        register_secret(token)
        return InstallationToken(
            token=token, expires_at=datetime.fromisoformat(expires) if expires else None
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CredentialError(
            f"unexpected answer from {url} ({response.status_code}): no installation token in it",
            retryable=True,
        ) from None


def _attempt(
    client: "httpx.Client",
    url: str,
    body: dict[str, object],
    *,
    app_id: int,
    installation_id: int,
    private_key: str,
    private_key_env: str,
    repository: str,
) -> InstallationToken | tuple[CredentialError, float]:
    """One request: the token, or a retryable failure and the wait GitHub asked for. Failures
    that must not be retried are raised."""
    import httpx

    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {app_jwt(app_id, private_key, private_key_env)}",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "jrn-dagster",
    }
    try:
        response = client.post(url, json=body, headers=headers, timeout=_http_timeout())
    except httpx.TransportError as error:
        return CredentialError(
            f"cannot reach {url}: {type(error).__name__}: {error}", retryable=True
        ), 0.0
    if response.status_code in (200, 201):
        return _parse_token(response, url)
    if response.status_code != 429 and response.status_code < 500:
        raise _rejection(
            response,
            app_id=app_id,
            installation_id=installation_id,
            key_env=private_key_env,
            repository=repository,
        )
    failure = CredentialError(
        f"GitHub API {url} answered {response.status_code}: {_github_message(response)}",
        retryable=True,
    )
    return failure, _retry_after(response)


def mint_installation_token(
    *,
    app_id: int,
    installation_id: int,
    private_key: str,
    private_key_env: str,
    repository: str,
    api_base_url: str,
    http_client: "httpx.Client | None" = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> InstallationToken:
    """``POST {api}/app/installations/{id}/access_tokens`` for ``repository`` with contents:read.

    Transport errors, 429 and 5xx are retried after each of ``retry_delays`` (longer when GitHub
    sends ``Retry-After``); 401, 403, 404 and 422 are not: only a human can fix them.
    """
    url = f"{api_base_url.rstrip('/')}/app/installations/{installation_id}/access_tokens"
    body: dict[str, object] = {
        "repositories": [repository],
        "permissions": {"contents": "read"},
    }
    if http_client is None:
        import httpx

        client = httpx.Client(timeout=_http_timeout())
    else:
        client = http_client

    def attempt() -> InstallationToken | tuple[CredentialError, float]:
        return _attempt(
            client,
            url,
            body,
            app_id=app_id,
            installation_id=installation_id,
            private_key=private_key,
            private_key_env=private_key_env,
            repository=repository,
        )

    try:
        for number, delay in enumerate(retry_delays, start=1):
            outcome = attempt()
            if isinstance(outcome, InstallationToken):
                return outcome
            failure, retry_after = outcome
            logger.warning("attempt %d to mint a token failed (%s); retrying", number, failure)
            sleep(max(delay, retry_after))
        outcome = attempt()
        if isinstance(outcome, InstallationToken):
            return outcome
        raise outcome[0]
    finally:
        if http_client is None:
            client.close()


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
    http_client: "httpx.Client | None" = None,
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
