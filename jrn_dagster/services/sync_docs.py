"""The space's docs in and out of the sandbox."""

import posixpath

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.steps import DOCS_DIR, Checkouts, ProposedDoc, SyncedDoc, SyncedDocs
from jrn_dagster.domain.validation import normalize_relative_path
from jrn_dagster.ports.sandbox import Sandbox
from jrn_dagster.services.tree_digest import Tree, TreeEntry

# What one run may propose. A doc is markdown; more than this is a runaway agent.
MAX_PROPOSED_DOC_BYTES = 1024 * 1024
MAX_PROPOSED_DOCS = 500
MAX_PROPOSED_TOTAL_BYTES = 16 * 1024 * 1024


class ProposalLimitError(InvalidInputError):
    """The agent's proposals pass a limit; the message names it."""


def sync_space_docs(database: Database, sandbox: Sandbox, checkouts: Checkouts) -> SyncedDocs:
    """The ``sync_docs`` step: the version and content hash of every doc of the space, read in
    one transaction without their content. Nothing is written into the sandbox yet (its docs
    directory is emptied): the agent step writes the docs it works on, at these versions
    (``write_docs``; docs/architecture.md#what-the-ops-hand-to-each-other)."""
    with database.unit_of_work() as uow:
        versions = uow.docs.versions(checkouts.plan.space_id)
    sandbox.remove(DOCS_DIR)
    return SyncedDocs(
        docs=[
            SyncedDoc(path=doc.path, version=doc.version, sha256=doc.content_sha256)
            for doc in versions
        ]
    )


def write_docs(
    database: Database, sandbox: Sandbox, space_id: int, synced: SyncedDocs, paths: list[str]
) -> list[str]:
    """Write the docs of ``paths`` under ``DOCS_DIR`` at their synced versions; the paths left
    out, each with why: a doc changed (or deleted) since ``sync_docs`` read its version cannot
    be written as it was then, and a proposal based on it would only conflict."""
    with database.unit_of_work() as uow:
        current = {doc.path: doc for doc in uow.docs.with_paths(space_id, paths)}
    versions = {doc.path: doc.version for doc in synced.docs}
    skipped = []
    for path in sorted(set(paths)):
        synced_version = versions.get(path)
        doc = current.get(path)
        if synced_version is None:
            skipped.append(f"{path} (not in this run's docs)")
        elif doc is None:
            skipped.append(f"{path} (deleted since version {synced_version})")
        elif doc.version != synced_version:
            skipped.append(f"{path} (changed since version {synced_version}: now {doc.version})")
        else:
            sandbox.write_file(posixpath.join(DOCS_DIR, path), doc.content)
    return skipped


def _candidates(
    synced: SyncedDocs, tree: Tree
) -> tuple[list[tuple[str, TreeEntry, SyncedDoc | None]], list[str]]:
    """(doc path, entry, what was synced) for every file of the docs directory whose content
    differs from what was synced; and the refused paths (symlinks, special files, bad names)."""
    docs_dir = tree.get(DOCS_DIR)
    if docs_dir is not None and docs_dir.kind != "directory":
        return [], [DOCS_DIR]  # replaced by a symlink or a file: nothing in it is read
    synced_by_path = {doc.path: doc for doc in synced.docs}
    prefix = DOCS_DIR + "/"
    changed, refused = [], []
    for full, entry in sorted(tree.items()):
        if not full.startswith(prefix) or entry.kind == "directory":
            continue
        try:
            path = normalize_relative_path(full.removeprefix(prefix))
        except InvalidInputError:
            refused.append(full)
            continue
        if "\ufffd" in path:  # a name that is not UTF-8: it could not be read back by name
            refused.append(full)
            continue
        if entry.kind != "file" or entry.sha256 is None:
            refused.append(full)  # a symlink could point anywhere; a FIFO would block a read
            continue
        before = synced_by_path.get(path)
        if before is None or before.sha256 != entry.sha256:
            changed.append((path, entry, before))
    return changed, refused


def _check_doc_size(path: str, size: int) -> None:
    if size > MAX_PROPOSED_DOC_BYTES:
        raise ProposalLimitError(
            f"the agent left {DOCS_DIR}/{path} at {size:,} bytes: over the limit of "
            f"{MAX_PROPOSED_DOC_BYTES:,} bytes per proposed doc; nothing was proposed"
        )


def _check_limits(changed: list[tuple[str, TreeEntry, SyncedDoc | None]]) -> None:
    if len(changed) > MAX_PROPOSED_DOCS:
        raise ProposalLimitError(
            f"the agent changed {len(changed)} docs: over the limit of {MAX_PROPOSED_DOCS} "
            "proposed docs per run; nothing was proposed"
        )
    for path, entry, _ in changed:
        _check_doc_size(path, entry.size)
    total = sum(entry.size for _, entry, _ in changed)
    if total > MAX_PROPOSED_TOTAL_BYTES:
        raise ProposalLimitError(
            f"the agent's proposals add up to {total:,} bytes: over the limit of "
            f"{MAX_PROPOSED_TOTAL_BYTES:,} bytes per run; nothing was proposed"
        )


def read_proposals(
    sandbox: Sandbox, synced: SyncedDocs, tree: Tree
) -> tuple[list[ProposedDoc], list[str]]:
    """Docs whose content in the sandbox differs from what was synced, and the paths that cannot
    be proposed (symlinks and special files, names that are not doc paths, text that is not
    UTF-8), as paths relative to the sandbox root. ``tree`` is ``digest_tree`` of the sandbox
    root, taken after the agent. Deleted docs are not proposed: a changeset proposes content, it
    never deletes documentation. Raises ``ProposalLimitError`` when a limit is passed."""
    changed, refused = _candidates(synced, tree)
    _check_limits(changed)
    proposals = []
    for path, _, before in changed:
        data = sandbox.read_file(posixpath.join(DOCS_DIR, path))
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            refused.append(f"{DOCS_DIR}/{path}")
            continue
        _check_doc_size(path, len(data))  # it may have grown since it was listed (E2B)
        proposals.append(
            ProposedDoc(path=path, base_version=before.version if before else None, content=content)
        )
    return proposals, sorted(refused)
