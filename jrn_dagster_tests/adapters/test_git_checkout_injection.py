"""Hostile input through the coordinate, the branch, the SHAs, the destination and the clone URL
template is refused before anything touches the sandbox; valid names full of shell characters are
passed to git as data, locally and on E2B (where commands do go through a shell)."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from jrn_dagster.adapters.git import clone_at
from jrn_dagster.adapters.github import GitCredential
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.resources.sandbox import E2BSandboxResource
from jrn_dagster_tests.support.e2b_double import FakeE2BCloud
from jrn_dagster_tests.support.git_repos import RemoteRepo
from jrn_dagster_tests.support.recording_sandbox import RecordingSandbox
from jrn_dagster_tests.support.sandboxes import make_e2b_resource

GOOD_SHA = "a" * 40
TOKEN = GitCredential(
    username="x-access-token", token=SecretStr("ghs_injectiontesttoken0123456789")
)
SAFE_DEFAULTS: dict[str, object] = {
    "coordinate": "github.com/acme/widgets",
    "branch": "main",
    "head_sha": GOOD_SHA,
    "base_sha": None,
    "credential": None,
    "clone_url_template": "file:///srv/git/{host}/{owner}/{repo}.git",
}

HOSTILE = [
    ("coordinate", "github.com/acme/widgets;touch /tmp/pwned"),
    ("coordinate", "github.com/acme/$(touch pwned)"),
    ("coordinate", "github.com/--upload-pack=touch pwned/x"),
    ("coordinate", "github.com/acme/../../etc"),
    ("coordinate", "-oProxyCommand=x/acme/widgets"),
    ("coordinate", "github.com/acme/widgets\nrm -rf /"),
    ("coordinate", RepoCoordinate("github.com", "acme", "--upload-pack=sh")),
    ("branch", "--upload-pack=touch pwned"),
    ("branch", "-b"),
    ("branch", "main; touch pwned"),
    ("branch", "main\ntouch pwned"),
    ("branch", "refs/../../x"),
    ("branch", "main:refs/heads/other"),
    ("branch", "feature/*"),
    ("branch", "with space"),
    ("branch", "@{-1}"),
    ("branch", ""),
    ("head_sha", "HEAD"),
    ("head_sha", "--all"),
    ("head_sha", "main"),
    ("head_sha", GOOD_SHA + "; touch pwned"),
    ("head_sha", "A" * 40),
    ("head_sha", "a" * 39),
    ("base_sha", "HEAD~1"),
    ("base_sha", "--exec=touch pwned"),
    ("other_shas", ["HEAD@{1}"]),
    ("other_shas", [GOOD_SHA, "--upload-pack=x"]),
    ("dest", "../outside"),
    ("dest", "/abs/path"),
    ("dest", "-repo"),
    ("dest", "a/../../b"),
    ("dest", ""),
    ("clone_url_template", "ext::sh -c touch% /tmp/pwned {owner} {repo}"),
    ("clone_url_template", "fd::3 {owner}/{repo}"),
    ("clone_url_template", "https://x-access-token:ghp_leaked@github.com/{owner}/{repo}.git"),
    ("clone_url_template", "https://github.com/{owner}.git"),
    ("clone_url_template", "https://{host}/{owner}/{repo}.git?{secret}"),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_hostile_input_is_refused_before_any_command_runs(
    spy: RecordingSandbox, field: str, value: object
) -> None:
    arguments = {**SAFE_DEFAULTS, field: value}
    with pytest.raises(InvalidInputError):
        clone_at(spy, **arguments)  # type: ignore[arg-type]
    assert spy.everything == []


def test_credentials_are_never_sent_over_plain_http_to_a_remote_host(
    spy: RecordingSandbox,
) -> None:
    with pytest.raises(InvalidInputError, match="refusing to send credentials over plain http"):
        clone_at(
            spy,
            **{
                **SAFE_DEFAULTS,
                "credential": TOKEN,
                "clone_url_template": "http://git.example.com/{owner}/{repo}.git",
                "credential_hosts": ["git.example.com"],  # declared: it may have the credential
            },  # type: ignore[arg-type]
        )
    assert spy.everything == []


def test_valid_branch_names_full_of_shell_characters_are_data_locally(
    remote: RemoteRepo, spy: RecordingSandbox
) -> None:
    branch = "feat/$(touch${IFS}pwned)/`id`;x&&touch${IFS}pwned"
    remote.checkout(branch, start="main")
    head = remote.commit_and_push({"f.txt": "x"}, "odd branch", branch=branch)
    checkout = clone_at(
        spy,
        coordinate=str(remote.coordinate),
        branch=branch,
        head_sha=None,
        base_sha=None,
        credential=None,
        clone_url_template=remote.url_template,
    )
    assert checkout.head_sha == head
    assert "pwned" not in spy.list_files()
    assert not (Path(spy.root) / "repo" / "pwned").exists()


def test_valid_branch_names_full_of_shell_characters_are_data_on_e2b(
    remote: RemoteRepo, e2b_cloud: FakeE2BCloud, tmp_path: Path
) -> None:
    """E2B runs commands through bash: the quoting is what keeps this branch name inert."""
    branch = "feat/$(touch${IFS}pwned)/`touch${IFS}pwned2`;touch${IFS}pwned3"
    remote.checkout(branch, start="main")
    head = remote.commit_and_push({"f.txt": "x"}, "odd branch", branch=branch)
    resource: E2BSandboxResource = make_e2b_resource(tmp_path)
    sandbox = resource.open("e2b-injection")
    checkout = clone_at(
        sandbox,
        coordinate=str(remote.coordinate),
        branch=branch,
        head_sha=None,
        base_sha=None,
        credential=None,
        clone_url_template=remote.url_template,
    )
    assert checkout.head_sha == head
    files = sandbox.list_files()
    assert not {"pwned", "pwned2", "pwned3", "repo/pwned", "repo/pwned2", "repo/pwned3"} & set(
        files
    )
    assert sandbox.read_file("repo/f.txt") == b"x"
    resource.release_all()
