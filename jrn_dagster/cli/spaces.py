from contextlib import ExitStack
from dataclasses import asdict

import click

from jrn_dagster.cli.context import (
    DAGSTER_HOME_ENV,
    CliContext,
    configured_dagster_home,
    dagster_instance,
    echo_json,
    echo_table,
    fail,
    instance_failures,
    note,
    pass_cli,
)
from jrn_dagster.domain.records import Binding


@click.group(help="Doc spaces and the sources bound to them.")
def space() -> None:
    pass


@space.command("add")
@click.argument("slug")
@click.option("--name", help="Display name (default: the slug).")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def space_add(cli: CliContext, slug: str, name: str | None, as_json: bool) -> None:
    """Add space SLUG (the slug is immutable: it is the Dagster partition key).

    With a Dagster instance configured ($DAGSTER_HOME holding a dagster.yaml), the space's
    partition is added there in the same step: if that fails, the space is not added either.
    """
    home = configured_dagster_home()
    with ExitStack() as stack:
        # Opened first: the space's transaction does not wait on the instance to start.
        instance = stack.enter_context(dagster_instance(home)) if home else None
        with cli.unit_of_work() as uow:
            added = uow.spaces.add(slug, name=name)
            partition_added = False
            if instance is not None:
                from jrn_dagster.jobs import add_space_partition

                with instance_failures(home):
                    partition_added = add_space_partition(instance, added.slug)
            uow.commit()
    if as_json:
        echo_json(added)
    else:
        click.echo(f"space {added.slug!r} added (id {added.id})")
    if home is None:
        note(
            f"no Dagster instance is configured ({DAGSTER_HOME_ENV} with a dagster.yaml): "
            f"partition {added.slug!r} is added when a push first matches the space, or by "
            "`jrn-dagster space sync-partitions`"
        )
    else:
        state = "added to" if partition_added else "already on"
        note(f"partition {added.slug!r} {state} the Dagster instance in {home}")


@space.command("archive")
@click.argument("slug")
@pass_cli
def space_archive(cli: CliContext, slug: str) -> None:
    """Archive space SLUG: it no longer receives runs.

    Its partition and run history stay; a launch or backfill of it ends at once, skipped.
    """
    with cli.unit_of_work() as uow:
        uow.spaces.archive(slug)
        uow.commit()
    click.echo(
        f"space {slug!r} archived: its partition and run history stay; launches and backfills "
        "of it end at once, skipped"
    )


@space.command("sync-partitions")
@click.option(
    "--prune",
    is_flag=True,
    help="Also delete partitions of no space (their runs stay in Dagster's history).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def space_sync_partitions(cli: CliContext, prune: bool, as_json: bool) -> None:
    """Give every space its partition on the Dagster instance ($DAGSTER_HOME), e.g. after the
    application database was restored; report (or --prune) partitions of no space."""
    home = configured_dagster_home()
    if home is None:
        fail(
            f"no Dagster instance is configured: set {DAGSTER_HOME_ENV} to the directory "
            "holding the instance's dagster.yaml"
        )
    with cli.unit_of_work() as uow:
        slugs = [s.slug for s in uow.spaces.all()]
    from jrn_dagster.jobs import sync_space_partitions

    with dagster_instance(home) as instance, instance_failures(home):
        synced = sync_space_partitions(instance, slugs, prune=prune)
    if as_json:
        echo_json({"instance": str(home), **asdict(synced)})
        return
    click.echo(
        f"partitions of the Dagster instance in {home}: {len(synced.added)} added"
        f"{_listed(synced.added)}, {len(synced.present)} already there"
    )
    if synced.deleted:
        click.echo(
            f"deleted {len(synced.deleted)} partition(s) of no space{_listed(synced.deleted)}"
        )
    elif synced.unknown:
        click.echo(
            f"{len(synced.unknown)} partition(s) of no space kept{_listed(synced.unknown)} "
            "(--prune deletes them)"
        )


def _listed(slugs: list[str]) -> str:
    return f": {', '.join(slugs)}" if slugs else ""


@space.command("bind")
@click.argument("slug")
@click.argument("source")
@click.option(
    "--jrn-pattern",
    help="Only events whose JRN matches ('*' one segment, '**' any), e.g. 'jrn::path:/**/main'.",
)
@click.option("--no-jrn-pattern", is_flag=True, help="Remove the binding's pattern.")
@click.option(
    "--enabled/--disabled",
    default=None,
    help="Trigger runs or not (a new binding is enabled; an existing one keeps its state).",
)
@pass_cli
def space_bind(
    cli: CliContext,
    slug: str,
    source: str,
    jrn_pattern: str | None,
    no_jrn_pattern: bool,
    enabled: bool | None,
) -> None:
    """Bind SOURCE to space SLUG. On an existing binding only what is given changes."""
    with cli.unit_of_work() as uow:
        before = uow.spaces.find_binding(slug, source)
        after = uow.spaces.bind(
            slug, source, jrn_pattern=jrn_pattern, clear_pattern=no_jrn_pattern, enabled=enabled
        )
        uow.commit()
    if before is None:
        click.echo(f"space {slug!r} bound to source {source!r} ({_describe_binding(after)})")
        return
    changes = _binding_changes(before, after)
    if changes:
        click.echo(f"space {slug!r} binding to source {source!r} changed: {'; '.join(changes)}")
    else:
        click.echo(
            f"space {slug!r} is already bound to source {source!r} "
            f"({_describe_binding(after)}): nothing changed"
        )


def _describe_binding(binding: Binding) -> str:
    state = "enabled" if binding.enabled else "disabled"
    return state + (f", pattern {binding.jrn_pattern!r}" if binding.jrn_pattern else "")


def _binding_changes(before: Binding, after: Binding) -> list[str]:
    changes = []
    if before.enabled != after.enabled:
        changes.append("enabled" if after.enabled else "disabled")
    if before.jrn_pattern != after.jrn_pattern:
        if after.jrn_pattern is None:
            changes.append(f"pattern {before.jrn_pattern!r} removed")
        elif before.jrn_pattern is None:
            changes.append(f"pattern {after.jrn_pattern!r} set")
        else:
            changes.append(f"pattern {before.jrn_pattern!r} -> {after.jrn_pattern!r}")
    return changes


@space.command("unbind")
@click.argument("slug")
@click.argument("source")
@pass_cli
def space_unbind(cli: CliContext, slug: str, source: str) -> None:
    with cli.unit_of_work() as uow:
        uow.spaces.unbind(slug, source)
        uow.commit()
    click.echo(f"space {slug!r} unbound from source {source!r}")


@space.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def space_list(cli: CliContext, as_json: bool) -> None:
    """Spaces with their bindings."""
    with cli.unit_of_work() as uow:
        spaces = uow.spaces.all()
    if as_json:
        echo_json(spaces)
        return
    echo_table(
        ["id", "slug", "name", "archived", "bindings"],
        [
            [
                s.id,
                s.slug,
                s.name,
                "yes" if s.archived else "no",
                ", ".join(
                    b.source_name
                    + ("" if b.enabled else " (disabled)")
                    + (f" [{b.jrn_pattern}]" if b.jrn_pattern else "")
                    for b in s.bindings
                )
                or "-",
            ]
            for s in spaces
        ],
    )
