"""GitHub App lifecycle payloads, normalised, and what they do to integration statuses."""

import pytest

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.installations import (
    MAX_LISTED_REPOSITORIES,
    InstallationState,
    integration_status_after,
    normalize_installation_event,
)
from jrn_dagster.domain.records import IntegrationStatus
from jrn_dagster_tests.support.github import (
    installation_payload,
    installation_repositories_payload,
    repository_entry,
)


@pytest.mark.parametrize(
    ("action", "state"),
    [
        ("created", InstallationState.ACTIVE),
        ("unsuspend", InstallationState.ACTIVE),
        ("suspend", InstallationState.SUSPENDED),
        ("deleted", InstallationState.DELETED),
        ("new_permissions_accepted", None),  # stored, changes nothing
    ],
)
def test_installation_actions(action: str, state: InstallationState | None) -> None:
    change = normalize_installation_event(
        "installation",
        installation_payload(action, installation_id=957387, repositories=["acme/Widgets"]),
    )
    assert (change.host, change.installation_id, change.app_id) == ("github.com", 957387, 29310)
    assert (change.account, change.repository_selection) == ("acme", "selected")
    assert change.state is state
    assert change.removed == ()
    if action == "created":  # what a new installation covers
        [covered] = change.covered
        assert (covered.coordinate_key, covered.full_name) == (
            "github.com/acme/widgets",
            "acme/Widgets",
        )
        assert covered.repository_id == repository_entry("acme/Widgets")["id"]
    else:
        assert change.covered == ()


def test_installation_repositories_added_and_removed_on_enterprise_server() -> None:
    change = normalize_installation_event(
        "installation_repositories",
        installation_repositories_payload(
            "removed",
            installation_id=7,
            host="ghe.example.com",
            removed=["acme/widgets", "acme/gadgets"],
        ),
    )
    assert change.host == "ghe.example.com"
    assert [r.coordinate_key for r in change.removed] == [
        "ghe.example.com/acme/widgets",
        "ghe.example.com/acme/gadgets",
    ]
    assert change.state is None and change.covered == ()
    assert change.summary() == (
        "GitHub App installation 7 (ghe.example.com, acme): removed; "
        "lost acme/widgets, acme/gadgets"
    )
    added = normalize_installation_event(
        "installation_repositories",
        installation_repositories_payload(
            "added", installation_id=7, added=["acme/a"], repository_selection="all"
        ),
    )
    assert [r.full_name for r in added.covered] == ["acme/a"] and added.covers_all


def _without(payload: dict, *path: str) -> dict:
    container = payload
    for key in path[:-1]:
        container = container[key]
    del container[path[-1]]
    return payload


@pytest.mark.parametrize(
    ("event_type", "payload", "problem"),
    [
        ("installation", [], "is not a JSON object"),
        (
            "installation",
            _without(installation_payload("suspend", installation_id=1), "action"),
            "'action'",
        ),
        (
            "installation",
            _without(installation_payload("suspend", installation_id=1), "installation", "id"),
            "'installation.id' is missing",
        ),
        (
            "installation",
            {**installation_payload("suspend", installation_id=1), "installation": "1"},
            "'installation' must be an object",
        ),
        (
            "installation",
            installation_payload("created", installation_id=-4),
            "must be a positive integer",
        ),
        (
            "installation_repositories",
            installation_repositories_payload("added", installation_id=1, added=["not-a-name"]),
            "repositories_added[0].full_name",
        ),
        (
            "installation_repositories",
            installation_repositories_payload("added", installation_id=1, added=["acme/../x"]),
            "repositories_added[0].full_name",
        ),
        (
            "installation_repositories",
            {
                **installation_repositories_payload("removed", installation_id=1),
                "repositories_removed": [{"full_name": "a/b"}] * (MAX_LISTED_REPOSITORIES + 1),
            },
            f"more than {MAX_LISTED_REPOSITORIES}",
        ),
    ],
)
def test_malformed_lifecycle_payloads_are_refused(event_type: str, payload, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=f"invalid {event_type} payload") as refused:
        normalize_installation_event(event_type, payload)
    assert problem in str(refused.value)


def test_the_host_comes_from_the_installation_urls() -> None:
    payload = installation_payload("suspend", installation_id=3, host="ghe.example.com")
    for key in ("html_url", "access_tokens_url", "repositories_url"):
        del payload["installation"][key]
    # the account's URL is the last resort
    assert normalize_installation_event("installation", payload).host == "ghe.example.com"
    del payload["installation"]["account"]
    with pytest.raises(InvalidInputError, match=r"installation\.html_url' is missing"):
        normalize_installation_event("installation", payload)


A, S, R = IntegrationStatus.ACTIVE, IntegrationStatus.SUSPENDED, IntegrationStatus.REVOKED


@pytest.mark.parametrize(
    ("current", "state", "after"),
    [
        (A, InstallationState.SUSPENDED, S),
        (S, InstallationState.ACTIVE, A),
        (A, InstallationState.ACTIVE, A),
        (S, InstallationState.DELETED, R),
        (R, InstallationState.ACTIVE, R),  # a deleted installation does not come back
        (R, InstallationState.SUSPENDED, R),
    ],
)
def test_integration_status_follows_the_installation(
    current: IntegrationStatus, state: InstallationState, after: IntegrationStatus
) -> None:
    assert integration_status_after(current, state) is after
