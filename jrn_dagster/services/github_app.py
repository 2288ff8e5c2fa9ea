"""GitHub App installation access tokens: app JWT (RS256) -> token scoped to one repository.

https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app
"""

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import httpx
import jwt
from pydantic import BaseModel, ConfigDict

from jrn_dagster.redaction import redact, register_secret
from jrn_dagster.services.credential_errors import CredentialError

logger = logging.getLogger(__name__)

# GitHub rejects a JWT issued in the future or valid for more than 10 minutes. Backdating absorbs
# clock drift between us and GitHub; 9 minutes of validity keeps exp - iat under the limit.
JWT_BACKDATE_SECONDS = 60
JWT_VALIDITY_SECONDS = 540
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Waits between attempts: 4 attempts in all for transport errors, 429 and 5xx.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0, 5.0)
MAX_RETRY_AFTER_SECONDS = 30.0
API_VERSION = "2022-11-28"


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


def _github_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    text = str(message or response.text or "").strip().replace("\n", " ")
    return redact(text[:300]) or "no message"


def _rejection(
    response: httpx.Response, *, app_id: int, installation_id: int, key_env: str, repository: str
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


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", "0")), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return 0.0


def _parse_token(response: httpx.Response, url: str) -> InstallationToken:
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
    client: httpx.Client,
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
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {app_jwt(app_id, private_key, private_key_env)}",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "jrn-dagster",
    }
    try:
        response = client.post(url, json=body, headers=headers, timeout=HTTP_TIMEOUT)
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
    http_client: httpx.Client | None = None,
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
    client = http_client or httpx.Client(timeout=HTTP_TIMEOUT)

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
