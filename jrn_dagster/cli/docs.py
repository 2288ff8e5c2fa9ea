import sys
from typing import BinaryIO

import click

from jrn_dagster.cli.context import CliContext, echo_json, echo_table, fail, pass_cli


@click.group(help="The versioned docs of a space.")
def doc() -> None:
    pass


@doc.command("put")
@click.argument("slug")
@click.argument("path")
@click.argument("file", type=click.File("rb"), required=False)
@pass_cli
def doc_put(cli: CliContext, slug: str, path: str, file: BinaryIO | None) -> None:
    """Write doc PATH of space SLUG from FILE (or stdin). Each change bumps its version."""
    raw = (file or sys.stdin.buffer).read()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"doc {path!r} is not UTF-8 text")
    with cli.unit_of_work() as uow:
        space = uow.spaces.get_by_slug(slug)
        before = uow.docs.find(space.id, path)
        stored = uow.docs.put(space.id, path, content)
        uow.commit()
    if before is not None and before.version == stored.version:
        click.echo(f"{slug}/{stored.path} unchanged (version {stored.version})")
    else:
        click.echo(f"{slug}/{stored.path} written (version {stored.version})")


@doc.command("list")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def doc_list(cli: CliContext, slug: str, as_json: bool) -> None:
    with cli.unit_of_work() as uow:
        docs = uow.docs.all(uow.spaces.get_by_slug(slug).id)
    if as_json:
        echo_json([d.model_dump(mode="json", exclude={"content"}) for d in docs])
        return
    echo_table(
        ["path", "version", "bytes", "updated"],
        [[d.path, d.version, len(d.content.encode()), d.updated_at.isoformat()] for d in docs],
    )


@doc.command("show")
@click.argument("slug")
@click.argument("path")
@pass_cli
def doc_show(cli: CliContext, slug: str, path: str) -> None:
    with cli.unit_of_work() as uow:
        shown = uow.docs.get(uow.spaces.get_by_slug(slug).id, path)
    click.echo(shown.content, nl=False)
