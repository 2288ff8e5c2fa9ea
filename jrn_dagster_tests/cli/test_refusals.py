"""Inputs that can never work: one line on stderr, exit 2, nothing written or created."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from jrn_dagster.cli.main import cli
from jrn_dagster_tests.support.cli import cli_json, run_cli


def _refused(result, *expected: str) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    for text in expected:
        assert text in line
    return line


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("notaurl", "'notaurl'"),
        ("postgresql://db.internal:notaport/jrn", "'postgresql://db.internal:notaport/jrn'"),
        # Unparseable but holding a password: the part before '@' is never shown.
        ("postgres//jrn:hunter2-secret@db.internal/jrn", "'***@db.internal/jrn'"),
        (
            "postgresql://jrn:hunter2-secret@db.internal:x/jrn",
            "'postgresql://***@db.internal:x/jrn'",
        ),
    ],
)
def test_a_malformed_database_url_is_named_with_the_expected_form(url: str, shown: str) -> None:
    line = _refused(run_cli(url, "source", "list"), "invalid database URL", shown)
    assert "sqlite:///PATH or postgresql://" in line
    assert "hunter2" not in line


def test_an_unsupported_database_is_refused() -> None:
    _refused(run_cli("mysql://u@h/db", "space", "list"), "unsupported database 'mysql'")


COMMANDS_ON_A_DATABASE = [
    ["source", "list"],
    ["space", "list", "--json"],
    ["integration", "list"],
    ["events", "list"],
    ["events", "show", "1"],
    ["match", "1", "--explain"],
    ["doc", "list", "docs"],
    ["changesets", "list"],
    ["space", "add", "docs"],
    ["source", "add", "widgets", "--repo", "github.com/acme/widgets"],
]


@pytest.mark.parametrize("args", COMMANDS_ON_A_DATABASE, ids=" ".join)
def test_a_missing_sqlite_file_is_not_created(tmp_path: Path, args: list[str]) -> None:
    directory = tmp_path / "not-there"
    url = f"sqlite:///{directory}/jrn.sqlite"
    _refused(run_cli(url, *args), "does not exist", "create it with `jrn-dagster db upgrade`")
    assert list(tmp_path.iterdir()) == []


def test_ingest_and_serve_on_a_missing_sqlite_file_create_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/jrn.sqlite"
    runner = CliRunner(env={"JRN_WEBHOOK_SECRET": "a-webhook-secret-of-enough-length-0123"})
    ingest = runner.invoke(
        cli,
        ["--database-url", url, "events", "ingest", "--event", "ping", "--delivery", "d-1"],
        input="{}",
    )
    # ping is refused on its own terms before the database is looked at
    assert ingest.exit_code == 2
    push = runner.invoke(
        cli,
        ["--database-url", url, "events", "ingest", "--event", "push", "--delivery", "d-2"],
        input='{"ref": "refs/tags/v1", "before": "' + "0" * 40 + '", "after": "' + "1" * 40 + '"'
        ', "repository": {"html_url": "https://github.com/acme/widgets", "name": "widgets", '
        '"owner": {"login": "acme"}, "full_name": "acme/widgets"}}',
    )
    _refused(push, "does not exist")
    serve = runner.invoke(cli, ["--database-url", url, "webhooks", "serve", "--port", "0"])
    _refused(serve, "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_db_status_on_a_missing_sqlite_file_says_so_and_creates_nothing(tmp_path: Path) -> None:
    result = run_cli(f"sqlite:///{tmp_path}/jrn.sqlite", "db", "status")
    assert result.exit_code == 0
    assert "does not exist" in result.stdout and "jrn-dagster db upgrade" in result.stdout
    assert list(tmp_path.iterdir()) == []
    upgraded = run_cli(f"sqlite:///{tmp_path}/jrn.sqlite", "db", "upgrade")
    assert upgraded.exit_code == 0 and (tmp_path / "jrn.sqlite").exists()


def _binding(url: str) -> tuple[bool, str | None]:
    [space] = cli_json(url, "space", "list")
    [binding] = space["bindings"]
    return binding["enabled"], binding["jrn_pattern"]


def test_bind_on_an_existing_binding_changes_only_what_is_given(database_url: str) -> None:
    for args in (
        ["source", "add", "widgets", "--repo", "github.com/acme/widgets", "--branch", "main"],
        ["space", "add", "docs"],
    ):
        assert run_cli(database_url, *args).exit_code == 0
    bind = lambda *options: run_cli(database_url, "space", "bind", "docs", "widgets", *options)  # noqa: E731

    created = bind("--jrn-pattern", "jrn::path:/**/main", "--disabled")
    assert created.stdout.strip() == (
        "space 'docs' bound to source 'widgets' (disabled, pattern 'jrn::path:/**/main')"
    )
    again = bind()  # a plain re-bind changes nothing (it used to re-enable)
    assert again.exit_code == 0
    assert again.stdout.strip().endswith("nothing changed")
    assert _binding(database_url) == (False, "jrn::path:/**/main")

    enabled = bind("--enabled")
    assert enabled.stdout.strip() == "space 'docs' binding to source 'widgets' changed: enabled"
    assert _binding(database_url) == (True, "jrn::path:/**/main")

    changed = bind("--jrn-pattern", "jrn::path:/**/widgets/main")
    assert "pattern 'jrn::path:/**/main' -> 'jrn::path:/**/widgets/main'" in changed.stdout
    assert _binding(database_url) == (True, "jrn::path:/**/widgets/main")

    # the source follows main: a pattern for another branch could never match
    _refused(bind("--jrn-pattern", "jrn::path:/**/dev"), "can never match a push to source")
    assert _binding(database_url) == (True, "jrn::path:/**/widgets/main")

    removed = bind("--no-jrn-pattern", "--disabled")
    assert removed.stdout.strip() == (
        "space 'docs' binding to source 'widgets' changed: disabled; "
        "pattern 'jrn::path:/**/widgets/main' removed"
    )
    assert _binding(database_url) == (False, None)
