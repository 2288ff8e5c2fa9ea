"""clone_at on real repositories (file:// remotes with partial clone enabled, as GitHub has it)."""

import shutil
from pathlib import Path

import pytest

from jrn_dagster.adapters.git import Checkout, clone_at, clone_url_for
from jrn_dagster.adapters.local_sandbox import LocalSandbox
from jrn_dagster.domain.refs import ZERO_SHA
from jrn_dagster.ports.git import CheckoutError, CheckoutNotFoundError
from jrn_dagster_tests.support.git_repos import RemoteRepo, make_remote_repo
from jrn_dagster_tests.support.recording_sandbox import RecordingSandbox

NO_WAIT = (0.0, 0.0)


def clone(
    sandbox: LocalSandbox | RecordingSandbox,
    remote: RemoteRepo,
    *,
    head_sha: str | None,
    base_sha: str | None = None,
    branch: str = "main",
) -> Checkout:
    return clone_at(
        sandbox,
        coordinate=str(remote.coordinate),
        branch=branch,
        head_sha=head_sha,
        base_sha=base_sha,
        credential=None,
        clone_url_template=remote.url_template,
        retry_delays=NO_WAIT,
    )


def git_out(sandbox: LocalSandbox, *args: str) -> str:
    return sandbox.run(["git", *args], cwd="repo", timeout=30).stdout.strip()


def test_clones_the_given_commit_not_the_branch_tip(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    base = remote.head()
    pushed = remote.commit_and_push({"src/app.py": "v1\n"}, "the pushed commit")
    remote.commit_and_push({"src/app.py": "v2\n"}, "a later push")
    checkout = clone(local_sandbox, remote, head_sha=pushed, base_sha=base)
    assert checkout.head_sha == pushed
    assert git_out(local_sandbox, "rev-parse", "HEAD") == pushed
    assert local_sandbox.read_file("repo/src/app.py") == b"v1\n"
    assert checkout.base_sha == base
    assert checkout.base_reachable
    assert checkout.sandbox_id == local_sandbox.id
    assert checkout.path == local_sandbox.path("repo")
    assert checkout.coordinate == "github.com/acme/widgets"
    assert checkout.branch == "main"
    assert checkout.fetched_bytes is not None and checkout.fetched_bytes > 0
    assert checkout.partial
    # Serialisable: ops pass it along as an output.
    assert Checkout.model_validate_json(checkout.model_dump_json()) == checkout


def test_catch_up_mode_checks_out_the_branch_head_and_reports_it(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    cursor = remote.head()
    remote.commit_and_push({"a.txt": "1"}, "one")
    head = remote.commit_and_push({"a.txt": "2"}, "two")
    checkout = clone(local_sandbox, remote, head_sha=None, base_sha=cursor)
    assert checkout.head_sha == head
    assert checkout.base_reachable
    assert git_out(local_sandbox, "rev-parse", "HEAD") == head


def test_base_beyond_the_initial_depth_is_found_by_deepening(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    base = remote.head()
    head = remote.push_history([{"counter.txt": str(number)} for number in range(45)])
    checkout = clone(local_sandbox, remote, head_sha=head, base_sha=base)
    assert checkout.base_reachable
    assert not checkout.shallow  # 46 commits: the doubling reached the root


def test_a_short_range_stays_a_shallow_fetch(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    base = remote.push_history([{"counter.txt": str(number)} for number in range(60)])
    head = remote.push_history([{"range.txt": str(number)} for number in range(3)])
    checkout = clone(local_sandbox, remote, head_sha=head, base_sha=base)
    assert checkout.base_reachable
    assert checkout.shallow
    assert int(git_out(local_sandbox, "rev-list", "--count", "HEAD")) <= 20


def test_history_rewritten_by_a_forced_push_makes_the_base_unreachable(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    remote.commit_and_push({"a.txt": "kept"}, "kept")
    old_head = remote.commit_and_push({"a.txt": "dropped"}, "dropped by the force push")
    new_head = remote.rewrite({"a.txt": "rewritten"}, drop=1)
    checkout = clone(local_sandbox, remote, head_sha=new_head, base_sha=old_head)
    assert checkout.head_sha == new_head
    assert not checkout.base_reachable
    assert local_sandbox.read_file("repo/a.txt") == b"rewritten"


def test_a_base_unrelated_to_the_head_is_unreachable(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    head = remote.commit_and_push({"a.txt": "a"}, "on main")
    other = remote.commit_and_push({"b.txt": "b"}, "elsewhere", branch="orphan-ish")
    remote.push("orphan-ish")
    checkout = clone(local_sandbox, remote, head_sha=head, base_sha=other)
    assert not checkout.base_reachable


def test_a_branch_with_slashes(remote: RemoteRepo, local_sandbox: LocalSandbox) -> None:
    base = remote.head()
    remote.checkout("feature/docs/deep-dive", start="main")
    head = remote.commit_and_push(
        {"docs/x.md": "# x\n"}, "feature", branch="feature/docs/deep-dive"
    )
    checkout = clone(
        local_sandbox, remote, head_sha=None, base_sha=base, branch="feature/docs/deep-dive"
    )
    assert checkout.head_sha == head
    assert checkout.branch == "feature/docs/deep-dive"
    assert checkout.base_reachable
    assert local_sandbox.read_file("repo/docs/x.md") == b"# x\n"


def test_no_base_or_a_zero_base_means_no_range(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    head = remote.head()
    for base in (None, ZERO_SHA):
        checkout = clone(local_sandbox, remote, head_sha=head, base_sha=base)
        assert checkout.base_sha is None
        assert not checkout.base_reachable
        assert int(git_out(local_sandbox, "rev-list", "--count", "HEAD")) == 1


def test_a_head_commit_the_remote_does_not_have_is_a_clear_non_retryable_error(
    remote: RemoteRepo, spy: RecordingSandbox
) -> None:
    missing = "1234567890abcdef1234567890abcdef12345678"
    with pytest.raises(CheckoutNotFoundError) as caught:
        clone(spy, remote, head_sha=missing, base_sha=None)
    assert f"commit {missing} is not on branch main" in str(caught.value)
    assert not caught.value.retryable


def test_a_missing_branch_in_catch_up_mode_is_not_found(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    with pytest.raises(CheckoutNotFoundError) as caught:
        clone(local_sandbox, remote, head_sha=None, branch="no/such/branch")
    assert "refs/heads/no/such/branch" in str(caught.value)
    assert not caught.value.retryable


def test_a_missing_repository_is_not_found(tmp_path: Path, local_sandbox: LocalSandbox) -> None:
    with pytest.raises(CheckoutError) as caught:
        clone_at(
            local_sandbox,
            coordinate="github.com/acme/nothing-here",
            branch="main",
            head_sha=None,
            base_sha=None,
            credential=None,
            clone_url_template=f"file://{tmp_path}/{{host}}/{{owner}}/{{repo}}.git",
            retry_delays=NO_WAIT,
        )
    assert "repository not found" in str(caught.value)
    assert not caught.value.retryable


def test_the_clone_is_partial_and_later_diffs_need_no_network(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    big_old_blob = "old content\n" * 5000
    remote.commit_and_push({"old.txt": big_old_blob}, "old history")
    remote.commit_and_push({"old.txt": None}, "removed")
    base = remote.commit_and_push({"doc.md": "before\n"}, "base")
    head = remote.commit_and_push({"doc.md": "after\n"}, "head")
    clone(local_sandbox, remote, head_sha=head, base_sha=base)
    config = git_out(local_sandbox, "config", "--get", "remote.origin.partialclonefilter")
    assert config == "blob:none"
    # The remote disappears: everything later steps need is already here.
    shutil.rmtree(remote.bare)
    diff = git_out(local_sandbox, "-c", "core.pager=cat", "diff", base, head, "--", "doc.md")
    assert "-before" in diff and "+after" in diff


def test_cloning_again_into_the_same_sandbox_starts_clean(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    first = remote.head()
    clone(local_sandbox, remote, head_sha=first)
    local_sandbox.write_file("repo/stray.txt", "left by an earlier attempt")
    second = remote.commit_and_push({"b.txt": "b"}, "second")
    checkout = clone(local_sandbox, remote, head_sha=second, base_sha=first)
    assert checkout.head_sha == second
    assert "stray.txt" not in local_sandbox.list_files("repo")


def test_clone_url_comes_from_the_template_or_the_environment(tmp_path: Path) -> None:
    repo = make_remote_repo(tmp_path / "srv", "ghe.example.com/team/tool")
    coordinate = repo.coordinate
    assert clone_url_for(coordinate, environ={}) == "https://ghe.example.com/team/tool.git"
    env = {"JRN_CLONE_URL_TEMPLATE": repo.url_template}
    assert (
        clone_url_for(coordinate, environ=env)
        == f"file://{tmp_path}/srv/ghe.example.com/team/tool.git"
    )
    explicit = "https://mirror.example.com/{owner}/{repo}.git"
    assert (
        clone_url_for(coordinate, explicit, environ=env)
        == "https://mirror.example.com/team/tool.git"
    )


def test_other_shas_are_looked_for_like_the_base(
    remote: RemoteRepo, local_sandbox: LocalSandbox
) -> None:
    cursor = remote.head()
    middle = remote.push_history([{"n.txt": str(n)} for n in range(40)])
    dropped = remote.commit_and_push({"x.txt": "dropped"}, "dropped")
    head = remote.rewrite({"x.txt": "kept"}, drop=1)
    checkout = clone_at(
        local_sandbox,
        coordinate=str(remote.coordinate),
        branch="main",
        head_sha=head,
        base_sha=middle,
        credential=None,
        clone_url_template=remote.url_template,
        other_shas=[cursor, dropped, None, ZERO_SHA],
        retry_delays=NO_WAIT,
    )
    assert checkout.ancestors == {cursor: True, middle: True, dropped: False}
    # Found commits are in the clone: ancestry questions among them can be asked locally.
    is_ancestor = local_sandbox.run(
        ["git", "merge-base", "--is-ancestor", cursor, middle], cwd="repo", timeout=30, check=False
    )
    assert is_ancestor.exit_code == 0
    # And their diffs to the head need no network (nor a credential) later.
    shutil.rmtree(remote.bare)
    names = git_out(local_sandbox, "diff", "--name-only", cursor, head)
    assert set(names.split()) == {"n.txt", "x.txt"}
    assert "+kept" in git_out(local_sandbox, "diff", cursor, head, "--", "x.txt")
