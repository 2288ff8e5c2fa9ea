"""GitHub-shaped ``push`` payloads: the fields GitHub sends, where GitHub puts them."""

import hashlib
from typing import Any

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.refs import ZERO_SHA


def push_payload(
    coordinate: RepoCoordinate,
    *,
    ref: str,
    before: str,
    after: str,
    forced: bool = False,
    installation_id: int | None = None,
    default_branch: str = "main",
    commits: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A push payload for github.com or a GitHub Enterprise Server host (``/api/v3``)."""
    web = f"https://{coordinate.host}"
    api = "https://api.github.com" if coordinate.host == "github.com" else f"{web}/api/v3"
    owner, repo = coordinate.owner, coordinate.repo
    user = {
        "name": owner,
        "email": f"{owner}@users.noreply.{coordinate.host}",
        "login": owner,
        "id": 21031067,
        "node_id": "MDQ6VXNlcjIxMDMxMDY3",
        "avatar_url": f"{web}/avatars/u/21031067?v=4",
        "url": f"{api}/users/{owner}",
        "html_url": f"{web}/{owner}",
        "type": "Organization",
        "site_admin": False,
    }
    commits = commits if commits is not None else []
    payload: dict[str, Any] = {
        "ref": ref,
        "before": before,
        "after": after,
        "repository": {
            "id": 186853002,
            "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
            "name": repo,
            "full_name": f"{owner}/{repo}",
            "private": True,
            "owner": user,
            "html_url": f"{web}/{owner}/{repo}",
            "description": None,
            "fork": False,
            "url": f"{web}/{owner}/{repo}",
            "git_url": f"git://{coordinate.host}/{owner}/{repo}.git",
            "ssh_url": f"git@{coordinate.host}:{owner}/{repo}.git",
            "clone_url": f"{web}/{owner}/{repo}.git",
            "default_branch": default_branch,
            "master_branch": default_branch,
            "pushed_at": 1714564800,
            "created_at": 1557933565,
        },
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "sender": {**user, "login": "octocat", "type": "User"},
        "created": before == ZERO_SHA,
        "deleted": after == ZERO_SHA,
        "forced": forced,
        "base_ref": None,
        "compare": f"{web}/{owner}/{repo}/compare/{before[:12]}...{after[:12]}",
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
    }
    if installation_id is not None:
        payload["installation"] = {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9u"}
    return payload


def commit_entry(
    coordinate: RepoCoordinate,
    sha: str,
    message: str,
    *,
    added: list[str] | None = None,
    modified: list[str] | None = None,
    removed: list[str] | None = None,
) -> dict[str, Any]:
    """One entry of ``commits``."""
    person = {"name": "Octo Cat", "email": "octocat@example.com", "username": "octocat"}
    return {
        "id": sha,
        "tree_id": hashlib.sha1(f"tree:{sha}".encode(), usedforsecurity=False).hexdigest(),
        "distinct": True,
        "message": message,
        "timestamp": "2024-05-01T12:00:00+00:00",
        "url": f"https://{coordinate.host}/{coordinate.owner}/{coordinate.repo}/commit/{sha}",
        "author": person,
        "committer": person,
        "added": added or [],
        "removed": removed or [],
        "modified": modified or [],
    }
