import click

from jrn_dagster.cli.context import CliContext, echo_json, echo_table, fail, pass_cli
from jrn_dagster.domain.records import Changeset, ChangesetStatus

EXIT_CONFLICT = 3


@click.group(help="Review what runs proposed: list, show, apply or reject changesets.")
def changesets() -> None:
    pass


def _summary(changeset: Changeset, slug: str) -> dict[str, object]:
    return {
        "id": changeset.id,
        "space": slug,
        "status": changeset.status.value,
        "supersededBy": changeset.superseded_by,
        "docs": [d.path for d in changeset.docs],
        "summary": changeset.summary,
        "dagsterRunId": changeset.dagster_run_id,
        "createdAt": changeset.created_at.isoformat(),
        "decidedAt": changeset.decided_at.isoformat() if changeset.decided_at else None,
    }


@changesets.command("list")
@click.option("--space", "slug", help="Only this space.")
@click.option(
    "--status", type=click.Choice([s.value for s in ChangesetStatus]), help="Only this status."
)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def changesets_list(cli: CliContext, slug: str | None, status: str | None, as_json: bool) -> None:
    with cli.unit_of_work() as uow:
        space_id = uow.spaces.get_by_slug(slug).id if slug else None
        found = uow.changesets.all(
            space_id=space_id, status=ChangesetStatus(status) if status else None
        )
        slugs = {s.id: s.slug for s in uow.spaces.all()}
    rows = [_summary(c, slugs[c.space_id]) for c in found]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["id", "space", "status", "docs", "summary"],
        [[c.id, slugs[c.space_id], _status(c), len(c.docs), c.summary] for c in found],
    )


def _status(changeset: Changeset) -> str:
    if changeset.superseded_by is not None:
        return f"{changeset.status.value} by {changeset.superseded_by}"
    return changeset.status.value


@changesets.command("show")
@click.argument("changeset_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def changesets_show(cli: CliContext, changeset_id: int, as_json: bool) -> None:
    """Show a changeset with each proposed doc and the version it was computed from."""
    with cli.unit_of_work() as uow:
        changeset = uow.changesets.get(changeset_id)
        slug = uow.spaces.get(changeset.space_id).slug
    if as_json:
        echo_json(
            {
                **_summary(changeset, slug),
                "docs": [
                    {"path": d.path, "baseVersion": d.base_version, "content": d.proposed_content}
                    for d in changeset.docs
                ],
            }
        )
        return
    click.echo(f"changeset {changeset.id} ({changeset.status.value}) for space {slug}")
    click.echo(changeset.summary)
    for doc in changeset.docs:
        base = f"version {doc.base_version}" if doc.base_version else "new doc"
        click.echo(f"\n=== {doc.path} (proposed over {base}) ===")
        click.echo(doc.proposed_content, nl=False)


@changesets.command("apply")
@click.argument("changeset_id", type=int)
@pass_cli
def changesets_apply(cli: CliContext, changeset_id: int) -> None:
    """Write every proposed doc, only if none changed since the proposal (else: exit 3)."""
    with cli.unit_of_work() as uow:
        result = uow.changesets.apply(changeset_id)
        if not result.applied:
            uow.rollback()
            details = "; ".join(f"{path}: {why}" for path, why in sorted(result.conflicts.items()))
            fail(f"changeset {changeset_id} conflicts, nothing written: {details}", EXIT_CONFLICT)
        uow.commit()
    click.echo(f"changeset {changeset_id} applied ({len(result.changeset.docs)} doc(s))")


@changesets.command("reject")
@click.argument("changeset_id", type=int)
@pass_cli
def changesets_reject(cli: CliContext, changeset_id: int) -> None:
    with cli.unit_of_work() as uow:
        uow.changesets.reject(changeset_id)
        uow.commit()
    click.echo(f"changeset {changeset_id} rejected")
