import click

from jrn_dagster.cli.context import CliContext, echo_json, echo_table, fail, pass_cli
from jrn_dagster.cli.review import styled_diff_line
from jrn_dagster.domain.records import Changeset, ChangesetStatus, Doc
from jrn_dagster.domain.review import (
    commit_lines,
    doc_state,
    evidence_text,
    terminal_safe,
    unified_diff,
)

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
        [
            [c.id, slugs[c.space_id], _status(c), len(c.docs), terminal_safe(c.summary)]
            for c in found
        ],
    )


def _status(changeset: Changeset) -> str:
    if changeset.superseded_by is not None:
        return f"{changeset.status.value} by {changeset.superseded_by}"
    return changeset.status.value


@changesets.command("show")
@click.argument("changeset_id", type=int)
@click.option("--full", is_flag=True, help="Also print each proposed doc's whole body.")
@click.option("--json", "as_json", is_flag=True, help="Structured output (no colour).")
@pass_cli
def changesets_show(cli: CliContext, changeset_id: int, full: bool, as_json: bool) -> None:
    """Review a changeset: the range's commits, then per doc its evidence and a unified diff
    against the doc's CURRENT content (colour on a terminal only)."""
    with cli.unit_of_work() as uow:
        changeset = uow.changesets.get(changeset_id)
        slug = uow.spaces.get(changeset.space_id).slug
        current = {d.path: uow.docs.find(changeset.space_id, d.path) for d in changeset.docs}
    if as_json:
        echo_json(
            {
                **_summary(changeset, slug),
                "commits": [c.model_dump(by_alias=True, mode="json") for c in changeset.commits],
                "docs": [
                    {
                        "path": d.path,
                        "baseVersion": d.base_version,
                        "currentVersion": _version(current[d.path]),
                        "state": doc_state(d, current[d.path]),
                        "evidence": [e.model_dump(by_alias=True, mode="json") for e in d.evidence],
                        "diff": "\n".join(unified_diff(d, current[d.path])),
                        "content": d.proposed_content,
                    }
                    for d in changeset.docs
                ],
            }
        )
        return
    safe = terminal_safe
    click.echo(
        click.style(f"changeset {changeset.id} ({changeset.status.value})", bold=True)
        + f" for space {slug}"
    )
    click.echo(safe(changeset.summary))
    for commits in changeset.commits:
        click.echo()
        for line in commit_lines(commits):
            click.echo(line)
    for doc in changeset.docs:
        click.echo()
        click.echo(
            click.style(f"=== {safe(doc.path)}", bold=True)
            + f" ({doc_state(doc, current[doc.path])}) ==="
        )
        click.echo(
            f"Evidence ({len(doc.evidence)}):" if doc.evidence else "Evidence: none recorded"
        )
        for evidence in doc.evidence:
            click.echo(f"  {evidence_text(evidence)}")
        diff = unified_diff(doc, current[doc.path])
        for line in diff or ["(no change against the current content)"]:
            click.echo(styled_diff_line(line))
        if full:
            click.echo(click.style(f"--- proposed body of {safe(doc.path)} ---", bold=True))
            for line in doc.proposed_content.splitlines():
                click.echo(safe(line))


def _version(doc: Doc | None) -> int | None:
    return doc.version if doc is not None else None


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
