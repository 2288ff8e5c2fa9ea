"""GitHub ``push`` payloads, normalised to what matching needs (docs/contract.md#events-and-jrns).

Pure: a stored payload dict in, a ``PushEvent`` out. A payload that lacks a field we rely on, or
holds a value of the wrong shape, is refused with an ``InvalidInputError`` naming the field,
never a ``KeyError`` or a half-filled event.
"""

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.jrn import GITHUB_DOT_COM, event_jrn
from jrn_dagster.domain.refs import is_zero_sha, validate_branch, validate_sha
from jrn_dagster.domain.validation import validate_host

BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
# github.com payloads that only carry an API URL name the API host, not the git host.
_API_HOSTS = {"api.github.com": GITHUB_DOT_COM}
# Tried in order: html_url is in every push payload; the others are fallbacks.
_REPOSITORY_URL_FIELDS = ("html_url", "clone_url", "url")
# Ids are stored as signed 64-bit integers (GitHub's are far below).
MAX_ID = 2**63 - 1


class PushEvent(BaseModel):
    """One push, as the matcher sees it.

    ``actionable`` is False for pushes that start nothing (tag pushes, branch deletions, refs
    that are not branches); ``skip_reason`` then says why. ``base_sha`` is the webhook base:
    ``before``, or None when the push created the branch. ``head_sha`` is ``after``, or None
    when the push deleted the ref.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str
    owner: str
    repo: str
    ref: str
    branch: str | None
    tag: str | None
    before: str
    after: str
    base_sha: str | None
    head_sha: str | None
    created: bool
    deleted: bool
    forced: bool
    installation_id: int | None
    event_jrn: str | None
    actionable: bool
    skip_reason: str | None

    @property
    def coordinate(self) -> RepoCoordinate:
        return RepoCoordinate(self.host, self.owner, self.repo)


def normalize_push(payload: Any) -> PushEvent:
    """Normalise a GitHub ``push`` payload (github.com or GitHub Enterprise Server)."""
    if not isinstance(payload, dict):
        raise InvalidInputError("invalid push payload: it is not a JSON object")
    ref = _string(payload, "ref")
    before = _sha(payload, "before")
    after = _sha(payload, "after")
    created = _flag(payload, "created", default=is_zero_sha(before)) or is_zero_sha(before)
    deleted = _flag(payload, "deleted", default=is_zero_sha(after)) or is_zero_sha(after)
    forced = _flag(payload, "forced", default=False)
    coordinate = _coordinate(payload)
    installation_id = _installation_id(payload)

    branch = tag = None
    jrn = skip_reason = None
    if ref.startswith(BRANCH_PREFIX):
        branch = _branch(ref)
        jrn = event_jrn(coordinate.host, coordinate.owner, coordinate.repo, branch)
        if deleted:
            skip_reason = f"branch {branch!r} was deleted"
    elif ref.startswith(TAG_PREFIX) and len(ref) > len(TAG_PREFIX):
        tag = ref.removeprefix(TAG_PREFIX)
        action = "deleted" if deleted else "pushed"
        skip_reason = f"tag {tag!r} was {action}: tag pushes start nothing"
    elif ref.startswith("refs/") and len(ref) > len("refs/"):
        skip_reason = f"ref {ref!r} is not a branch"
    else:
        raise InvalidInputError(
            f"invalid push payload: field 'ref' must be a full ref such as refs/heads/main, "
            f"got {ref!r}"
        )

    return PushEvent(
        host=coordinate.host,
        owner=coordinate.owner,
        repo=coordinate.repo,
        ref=ref,
        branch=branch,
        tag=tag,
        before=before,
        after=after,
        base_sha=None if created else before,
        head_sha=None if deleted else after,
        created=created,
        deleted=deleted,
        forced=forced,
        installation_id=installation_id,
        event_jrn=jrn,
        actionable=skip_reason is None,
        skip_reason=skip_reason,
    )


def _problem(field: str, why: str) -> InvalidInputError:
    return InvalidInputError(f"invalid push payload: field {field!r} {why}")


def _string(container: dict[str, Any], key: str, path: str | None = None) -> str:
    field = path or key
    if key not in container or container[key] is None:
        raise _problem(field, "is missing")
    value = container[key]
    if not isinstance(value, str) or not value:
        raise _problem(field, f"must be a non-empty string, got {_shape(value)}")
    return value


def _optional_string(container: dict[str, Any], key: str, path: str) -> str | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _problem(path, f"must be a non-empty string, got {_shape(value)}")
    return value


def _object(container: dict[str, Any], key: str, path: str | None = None) -> dict[str, Any]:
    field = path or key
    value = container.get(key)
    if value is None:
        raise _problem(field, "is missing")
    if not isinstance(value, dict):
        raise _problem(field, f"must be an object, got {_shape(value)}")
    return value


def _flag(container: dict[str, Any], key: str, *, default: bool) -> bool:
    value = container.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _problem(key, f"must be true or false, got {_shape(value)}")
    return value


def _sha(container: dict[str, Any], key: str) -> str:
    value = _string(container, key)
    try:
        return validate_sha(value, what=f"SHA in push payload field {key!r}")
    except InvalidInputError as error:
        raise InvalidInputError(f"invalid push payload: {error}") from None


def _branch(ref: str) -> str:
    try:
        return validate_branch(ref.removeprefix(BRANCH_PREFIX))
    except InvalidInputError as error:
        raise _problem("ref", f"does not name a valid branch: {error}") from None


def _coordinate(payload: dict[str, Any]) -> RepoCoordinate:
    repository = _object(payload, "repository")
    host = _host(repository)
    full_name = _optional_string(repository, "full_name", "repository.full_name")
    owner_part, _, name_part = (full_name or "").partition("/")
    owner_object = repository.get("owner")
    if owner_object is not None and not isinstance(owner_object, dict):
        raise _problem("repository.owner", f"must be an object, got {_shape(owner_object)}")
    owner = (
        _optional_string(owner_object or {}, "login", "repository.owner.login")
        or _optional_string(owner_object or {}, "name", "repository.owner.name")
        or owner_part
    )
    if not owner:
        raise _problem("repository.owner.login", "is missing (and so is repository.full_name)")
    repo = _optional_string(repository, "name", "repository.name") or name_part
    if not repo:
        raise _problem("repository.name", "is missing (and so is repository.full_name)")
    try:
        return RepoCoordinate.parse(f"{host}/{owner}/{repo}")
    except InvalidInputError as error:
        raise InvalidInputError(f"invalid push payload: field 'repository': {error}") from None


def _host(repository: dict[str, Any]) -> str:
    for key in _REPOSITORY_URL_FIELDS:
        url = _optional_string(repository, key, f"repository.{key}")
        if url is None:
            continue
        try:
            return host_of_url(url)
        except InvalidInputError as error:
            raise _problem(f"repository.{key}", str(error)) from None
    raise _problem("repository.html_url", "is missing (and so are clone_url and url)")


def host_of_url(url: str) -> str:
    """The git host a GitHub URL names (an ``api.github.com`` URL names github.com). Raises
    ``InvalidInputError`` with the reason, worded to follow the name of the field."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInputError(f"is not a URL: {url!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInputError(f"is not an http(s) URL: {url!r}")
    if port is not None and port not in {80, 443}:
        raise InvalidInputError(f"names port {port}: git hosts on other ports are not supported")
    host = validate_host(parts.hostname)
    return _API_HOSTS.get(host, host)


def _installation_id(payload: dict[str, Any]) -> int | None:
    installation = payload.get("installation")
    if installation is None:
        return None
    if not isinstance(installation, dict):
        raise _problem("installation", f"must be an object, got {_shape(installation)}")
    value = installation.get("id")
    if value is None:
        raise _problem("installation.id", "is missing")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise _problem(
            "installation.id", f"must be a positive 64-bit integer, got {_shape(value)[:40]}"
        )
    return value


def _shape(value: Any) -> str:
    """A short description of a wrong value: enough to fix the sender, never a whole blob."""
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value) if isinstance(value, bool | int | float) else type(value).__name__
