"""GitHub-shaped ``push`` payloads: the fields GitHub sends, where GitHub puts them."""

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
        "login": owner,
        "id": 1,
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
            "id": 1,
            "name": repo,
            "full_name": f"{owner}/{repo}",
            "private": True,
            "owner": user,
            "html_url": f"{web}/{owner}/{repo}",
            "url": f"{web}/{owner}/{repo}",
            "clone_url": f"{web}/{owner}/{repo}.git",
            "ssh_url": f"git@{coordinate.host}:{owner}/{repo}.git",
            "default_branch": default_branch,
            "master_branch": default_branch,
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
        payload["installation"] = {"id": installation_id}
    return payload


def commit_entry(
    coordinate: RepoCoordinate,
    sha: str,
    message: str,
    *,
    added: list[str],
    modified: list[str],
    removed: list[str],
) -> dict[str, Any]:
    """One entry of ``commits``."""
    person = {"name": "Octo Cat", "email": "octocat@example.com", "username": "octocat"}
    return {
        "id": sha,
        "distinct": True,
        "message": message,
        "url": f"https://{coordinate.host}/{coordinate.owner}/{coordinate.repo}/commit/{sha}",
        "author": person,
        "committer": person,
        "added": added,
        "removed": removed,
        "modified": modified,
    }
