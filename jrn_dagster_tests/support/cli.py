import json
from typing import Any

from click.testing import CliRunner, Result

from jrn_dagster.cli.main import cli


def run_cli(
    database_url: str, *args: str, input: str | bytes | None = None, color: bool = False
) -> Result:
    """Invoke ``jrn-dagster`` in process against ``database_url``; ``color``: as on a
    terminal (click keeps the ANSI styles it would strip from a pipe)."""
    runner = CliRunner()
    return runner.invoke(
        cli,
        ["--database-url", database_url, *args],
        input=input,
        catch_exceptions=False,
        color=color,
    )


def cli_json(database_url: str, *args: str) -> Any:
    result = run_cli(database_url, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
