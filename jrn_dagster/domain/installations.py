"""GitHub App lifecycle deliveries (``installation``, ``installation_repositories``), normalised.

Pure: a stored payload in, an ``InstallationChange`` out. The rules of what a change does to
integrations live here too (``integration_status_after``), so that the receiver, ``events
ingest`` and the tests read one definition (docs/webhooks.md, "GitHub App lifecycle").
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.push import host_of_url
from jrn_dagster.domain.records import IntegrationStatus

INSTALLATION_EVENT = "installation"
INSTALLATION_REPOSITORIES_EVENT = "installation_repositories"
LIFECYCLE_EVENT_TYPES = frozenset({INSTALLATION_EVENT, INSTALLATION_REPOSITORIES_EVENT})
# Switching an installation from "all" to a few repositories lists every other repository as
# removed; this bounds the rows one delivery may write (docs/webhooks.md).
MAX_LISTED_REPOSITORIES = 50_000
_URL_FIELDS = ("html_url", "access_tokens_url", "repositories_url")


class InstallationState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


# What each ``installation`` action says about the installation; other actions (such as
# ``new_permissions_accepted``) are stored and change nothing.
_STATE_OF_ACTION = {
    "created": InstallationState.ACTIVE,
    "unsuspend": InstallationState.ACTIVE,
    "suspend": InstallationState.SUSPENDED,
    "deleted": InstallationState.DELETED,
}


class InstalledRepository(BaseModel):
    model_config = ConfigDict(frozen=True)

    coordinate_key: str  # host/owner/name, lower-cased: what sources.repo_key holds
    full_name: str  # owner/name as GitHub spells it
    repository_id: int | None


class InstallationChange(BaseModel):
    """One lifecycle delivery: which installation, what it became, which repositories it now
    covers or lost. ``state`` is None when the action says nothing about the lifecycle."""

    model_config = ConfigDict(frozen=True)

    event_type: str
    action: str
    host: str
    installation_id: int
    app_id: int | None
    account: str | None
    repository_selection: str | None
    state: InstallationState | None
    covered: tuple[InstalledRepository, ...] = ()
    removed: tuple[InstalledRepository, ...] = ()

    @property
    def covers_all(self) -> bool:
        """An installation on "all" repositories of its account has lost none."""
        return self.repository_selection == "all"

    def summary(self) -> str:
        who = f"{self.host}, {self.account}" if self.account else self.host
        text = f"GitHub App installation {self.installation_id} ({who}): {self.action}"
        for verb, repositories in (("covers", self.covered), ("lost", self.removed)):
            if repositories:
                names = ", ".join(r.full_name for r in repositories[:3])
                more = f" and {len(repositories) - 3} more" if len(repositories) > 3 else ""
                text += f"; {verb} {names}{more}"
        return text


def normalize_installation_event(event_type: str, payload: Any) -> InstallationChange:
    """Normalise an ``installation`` or ``installation_repositories`` payload (github.com or
    GitHub Enterprise Server: the host comes from the installation's URLs). Raises
    ``InvalidInputError`` naming the field that is missing or malformed."""
    if event_type not in LIFECYCLE_EVENT_TYPES:
        raise ValueError(f"{event_type!r} is not a GitHub App lifecycle event")
    if not isinstance(payload, dict):
        raise _problem(event_type, "payload", "is not a JSON object")
    action = _string(event_type, payload, "action")
    installation = payload.get("installation")
    if not isinstance(installation, dict):
        raise _problem(event_type, "installation", "must be an object")
    installation_id = _positive_int(event_type, installation, "id", "installation.id")
    if installation_id is None:
        raise _problem(event_type, "installation.id", "is missing")
    host = _installation_host(event_type, installation)
    account = installation.get("account")
    login = account.get("login") if isinstance(account, dict) else None
    selection = payload.get("repository_selection", installation.get("repository_selection"))
    covered: list[InstalledRepository] = []
    removed: list[InstalledRepository] = []
    state = None
    if event_type == INSTALLATION_EVENT:
        state = _STATE_OF_ACTION.get(action)
        if state is InstallationState.ACTIVE and action == "created":
            covered = _repositories(event_type, payload, "repositories", host)
    else:
        covered = _repositories(event_type, payload, "repositories_added", host)
        removed = _repositories(event_type, payload, "repositories_removed", host)
    if len(covered) + len(removed) > MAX_LISTED_REPOSITORIES:
        raise _problem(
            event_type,
            "repositories",
            f"lists {len(covered) + len(removed)} repositories, more than "
            f"{MAX_LISTED_REPOSITORIES}",
        )
    return InstallationChange(
        event_type=event_type,
        action=action,
        host=host,
        installation_id=installation_id,
        app_id=_positive_int(event_type, installation, "app_id", "installation.app_id"),
        account=login[:200] if isinstance(login, str) and login else None,
        repository_selection=selection if selection in ("all", "selected") else None,
        state=state,
        covered=tuple(covered),
        removed=tuple(removed),
    )


def integration_status_after(
    current: IntegrationStatus, state: InstallationState
) -> IntegrationStatus:
    """The status of a GitHub App integration once its installation is in ``state``.

    Deleted is final: an installation id is never reused, so only an operator brings a revoked
    integration back (``jrn-dagster integration status``). A delivery that arrives late (a
    manual redelivery of an old ``unsuspend``) cannot revive it.
    """
    if current is IntegrationStatus.REVOKED or state is InstallationState.DELETED:
        return IntegrationStatus.REVOKED
    if state is InstallationState.SUSPENDED:
        return IntegrationStatus.SUSPENDED
    return IntegrationStatus.ACTIVE


@dataclass(frozen=True)
class IntegrationChange:
    name: str
    before: IntegrationStatus
    after: IntegrationStatus


@dataclass(frozen=True)
class InstallationEffect:
    """What one stored lifecycle delivery changed."""

    state_before: InstallationState | None
    state_after: InstallationState
    integrations: list[IntegrationChange] = field(default_factory=list)
    repositories_covered: int = 0
    repositories_removed: int = 0
    ignored: str | None = None  # why the delivery changed nothing

    def describe(self) -> str:
        if self.ignored:
            return f"nothing changed: {self.ignored}"
        parts = []
        if self.state_before != self.state_after:
            parts.append(f"installation {self.state_before or 'unknown'} -> {self.state_after}")
        parts.extend(f"integration {c.name!r} {c.before} -> {c.after}" for c in self.integrations)
        if self.repositories_removed:
            parts.append(f"{self.repositories_removed} repository(ies) no longer covered")
        if self.repositories_covered:
            parts.append(f"{self.repositories_covered} repository(ies) covered")
        return "; ".join(parts) or "nothing changed"


def _problem(event_type: str, field_name: str, why: str) -> InvalidInputError:
    return InvalidInputError(f"invalid {event_type} payload: field {field_name!r} {why}")


def _string(event_type: str, container: dict[str, Any], key: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value or len(value) > 100:
        raise _problem(event_type, key, "must be a non-empty string of up to 100 characters")
    return value


def _positive_int(event_type: str, container: dict[str, Any], key: str, path: str) -> int | None:
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise _problem(event_type, path, "must be a positive integer")
    return value


def _installation_host(event_type: str, installation: dict[str, Any]) -> str:
    account = installation.get("account")
    candidates = [(f"installation.{key}", installation.get(key)) for key in _URL_FIELDS]
    if isinstance(account, dict):
        candidates.append(("installation.account.html_url", account.get("html_url")))
    for path, url in candidates:
        if url is None:
            continue
        if not isinstance(url, str):
            raise _problem(event_type, path, "must be a URL")
        try:
            return host_of_url(url[:2000])
        except InvalidInputError as error:
            raise _problem(event_type, path, str(error)) from None
    raise _problem(event_type, "installation.html_url", "is missing (and so is account.html_url)")


def _repositories(
    event_type: str, payload: dict[str, Any], key: str, host: str
) -> list[InstalledRepository]:
    value = payload.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _problem(event_type, key, "must be a list")
    if len(value) > MAX_LISTED_REPOSITORIES:
        raise _problem(
            event_type, key, f"lists {len(value)} repositories, more than {MAX_LISTED_REPOSITORIES}"
        )
    repositories = []
    for index, entry in enumerate(value):
        path = f"{key}[{index}]"
        if not isinstance(entry, dict):
            raise _problem(event_type, path, "must be an object")
        full_name = entry.get("full_name")
        if not isinstance(full_name, str) or full_name.count("/") != 1 or len(full_name) > 300:
            raise _problem(event_type, f"{path}.full_name", "must be OWNER/NAME")
        try:
            coordinate = RepoCoordinate.parse(f"{host}/{full_name}")
        except InvalidInputError as error:
            raise _problem(event_type, f"{path}.full_name", str(error)) from None
        repositories.append(
            InstalledRepository(
                coordinate_key=coordinate.key,
                full_name=f"{coordinate.owner}/{coordinate.repo}",
                repository_id=_positive_int(event_type, entry, "id", f"{path}.id"),
            )
        )
    return repositories
