"""Small helpers the ops share: run tags, sandbox access, redacted metadata."""

from typing import Any

from dagster import (
    Failure,
    MarkdownMetadataValue,
    MetadataValue,
    OpExecutionContext,
    TextMetadataValue,
)

from jrn_dagster import tags
from jrn_dagster.domain.steps import Checkouts, SyncedDocs
from jrn_dagster.redaction import redact, redact_value
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repository_access import RepositoryAccessResource
from jrn_dagster.resources.sandbox.base import Sandbox
from jrn_dagster.resources.sandbox.errors import SandboxGoneError
from jrn_dagster.resources.sandbox.resource import SandboxResource
from jrn_dagster.services.workspace import restore_workspace


def space_slug(context: OpExecutionContext) -> str:
    if not context.has_partition_key:
        raise Failure(
            description="cli_impact runs per space: launch it for a partition (a space slug)",
            allow_retries=False,
        )
    return context.partition_key


def event_ids(context: OpExecutionContext) -> list[int]:
    return tags.event_ids_of(context.run_tags)


def label_mode(context: OpExecutionContext, mode: str) -> None:
    """Tag the run ``jrn/mode`` once its mode is known: UI launches and backfills carry no tag
    saying they catch up (partition tags apply to every run, sensor runs included)."""
    if context.has_tag(tags.MODE):
        return
    run = context.instance.get_run_by_id(context.run_id)
    if run is not None:  # None when the op is invoked directly, outside a run
        context.instance.add_run_tags(context.run_id, {tags.MODE: mode})


def sandbox_of(
    context: OpExecutionContext,
    sandboxes: SandboxResource,
    workspace: Checkouts,
    *,
    database: DatabaseResource,
    access: RepositoryAccessResource,
    synced: SyncedDocs | None = None,
) -> Sandbox:
    """The sandbox ``clone`` prepared. When it is gone — the step is re-executed in a new run
    ("re-execute from failure") and the first run released its sandbox — this run gets its own,
    rebuilt from the step's inputs: same checkouts at the same heads, same doc versions."""
    if workspace.sandbox_id is None:
        raise Failure(description="this run has no sandbox", allow_retries=False)
    try:
        return sandboxes.attach(workspace.sandbox_id)
    except SandboxGoneError:
        context.log.info(
            f"sandbox {workspace.sandbox_id} of the first attempt is gone: rebuilding it"
        )
    sandbox = sandboxes.open(context.run_id)
    restore_workspace(sandbox, database.database, access, workspace, synced)
    return sandbox


def _redacted(value: Any) -> Any:
    if isinstance(value, MarkdownMetadataValue):
        return MetadataValue.md(redact(value.md_str or ""))
    if isinstance(value, TextMetadataValue):
        return MetadataValue.text(redact(value.text or ""))
    return redact_value(value)


def add_metadata(context: OpExecutionContext, metadata: dict[str, Any]) -> None:
    """Every value goes through redaction before it reaches the event log."""
    context.add_output_metadata({key: _redacted(value) for key, value in metadata.items()})
