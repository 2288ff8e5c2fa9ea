import click

from jrn_dagster.cli.context import CliContext, echo_json, echo_table, pass_cli


@click.group(help="Git repositories: true sources (with an integration) and virtual ones.")
def source() -> None:
    pass


@source.command("add")
@click.argument("name")
@click.option("--repo", help="Repo coordinate HOST/OWNER/REPO, e.g. github.com/acme/widgets.")
@click.option("--branch", help="Only this branch (default: every branch).")
@click.option("--integration", help="Integration NAME: makes it a true source.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def source_add(
    cli: CliContext,
    name: str,
    repo: str | None,
    branch: str | None,
    integration: str | None,
    as_json: bool,
) -> None:
    """Add source NAME (virtual unless --integration is given)."""
    with cli.unit_of_work() as uow:
        added = uow.sources.add(name, repo=repo, branch=branch, integration=integration)
        uow.commit()
    if as_json:
        echo_json(added)
    else:
        click.echo(f"{added.kind} source {added.name!r} added (id {added.id})")


@source.command("link")
@click.argument("name")
@click.option("--integration", required=True, help="Integration NAME.")
@pass_cli
def source_link(cli: CliContext, name: str, integration: str) -> None:
    """Link source NAME to an integration, making it a true source."""
    with cli.unit_of_work() as uow:
        linked = uow.sources.link(name, integration)
        uow.commit()
    click.echo(f"source {linked.name!r} is now a true source (integration {integration!r})")


@source.command("enable")
@click.argument("name")
@pass_cli
def source_enable(cli: CliContext, name: str) -> None:
    with cli.unit_of_work() as uow:
        uow.sources.set_enabled(name, True)
        uow.commit()
    click.echo(f"source {name!r} enabled")


@source.command("disable")
@click.argument("name")
@pass_cli
def source_disable(cli: CliContext, name: str) -> None:
    with cli.unit_of_work() as uow:
        uow.sources.set_enabled(name, False)
        uow.commit()
    click.echo(f"source {name!r} disabled")


@source.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def source_list(cli: CliContext, as_json: bool) -> None:
    """Sources with their kind (true/virtual), repo, branch and cursor(s)."""
    with cli.unit_of_work() as uow:
        sources = uow.sources.all()
    if as_json:
        echo_json([{**s.model_dump(mode="json"), "kind": s.kind} for s in sources])
        return
    echo_table(
        ["id", "name", "kind", "repo", "branch", "enabled", "cursor"],
        [
            [
                s.id,
                s.name,
                s.kind,
                s.repo or "-",
                s.branch or "*",
                "yes" if s.enabled else "no",
                ", ".join(f"{c.branch}@{c.head_sha[:12]}" for c in s.cursors) or "-",
            ]
            for s in sources
        ],
    )


@source.command("remove")
@click.argument("name")
@pass_cli
def source_remove(cli: CliContext, name: str) -> None:
    """Remove source NAME and its bindings."""
    with cli.unit_of_work() as uow:
        uow.sources.remove(name)
        uow.commit()
    click.echo(f"source {name!r} removed")
