"""GitHub-shaped webhook deliveries for tests: push payloads, signatures, headers, sending.

The payloads follow GitHub's documented ``push`` event (github.com and GitHub Enterprise
Server): every field our code reads is where GitHub puts it, plus the neighbours a real payload
carries, so code that reads the wrong field fails here as it would in production.
"""

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx

from jrn_dagster.demo.push_payload import commit_entry
from jrn_dagster.demo.push_payload import push_payload as github_push_payload
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.refs import ZERO_SHA

DEFAULT_SECRET = "test-webhook-secret-0123456789abcdef"
WEBHOOK_PATH = "/webhooks/github"


def sha_for(text: str) -> str:
    """A well-formed 40-hex commit id derived from ``text`` (stable across runs)."""
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def new_delivery_id() -> str:
    return str(uuid.uuid4())


def sign(body: bytes, secret: str = DEFAULT_SECRET) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``.

    Written independently of ``jrn_dagster.webhooks.signature`` so that the tests check the
    receiver against GitHub's documented algorithm, not against itself.
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def commit(
    sha: str,
    *,
    message: str = "Update docs",
    added: list[str] | None = None,
    modified: list[str] | None = None,
    removed: list[str] | None = None,
    host: str = "github.com",
    owner: str = "acme",
    repo: str = "widgets",
) -> dict[str, Any]:
    """One entry of a push payload's ``commits`` list."""
    return commit_entry(
        RepoCoordinate(host, owner, repo),
        sha,
        message,
        added=added,
        modified=modified,
        removed=removed,
    )


def push_payload(
    *,
    owner: str = "acme",
    repo: str = "widgets",
    branch: str | None = "main",
    tag: str | None = None,
    before: str | None = None,
    after: str | None = None,
    host: str = "github.com",
    forced: bool = False,
    installation_id: int | None = None,
    default_branch: str = "main",
    commits: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A push payload as GitHub sends it (``jrn_dagster.demo.push_payload``), with defaults.

    ``branch`` (or ``tag``) sets ``ref``; ``before``/``after`` default to distinct SHAs.
    Pass ``before=ZERO_SHA`` for a created ref and ``after=ZERO_SHA`` for a deleted one:
    ``created``/``deleted`` follow, as on GitHub. ``host`` other than github.com gives a GitHub
    Enterprise Server payload (``/api/v3`` API URLs).
    """
    ref = f"refs/tags/{tag}" if tag is not None else f"refs/heads/{branch}"
    before = before or sha_for(f"{owner}/{repo}:{ref}:before")
    after = after or sha_for(f"{owner}/{repo}:{ref}:after")
    if commits is None:
        commits = [] if after == ZERO_SHA else [commit(after, host=host, owner=owner, repo=repo)]
    return github_push_payload(
        RepoCoordinate(host, owner, repo),
        ref=ref,
        before=before,
        after=after,
        forced=forced,
        installation_id=installation_id,
        default_branch=default_branch,
        commits=commits,
    )


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON, the way GitHub sends it."""
    return json.dumps(payload, separators=(",", ":")).encode()


def delivery_headers(
    body: bytes,
    *,
    event: str = "push",
    delivery_id: str | None = None,
    secret: str | None = DEFAULT_SECRET,
    host: str = "github.com",
    hook_id: int = 292_929_292,
) -> dict[str, str]:
    """The headers GitHub sends with ``body`` (``secret=None``: no signature header)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/5f43c2a",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or new_delivery_id(),
        "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-ID": "186853002",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
    }
    if host != "github.com":
        headers["X-GitHub-Enterprise-Host"] = host
        headers["X-GitHub-Enterprise-Version"] = "3.14.0"
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return headers


def send_delivery(
    client: httpx.Client,
    payload: dict[str, Any],
    *,
    event: str = "push",
    delivery_id: str | None = None,
    secret: str | None = DEFAULT_SECRET,
) -> httpx.Response:
    """POST a signed delivery to ``client``'s receiver (base URL set on the client)."""
    body = encode(payload)
    headers = delivery_headers(body, event=event, delivery_id=delivery_id, secret=secret)
    return client.post(WEBHOOK_PATH, content=body, headers=headers)


def send_push(
    client: httpx.Client,
    *,
    delivery_id: str | None = None,
    secret: str | None = DEFAULT_SECRET,
    **payload_fields: Any,
) -> httpx.Response:
    """POST a signed push built by ``push_payload(**payload_fields)``."""
    return send_delivery(
        client, push_payload(**payload_fields), delivery_id=delivery_id, secret=secret
    )


# GitHub App lifecycle deliveries: ``installation`` (created, deleted, suspend, unsuspend, ...)
# and ``installation_repositories`` (added, removed), with every field GitHub's documented
# payloads carry (the installation object, its account, permissions and events, the
# repository entries, requester and sender), for github.com or a GitHub Enterprise Server host.


def _urls(host: str) -> tuple[str, str]:
    web = f"https://{host}"
    return web, "https://api.github.com" if host == "github.com" else f"{web}/api/v3"


def _github_user(login: str, host: str, *, user_id: int, kind: str = "User") -> dict[str, Any]:
    web, api = _urls(host)
    return {
        "login": login,
        "id": user_id,
        "node_id": "MDQ6VXNlcjIxMDMxMDY3",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": f"{api}/users/{login}",
        "html_url": f"{web}/{login}",
        "followers_url": f"{api}/users/{login}/followers",
        "following_url": f"{api}/users/{login}/following{{/other_user}}",
        "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
        "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/users/{login}/subscriptions",
        "organizations_url": f"{api}/users/{login}/orgs",
        "repos_url": f"{api}/users/{login}/repos",
        "events_url": f"{api}/users/{login}/events{{/privacy}}",
        "received_events_url": f"{api}/users/{login}/received_events",
        "type": kind,
        "site_admin": False,
    }


def repository_entry(full_name: str) -> dict[str, Any]:
    """One entry of ``repositories``, ``repositories_added`` or ``repositories_removed``."""
    digest = int(hashlib.sha1(full_name.encode(), usedforsecurity=False).hexdigest()[:7], 16)
    return {
        "id": 100_000_000 + digest,
        "node_id": f"R_kgDO{digest:08X}",
        "name": full_name.rpartition("/")[2],
        "full_name": full_name,
        "private": True,
    }


def installation_object(
    installation_id: int,
    *,
    host: str = "github.com",
    account: str = "acme",
    app_id: int = 29310,
    repository_selection: str = "selected",
    suspended: bool = False,
) -> dict[str, Any]:
    """The ``installation`` object of a lifecycle payload."""
    web, api = _urls(host)
    suspender = _github_user("octocat", host, user_id=583231) if suspended else None
    return {
        "id": installation_id,
        "client_id": "Iv1.8a61f9b3a7aba766",
        "account": _github_user(account, host, user_id=21031067, kind="Organization"),
        "repository_selection": repository_selection,
        "access_tokens_url": f"{api}/app/installations/{installation_id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"{web}/organizations/{account}/settings/installations/{installation_id}",
        "app_id": app_id,
        "app_slug": "jrn-docs-sync",
        "target_id": 21031067,
        "target_type": "Organization",
        "permissions": {"contents": "read", "metadata": "read", "pull_requests": "write"},
        "events": ["push", "pull_request"],
        "created_at": "2026-11-02T09:14:07.000Z",
        "updated_at": "2026-11-30T16:02:41.000Z",
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": suspender,
        "suspended_at": "2026-11-30T16:02:41Z" if suspended else None,
    }


def _lifecycle_delivery(
    action: str, installation: dict[str, Any], host: str, **fields: Any
) -> dict[str, Any]:
    """The envelope every lifecycle delivery shares, around its own ``fields``."""
    payload = {"action": action, "installation": installation, **fields}
    payload["requester"] = None
    payload["sender"] = _github_user("octocat", host, user_id=583231)
    return payload


def installation_payload(
    action: str,
    *,
    installation_id: int,
    host: str = "github.com",
    account: str = "acme",
    repositories: list[str] | None = None,
    repository_selection: str = "selected",
) -> dict[str, Any]:
    """An ``installation`` delivery. GitHub lists the repositories with ``created`` and
    ``deleted`` (pass ``repositories``), not with ``suspend`` and ``unsuspend``."""
    installation = installation_object(
        installation_id,
        host=host,
        account=account,
        repository_selection=repository_selection,
        suspended=action == "suspend",
    )
    listed = {}
    if repositories is not None:
        listed["repositories"] = [repository_entry(name) for name in repositories]
    return _lifecycle_delivery(action, installation, host, **listed)


def installation_repositories_payload(
    action: str,
    *,
    installation_id: int,
    host: str = "github.com",
    account: str = "acme",
    added: list[str] | None = None,
    removed: list[str] | None = None,
    repository_selection: str = "selected",
) -> dict[str, Any]:
    """An ``installation_repositories`` delivery (``added`` or ``removed``)."""
    installation = installation_object(
        installation_id, host=host, account=account, repository_selection=repository_selection
    )
    return _lifecycle_delivery(
        action,
        installation,
        host,
        repository_selection=repository_selection,
        repositories_added=[repository_entry(name) for name in added or []],
        repositories_removed=[repository_entry(name) for name in removed or []],
    )
