import os
import subprocess
from pathlib import Path

import pytest

from jrn_dagster.domain.changes import (
    ChangedFile,
    ChangeStatus,
    changed_files_from_tree,
    parse_name_status,
)
from jrn_dagster.domain.errors import InvalidInputError

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
}


def git(repo: Path, *args: str) -> bytes:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env=env
    ).stdout


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").decode().strip()


BODY = "".join(f"line {i}: some content that stays put\n" for i in range(40))
ODD_NAMES = ["pages/[id].tsx", "app/(group)/x.ts", "a+b/c d.ts", "docs/naïve.md", 'q"uote.md']


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository whose second commit adds, modifies, deletes, renames, re-types and
    changes a binary file, with names that need quoting."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    files = {
        "src/keep.py": BODY,
        "src/old_name.py": BODY,
        "src/gone.py": "bye\n",
        "bin/logo.png": None,
        "link_me": "target\n",
        **{name: f"{name}\n" for name in ODD_NAMES},
    }
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.write_bytes(bytes(range(256)) * 4)
        else:
            path.write_text(content, encoding="utf-8")
    base = commit(repo, "base")

    (repo / "src/keep.py").write_text(BODY + "one more\n", encoding="utf-8")
    (repo / "lib").mkdir()
    (repo / "src/old_name.py").rename(repo / "lib/new_name.py")
    (repo / "src/gone.py").unlink()
    (repo / "bin/logo.png").write_bytes(bytes(reversed(range(256))) * 4)
    (repo / "link_me").unlink()
    (repo / "link_me").symlink_to("src/keep.py")
    (repo / "pages/[id].tsx").write_text("changed\n", encoding="utf-8")
    (repo / "new file.md").write_text("new\n", encoding="utf-8")
    head = commit(repo, "head")
    return repo, base, head


EXPECTED = [
    ChangedFile(path="src/keep.py", status=ChangeStatus.MODIFIED),
    ChangedFile(
        path="lib/new_name.py",
        status=ChangeStatus.RENAMED,
        old_path="src/old_name.py",
        similarity=100,
    ),
    ChangedFile(path="src/gone.py", status=ChangeStatus.DELETED),
    ChangedFile(path="bin/logo.png", status=ChangeStatus.MODIFIED),
    ChangedFile(path="link_me", status=ChangeStatus.TYPE_CHANGED),
    ChangedFile(path="pages/[id].tsx", status=ChangeStatus.MODIFIED),
    ChangedFile(path="new file.md", status=ChangeStatus.ADDED),
]


def by_path(files: list[ChangedFile]) -> list[ChangedFile]:
    return sorted(files, key=lambda changed: changed.path)


def test_parse_real_git_diff_with_z(repo: tuple[Path, str, str]) -> None:
    path, base, head = repo
    output = git(path, "diff", "--name-status", "-z", "-M", base, head)
    assert by_path(parse_name_status(output)) == by_path(EXPECTED)


def test_parse_real_git_diff_without_z_unquotes_names(repo: tuple[Path, str, str]) -> None:
    path, base, _ = repo
    (path / 'we"ird\tname.md').write_text("x\n", encoding="utf-8")
    (path / "café.md").write_text("x\n", encoding="utf-8")
    head2 = commit(path, "quoted names")
    plain = git(path, "diff", "--name-status", "-M", base, head2)
    assert b'"we\\"ird\\tname.md"' in plain  # git quoted them
    z = git(path, "diff", "--name-status", "-z", "-M", base, head2)
    parsed = parse_name_status(plain.decode())
    assert parsed == parse_name_status(z)
    assert {f.path for f in parsed} >= {'we"ird\tname.md', "café.md"}


def test_parse_real_copies(repo: tuple[Path, str, str]) -> None:
    path, _, head = repo
    (path / "src/copy.py").write_text(BODY + "one more\n", encoding="utf-8")
    head2 = commit(path, "copy")
    output = git(path, "diff", "--name-status", "-z", "-C", "--find-copies-harder", head, head2)
    assert parse_name_status(output) == [
        ChangedFile(
            path="src/copy.py", status=ChangeStatus.COPIED, old_path="src/keep.py", similarity=100
        )
    ]


def test_tree_fallback_lists_every_file_as_added(repo: tuple[Path, str, str]) -> None:
    path, _, head = repo
    output = git(path, "ls-tree", "-r", "--name-only", "-z", head)
    files = changed_files_from_tree(output)
    assert {f.status for f in files} == {ChangeStatus.ADDED}
    assert {f.path for f in files} == {
        "src/keep.py",
        "lib/new_name.py",
        "bin/logo.png",
        "link_me",
        "new file.md",
        *ODD_NAMES,
    }
    # The plain form (quoted names) gives the same list.
    plain = git(path, "ls-tree", "-r", "--name-only", head).decode()
    assert changed_files_from_tree(plain) == files


def test_parse_all_status_letters() -> None:
    output = "A\0a\0M\0m\0D\0d\0R075\0old\0new\0C100\0src\0dst\0T\0t\0U\0u\0X\0x\0B042\0b\0Z\0z\0"
    assert parse_name_status(output) == [
        ChangedFile(path="a", status=ChangeStatus.ADDED),
        ChangedFile(path="m", status=ChangeStatus.MODIFIED),
        ChangedFile(path="d", status=ChangeStatus.DELETED),
        ChangedFile(path="new", status=ChangeStatus.RENAMED, old_path="old", similarity=75),
        ChangedFile(path="dst", status=ChangeStatus.COPIED, old_path="src", similarity=100),
        ChangedFile(path="t", status=ChangeStatus.TYPE_CHANGED),
        ChangedFile(path="u", status=ChangeStatus.UNMERGED),
        ChangedFile(path="x", status=ChangeStatus.UNKNOWN),
        ChangedFile(path="b", status=ChangeStatus.MODIFIED),
        ChangedFile(path="z", status=ChangeStatus.UNKNOWN),
    ]


def test_empty_output_means_no_changes() -> None:
    assert parse_name_status(b"") == []
    assert parse_name_status("") == []
    assert changed_files_from_tree(b"") == []


def test_non_utf8_names_are_kept_with_replacement_characters() -> None:
    assert parse_name_status(b"M\0caf\xe9.md\0") == [
        ChangedFile(path="caf\ufffd.md", status=ChangeStatus.MODIFIED)
    ]


def test_octal_escapes_in_quoted_names() -> None:
    assert parse_name_status('M\t"caf\\303\\251.md"\n') == [
        ChangedFile(path="café.md", status=ChangeStatus.MODIFIED)
    ]


@pytest.mark.parametrize(
    "output",
    [
        "R100\0only-old\0",  # a rename needs two paths
        "M\0",  # a status without its path
        "\0\0",
        "M\ta\tb\n",  # too many fields in the plain form
        "R1x0\0a\0b\0",
        "R101\0a\0b\0",
        'M\t"bad\\q"\n',
    ],
)
def test_malformed_output_is_a_clear_error(output: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_name_status(output)
    assert "\n" not in str(caught.value)
