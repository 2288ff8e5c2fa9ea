import subprocess

import pytest

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.refs import (
    branch_name_problem,
    is_zero_sha,
    validate_branch,
    validate_sha,
    validate_source_branch,
)

VALID = ["main", "feature/x/y", "release-1.2", "user@host", "a.b", "UPPER/case", "x/y.z/w"]
INVALID = [
    "",
    "-rf",
    "@",
    "a..b",
    "a b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a@{1}",
    "a.",
    "/a",
    "a/",
    "a//b",
    ".hidden",
    "a/.b",
    "a.lock",
    "a/b.lock/c",
    "tab\there",
    "x" * 256,
]


@pytest.mark.parametrize("name", VALID)
def test_valid_branch_names(name: str) -> None:
    assert validate_branch(name) == name


@pytest.mark.parametrize("name", INVALID)
def test_invalid_branch_names(name: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid branch name"):
        validate_branch(name)


@pytest.mark.parametrize("name", VALID + [n for n in INVALID if n and n != "x" * 256])
def test_agrees_with_git_check_ref_format(name: str) -> None:
    """Our rules are git's own (plus a refused leading "-" and "@", which git reads as HEAD)."""
    result = subprocess.run(
        ["git", "check-ref-format", f"refs/heads/{name}"], capture_output=True, check=False
    )
    git_accepts = result.returncode == 0 and not name.startswith("-") and name != "@"
    assert (branch_name_problem(name) is None) == git_accepts, name


def test_shas() -> None:
    assert validate_sha("a" * 40) == "a" * 40
    assert validate_sha("0123456789abcdef" * 4) == "0123456789abcdef" * 4
    for bad in ["A" * 40, "a" * 39, "g" * 40, "--upload-pack=x", "a" * 40 + "\n"]:
        with pytest.raises(InvalidInputError, match="invalid commit SHA"):
            validate_sha(bad)
    assert is_zero_sha("0" * 40)
    assert is_zero_sha(None)
    assert not is_zero_sha("0" * 39 + "1")


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("refs/heads/main", "give the branch name: --branch main"),
        ("refs/heads/feature/x", "give the branch name: --branch feature/x"),
        ("refs/tags/v1.0", "sources follow branches"),
        ("refs/heads/", "sources follow branches"),
    ],
)
def test_a_source_branch_that_is_a_full_ref_is_refused_with_a_hint(name: str, hint: str) -> None:
    with pytest.raises(InvalidInputError, match="full ref name") as refused:
        validate_source_branch(name)
    assert hint in str(refused.value)


def test_source_branches_follow_the_branch_rules() -> None:
    assert validate_source_branch("release/refs") == "release/refs"
    with pytest.raises(InvalidInputError, match="invalid branch name"):
        validate_source_branch("bad..name")
