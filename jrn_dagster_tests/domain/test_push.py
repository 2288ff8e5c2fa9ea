import copy
from typing import Any

import pytest

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.push import PushEvent, normalize_push
from jrn_dagster.domain.refs import ZERO_SHA
from jrn_dagster_tests.support.github import push_payload, sha_for

BEFORE, AFTER = sha_for("before"), sha_for("after")


def test_push_to_the_default_branch() -> None:
    push = normalize_push(push_payload(owner="acme", repo="widgets", before=BEFORE, after=AFTER))

    assert push == PushEvent(
        host="github.com",
        owner="acme",
        repo="widgets",
        ref="refs/heads/main",
        branch="main",
        tag=None,
        before=BEFORE,
        after=AFTER,
        base_sha=BEFORE,
        head_sha=AFTER,
        created=False,
        deleted=False,
        forced=False,
        installation_id=None,
        event_jrn="jrn::path:/home/global/sources/github/acme/widgets/main",
        actionable=True,
        skip_reason=None,
    )
    assert push.coordinate == RepoCoordinate("github.com", "acme", "widgets")


def test_branch_with_slashes_keeps_them_in_the_jrn() -> None:
    push = normalize_push(push_payload(branch="feature/x/y"))

    assert push.branch == "feature/x/y"
    assert push.event_jrn == "jrn::path:/home/global/sources/github/acme/widgets/feature/x/y"
    assert push.actionable


def test_branch_created_has_no_webhook_base() -> None:
    push = normalize_push(push_payload(branch="topic", before=ZERO_SHA, after=AFTER))

    assert push.created and not push.deleted
    assert push.base_sha is None
    assert push.head_sha == AFTER
    assert push.actionable


def test_branch_deleted_starts_nothing() -> None:
    push = normalize_push(push_payload(branch="old/topic", before=BEFORE, after=ZERO_SHA))

    assert push.deleted and not push.actionable
    assert push.head_sha is None
    assert push.skip_reason == "branch 'old/topic' was deleted"
    # Still named, so logs and the sensor can say which branch went away.
    assert push.event_jrn == "jrn::path:/home/global/sources/github/acme/widgets/old/topic"


@pytest.mark.parametrize(
    ("before", "after", "action"), [(ZERO_SHA, AFTER, "pushed"), (BEFORE, ZERO_SHA, "deleted")]
)
def test_tag_created_or_deleted_starts_nothing(before: str, after: str, action: str) -> None:
    push = normalize_push(push_payload(tag="v1.2.0", before=before, after=after))

    assert not push.actionable
    assert push.branch is None and push.event_jrn is None
    assert push.tag == "v1.2.0"
    assert push.skip_reason == f"tag 'v1.2.0' was {action}: tag pushes start nothing"


def test_forced_push_keeps_the_webhook_base_and_says_forced() -> None:
    push = normalize_push(push_payload(before=BEFORE, after=AFTER, forced=True))

    assert push.forced and push.actionable
    assert (push.base_sha, push.head_sha) == (BEFORE, AFTER)


def test_github_enterprise_server_host_names_the_jrn() -> None:
    push = normalize_push(push_payload(host="ghe.example.com", owner="platform", repo="api"))

    assert push.host == "ghe.example.com"
    assert str(push.coordinate) == "ghe.example.com/platform/api"
    assert push.event_jrn == "jrn::path:/home/global/sources/ghe.example.com/platform/api/main"


def test_installation_id_present_and_absent() -> None:
    assert normalize_push(push_payload(installation_id=424242)).installation_id == 424242
    assert normalize_push(push_payload()).installation_id is None


def test_host_falls_back_to_clone_url_then_api_url() -> None:
    payload = push_payload(host="git.corp.example")
    del payload["repository"]["html_url"]
    assert normalize_push(payload).host == "git.corp.example"

    payload = push_payload()
    for key in ("html_url", "clone_url"):
        del payload["repository"][key]
    payload["repository"]["url"] = "https://api.github.com/repos/acme/widgets"
    assert normalize_push(payload).host == "github.com"


def test_owner_from_name_or_full_name_when_login_is_absent() -> None:
    payload = push_payload(owner="Acme-Corp")
    del payload["repository"]["owner"]["login"]
    assert normalize_push(payload).owner == "Acme-Corp"

    payload = push_payload(owner="acme", repo="widgets")
    del payload["repository"]["owner"]
    del payload["repository"]["name"]
    push = normalize_push(payload)
    assert (push.owner, push.repo) == ("acme", "widgets")


def test_missing_flags_are_derived_from_the_shas() -> None:
    payload = push_payload(before=ZERO_SHA, after=AFTER)
    for key in ("created", "deleted", "forced"):
        del payload[key]

    push = normalize_push(payload)

    assert push.created and not push.deleted and not push.forced


def test_sha256_repositories_are_accepted() -> None:
    long_after = "a" * 64
    assert normalize_push(push_payload(after=long_after)).head_sha == long_after


def test_a_non_branch_ref_starts_nothing() -> None:
    payload = push_payload()
    payload["ref"] = "refs/notes/commits"

    push = normalize_push(payload)

    assert not push.actionable
    assert push.skip_reason == "ref 'refs/notes/commits' is not a branch"


def _broken(change: Any) -> dict[str, Any]:
    payload = copy.deepcopy(push_payload())
    change(payload)
    return payload


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.pop("ref"), "field 'ref' is missing"),
        (lambda p: p.update(ref=7), "field 'ref' must be a non-empty string, got 7"),
        (lambda p: p.update(ref="main"), "field 'ref' must be a full ref"),
        (lambda p: p.update(ref="refs/heads/bad..name"), "field 'ref' does not name a valid"),
        (lambda p: p.update(ref="refs/heads/"), "field 'ref' does not name a valid branch"),
        (lambda p: p.pop("before"), "field 'before' is missing"),
        (lambda p: p.update(after="HEAD"), "field 'after'"),
        (lambda p: p.update(after="ABCDEF" * 7), "field 'after'"),
        (lambda p: p.update(forced="yes"), "field 'forced' must be true or false"),
        (lambda p: p.pop("repository"), "field 'repository' is missing"),
        (lambda p: p.update(repository=[]), "field 'repository' must be an object, got a list"),
        (
            lambda p: p["repository"].update(html_url="ftp://github.com/a/b"),
            "field 'repository.html_url' is not an http(s) URL",
        ),
        (
            lambda p: p["repository"].update(html_url="https://github.com:8443/a/b"),
            "field 'repository.html_url' names port 8443",
        ),
        (
            lambda p: p["repository"].update(html_url="https://bad_host!/a/b"),
            "field 'repository.html_url'",
        ),
        (
            lambda p: [p["repository"].pop(k) for k in ("html_url", "clone_url", "url")],
            "field 'repository.html_url' is missing",
        ),
        (
            lambda p: p["repository"].update(owner="acme"),
            "field 'repository.owner' must be an object",
        ),
        (
            lambda p: [p["repository"].pop(k) for k in ("owner", "full_name")],
            "field 'repository.owner.login' is missing",
        ),
        (lambda p: p["repository"].update(name=".."), "field 'repository'"),
        (lambda p: p.update(installation={"id": "12"}), "field 'installation.id' must be"),
        (lambda p: p.update(installation={"id": True}), "field 'installation.id' must be"),
        (lambda p: p.update(installation={}), "field 'installation.id' is missing"),
        (lambda p: p.update(installation=5), "field 'installation' must be an object"),
    ],
)
def test_malformed_payloads_name_the_field(change: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        normalize_push(_broken(change))

    assert message in str(raised.value)
    assert str(raised.value).startswith("invalid push payload")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("payload", [None, [], "push", 3])
def test_a_payload_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(InvalidInputError, match="not a JSON object"):
        normalize_push(payload)


def test_the_event_is_frozen() -> None:
    push = normalize_push(push_payload())
    with pytest.raises(ValueError, match="frozen"):
        push.branch = "other"  # type: ignore[misc]
