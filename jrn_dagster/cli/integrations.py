import click

from jrn_dagster.cli.context import CliContext, echo_json, echo_table, fail, pass_cli
from jrn_dagster.domain.records import IntegrationKind, IntegrationStatus


@click.group(help="Credentials for git hosts (only env var names are stored).")
def integration() -> None:
    pass


@integration.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in IntegrationKind]), required=True)
@click.option("--host", default="github.com", show_default=True, help="Git host it serves.")
@click.option("--token-env", help="token: env var that holds the token.")
@click.option("--app-id", type=int, help="github_app: the GitHub App id.")
@click.option("--installation-id", type=int, help="github_app: the installation id.")
@click.option("--private-key-env", help="github_app: env var that holds the PEM private key.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def integration_add(
    cli: CliContext,
    name: str,
    kind: str,
    host: str,
    token_env: str | None,
    app_id: int | None,
    installation_id: int | None,
    private_key_env: str | None,
    as_json: bool,
) -> None:
    """Add an integration NAME of kind token or github_app."""
    with cli.unit_of_work() as uow:
        if kind == IntegrationKind.TOKEN:
            if not token_env or app_id or installation_id or private_key_env:
                fail("--kind token takes --token-env (and no GitHub App options)")
            added = uow.integrations.add_token(name, token_env=token_env, host=host)
        else:
            if app_id is None or installation_id is None or not private_key_env or token_env:
                fail(
                    "--kind github_app takes --app-id, --installation-id and --private-key-env "
                    "(and no --token-env)"
                )
            added = uow.integrations.add_github_app(
                name,
                app_id=app_id,
                installation_id=installation_id,
                private_key_env=private_key_env,
                host=host,
            )
        uow.commit()
    if as_json:
        echo_json(added)
    else:
        click.echo(f"integration {added.name!r} added (id {added.id}, {added.kind}, {added.host})")
        if added.status is not IntegrationStatus.ACTIVE:
            state = "deleted" if added.status is IntegrationStatus.REVOKED else "suspended"
            click.echo(
                f"it starts {added.status}: stored GitHub App lifecycle deliveries say "
                f"installation {added.installation_id} is {state} (`jrn-dagster events list`)"
            )


@integration.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def integration_list(cli: CliContext, as_json: bool) -> None:
    with cli.unit_of_work() as uow:
        integrations = uow.integrations.all()
    if as_json:
        echo_json(integrations)
        return
    echo_table(
        ["id", "name", "kind", "host", "status", "credential"],
        [
            [
                i.id,
                i.name,
                i.kind,
                i.host,
                i.status,
                f"${i.token_env}"
                if i.kind == IntegrationKind.TOKEN
                else f"app {i.app_id} / installation {i.installation_id} / ${i.private_key_env}",
            ]
            for i in integrations
        ],
    )


@integration.command("status")
@click.argument("name")
@click.argument("status", type=click.Choice([s.value for s in IntegrationStatus]))
@pass_cli
def integration_status(cli: CliContext, name: str, status: str) -> None:
    """Set the status of integration NAME (only active integrations match events)."""
    with cli.unit_of_work() as uow:
        updated = uow.integrations.set_status(name, IntegrationStatus(status))
        uow.commit()
    click.echo(f"integration {updated.name!r} is {updated.status}")


@integration.command("remove")
@click.argument("name")
@pass_cli
def integration_remove(cli: CliContext, name: str) -> None:
    """Remove integration NAME; its sources stay, as virtual sources."""
    with cli.unit_of_work() as uow:
        uow.integrations.remove(name)
        uow.commit()
    click.echo(f"integration {name!r} removed; its sources are now virtual")
