import os
import shlex
import shutil
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape

from jrn_dagster.cli.context import CliContext, pass_cli
from jrn_dagster.demo.env_file import demo_env_path
from jrn_dagster.demo.scenario import EXPECTED_WARNINGS

if TYPE_CHECKING:
    from jrn_dagster.demo.flow import DemoResult

DEFAULT_DAGSTER_HOME = ".dagster_home"
# The root dagster.yaml of a source checkout (absent from an installed wheel).
PROJECT_INSTANCE_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


@click.command("demo")
@pass_cli
def demo(cli: CliContext) -> None:
    """Run the whole flow on the embedded default: a local repository, a true and a virtual
    source, two spaces with docs, a push shaped like GitHub's, the sensor and its runs."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path.cwd() / DEFAULT_DAGSTER_HOME)))
    home.mkdir(parents=True, exist_ok=True)
    _instance_config(home)
    # Dagster loads slowly: import it once the command runs, not for every CLI call.
    from dagster import DagsterInstance

    from jrn_dagster.demo.flow import run_demo

    console = output_console()
    console.print(
        f"[bold]jrn-dagster demo[/] DAGSTER_HOME={escape(str(home))} "
        f"database={escape(cli.database.describe())}"
    )
    with DagsterInstance.get() as instance, console.status("starting...") as status:
        result = run_demo(cli.database, instance, home, status.update)
    _report(console, result, home)
    if not result.success:
        raise SystemExit(1)


def _instance_config(home: Path) -> None:
    """A home without ``dagster.yaml`` gets the project's (as ``make demo`` and ``make dev``
    copy it: queued runs, one run per space, no telemetry) when this is a source checkout;
    Dagster would otherwise warn and fall back to its own defaults."""
    target = home / "dagster.yaml"
    if not target.exists() and PROJECT_INSTANCE_YAML.is_file():
        shutil.copyfile(PROJECT_INSTANCE_YAML, target)


def output_console(file: IO[str] | None = None) -> Console:
    """Rich output that wraps lines only on a terminal. Elsewhere (a pipe, a file, CI logs)
    rich would wrap at 80 columns mid-phrase; lines there are left whole for grep and copy."""
    console = Console(file=file, highlight=False)
    console.soft_wrap = not console.is_terminal
    return console


def _styled(line: str) -> str:
    """A review line (already terminal-safe) in rich markup, diff lines coloured."""
    text = escape(line)
    if line.startswith(("+++", "---", "===")):
        return f"[bold]{text}[/]"
    if line.startswith("+"):
        return f"[green]{text}[/]"
    if line.startswith("-"):
        return f"[red]{text}[/]"
    if line.startswith("@@"):
        return f"[cyan]{text}[/]"
    return text


def _report(console: Console, result: "DemoResult", home: Path) -> None:
    world, push = result.world, result.event.payload
    console.print(
        f"[green]✓[/] repository {world.remote.coordinate} at {escape(str(world.remote.bare))}; "
        "true source 'widgets' and virtual source 'widgets-local' on it; "
        f"spaces {', '.join(world.spaces)}"
    )
    console.print(
        f"[green]✓[/] pushed {push['before'][:12]}..{push['after'][:12]} to main "
        f"(event {result.event.id}, delivery {escape(result.event.delivery_id)})"
    )
    console.print(
        f"[green]✓[/] sensor requested {len(result.requested_spaces)} run(s): "
        f"{', '.join(result.requested_spaces) or 'none'} (the virtual source starts nothing)"
    )
    for space in result.spaces:
        mark = "[green]✓[/]" if space.success else "[red]✗[/]"
        console.print(f"\n{mark} space [bold]{space.space}[/] run {space.run_id} ({space.status})")
        for doc, evidence in space.impacted:
            console.print(f"   impacted {escape(doc)}")
            for line in evidence:
                console.print(f"     - {escape(line)}")
        for warning in space.warnings:
            console.print(f"   [yellow]warning[/] {escape(warning)}")
            doc = warning.split(":", 1)[0]
            if doc in EXPECTED_WARNINGS:
                console.print(f"     ({escape(EXPECTED_WARNINGS[doc])})")
        console.print(f"   changeset {escape(space.changeset or '-')}")
        for line in space.review:
            console.print(f"     {_styled(line)}")
    console.print(
        f"\nsource cursor widgets@main: {result.cursor_before or 'none'} -> "
        f"{result.cursor_after or 'none'}"
    )
    console.print(
        "\nSee the runs, partitions and metadata in the UI, on this same instance (the sensor "
        f"goes on after the demo's events; {escape(str(demo_env_path(home)))} gives its runs "
        "the demo's settings):\n"
        + escape(f"  {dev_command(home)}")
        + "\nReview the proposals: "
        + escape(f"DAGSTER_HOME={shlex.quote(str(home))} .venv/bin/jrn-dagster changesets list"),
        soft_wrap=True,
    )


def dev_command(home: Path) -> str:
    """The command that opens the demo's instance in the UI, from the project root."""
    if home.resolve() == (Path.cwd() / DEFAULT_DAGSTER_HOME).resolve():
        return "make dev"
    return f"make dev DAGSTER_HOME={shlex.quote(str(home.resolve()))}"
