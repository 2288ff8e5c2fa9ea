"""The README's first steps, through the CLI, on SQLite and PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jrn_dagster_tests.support.cli import cli_json, run_cli

SOURCES = "jrn::path:/home/global/sources"


def _setup(url: str) -> None:
    for args in [
        ["integration", "add", "gh", "--kind", "token", "--token-env", "GH_TOKEN"],
        [
            "integration",
            "add",
            "app",
            "--kind",
            "github_app",
            "--app-id",
            "7",
            "--installation-id",
            "99",
            "--private-key-env",
            "APP_KEY",
            "--host",
            "ghe.example.com",
        ],
        ["source", "add", "widgets", "--repo", "github.com/acme/widgets", "--integration", "gh"],
        ["source", "add", "widgets-local", "--repo", "github.com/acme/widgets"],
        ["space", "add", "docs-a"],
        ["space", "add", "docs-b", "--name", "Docs B"],
        ["space", "bind", "docs-a", "widgets"],
        ["space", "bind", "docs-b", "widgets", "--jrn-pattern", "jrn::path:/**/main"],
        ["space", "bind", "docs-b", "widgets-local", "--disabled"],
    ]:
        result = run_cli(url, *args)
        assert result.exit_code == 0, (args, result.output)


def test_first_steps_and_json_output(database_url: str) -> None:
    _setup(database_url)
    integrations = cli_json(database_url, "integration", "list")
    assert [(i["name"], i["kind"], i["host"]) for i in integrations] == [
        ("gh", "token", "github.com"),
        ("app", "github_app", "ghe.example.com"),
    ]
    sources = cli_json(database_url, "source", "list")
    assert [(s["name"], s["kind"], s["repo"], s["branch"], s["cursors"]) for s in sources] == [
        ("widgets", "true", "github.com/acme/widgets", None, []),
        ("widgets-local", "virtual", "github.com/acme/widgets", None, []),
    ]
    spaces = cli_json(database_url, "space", "list")
    assert [
        (s["slug"], [(b["source_name"], b["enabled"], b["jrn_pattern"]) for b in s["bindings"]])
        for s in spaces
    ] == [
        ("docs-a", [("widgets", True, None)]),
        ("docs-b", [("widgets", True, "jrn::path:/**/main"), ("widgets-local", False, None)]),
    ]


def test_docs_from_stdin_and_file(database_url: str, tmp_path: Path) -> None:
    _setup(database_url)
    assert (
        run_cli(database_url, "doc", "put", "docs-a", "intro.md", input="# Intro\n").exit_code == 0
    )
    page = tmp_path / "page.md"
    page.write_text("# Page\n")
    assert run_cli(database_url, "doc", "put", "docs-a", "guide/page.md", str(page)).exit_code == 0
    assert (
        run_cli(database_url, "doc", "put", "docs-a", "intro.md", input="# Intro 2\n").exit_code
        == 0
    )
    docs = cli_json(database_url, "doc", "list", "docs-a")
    assert [(d["path"], d["version"]) for d in docs] == [("guide/page.md", 1), ("intro.md", 2)]
    shown = run_cli(database_url, "doc", "show", "docs-a", "intro.md")
    assert shown.stdout == "# Intro 2\n"


@pytest.mark.parametrize(
    ("existing", "clashing"),
    [("guide", "guide/intro.md"), ("guide/intro.md", "guide"), ("a/b/c.md", "a/b"),
     ("a%b", "a%b/c.md")],
    ids=["file-then-directory", "directory-then-file", "deep", "like-wildcards-are-literal"],
)  # fmt: skip
def test_a_doc_path_that_is_also_a_directory_of_docs_is_refused(
    database_url: str, existing: str, clashing: str
) -> None:
    _setup(database_url)
    assert run_cli(database_url, "doc", "put", "docs-a", existing, input="# A\n").exit_code == 0
    result = run_cli(database_url, "doc", "put", "docs-a", clashing, input="# B\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: doc path {clashing!r} clashes with doc {existing!r} of the same space: a path "
        "cannot be both a doc and a directory of docs"
    ]
    assert [d["path"] for d in cli_json(database_url, "doc", "list", "docs-a")] == [existing]
    # Only paths that really clash: a sibling with a common prefix is fine.
    neighbour = run_cli(database_url, "doc", "put", "docs-a", existing + "x", input="# C\n")
    assert neighbour.exit_code == 0, neighbour.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["source", "add", "x", "--repo", "nothing"], "invalid repo coordinate"),
        (["source", "add", "x", "--branch", "bad..name"], "invalid branch name"),
        (["source", "add", "widgets"], "already exists"),
        (["source", "add", "y", "--repo", "github.com/a/b", "--integration", "nope"], "nope"),
        (["space", "add", "Not_A_Slug"], "invalid space slug"),
        (["space", "bind", "docs-a", "ghost"], "source 'ghost' does not exist"),
        (["integration", "add", "t", "--kind", "token"], "--kind token takes --token-env"),
        (["integration", "add", "t", "--kind", "github_app", "--app-id", "1"], "--app-id"),
        (["doc", "show", "docs-a", "missing.md"], "does not exist"),
        (["source", "link", "widgets-local", "--integration", "app"], "is for host"),
        # A well-formed pattern that can never match: it would silently replace a good one.
        (["space", "bind", "docs-b", "widgets", "--jrn-pattern", "not-a-jrn"], "can never match"),
        (
            ["space", "bind", "docs-b", "widgets", "--jrn-pattern", f"{SOURCES}/github/acme/x/**"],
            "can never match a push to source 'widgets'",
        ),
        (
            ["space", "bind", "docs-b", "widgets", "--jrn-pattern", "**", "--no-jrn-pattern"],
            "not both",
        ),
        (
            ["source", "add", "x", "--repo", "github.com/a/b", "--branch", "refs/heads/main"],
            "full ref name; give the branch name: --branch main",
        ),
        (["source", "add", "x", "--branch", "refs/tags/v1"], "sources follow branches"),
    ],
)
def test_invalid_input_exits_2_with_one_line_and_writes_nothing(
    database_url: str, args: list[str], message: str
) -> None:
    _setup(database_url)
    before = [cli_json(database_url, kind, "list") for kind in ("integration", "source", "space")]
    result = run_cli(database_url, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    after = [cli_json(database_url, kind, "list") for kind in ("integration", "source", "space")]
    assert after == before


def test_unmigrated_database_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "new.sqlite").touch()  # an empty SQLite database
    result = run_cli(f"sqlite:///{tmp_path}/new.sqlite", "source", "list")
    assert result.exit_code == 2
    assert "run `jrn-dagster db upgrade`" in result.stderr


def test_console_script_defaults_to_sqlite_under_dagster_home(tmp_path: Path) -> None:
    """The installed entry point, with no URL: the embedded default under $DAGSTER_HOME."""
    env = {k: v for k, v in os.environ.items() if k != "JRN_DATABASE_URL"}
    env["DAGSTER_HOME"] = str(tmp_path)
    script = Path(sys.executable).parent / "jrn-dagster"
    for args in (["db", "upgrade"], ["space", "add", "docs"], ["space", "list", "--json"]):
        done = subprocess.run(
            [str(script), *args], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    assert '"slug": "docs"' in done.stdout
    assert (tmp_path / "jrn.sqlite").exists()
