"""The space's docs in and out of the sandbox."""

import hashlib
import posixpath

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.paths import normalize_relative_path
from jrn_dagster.domain.records import Doc
from jrn_dagster.domain.workspace import DOCS_DIR, ProposedDoc, SyncedDoc, SyncedDocs
from jrn_dagster.resources.sandbox.base import Sandbox


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_docs(sandbox: Sandbox, docs: list[Doc]) -> SyncedDocs:
    """Write every doc under ``DOCS_DIR`` (replacing what was there) and record its version."""
    sandbox.remove(DOCS_DIR)
    for doc in docs:
        sandbox.write_file(posixpath.join(DOCS_DIR, doc.path), doc.content)
    return SyncedDocs(
        docs=[
            SyncedDoc(path=d.path, version=d.version, sha256=sha256_text(d.content)) for d in docs
        ]
    )


def read_proposals(sandbox: Sandbox, synced: SyncedDocs) -> tuple[list[ProposedDoc], list[str]]:
    """Docs whose content in the sandbox differs from what was synced, and paths that cannot be
    proposed (not UTF-8, or not a valid doc path). Deleted docs are not proposed: a changeset
    proposes content, it never deletes documentation."""
    synced_by_path = {doc.path: doc for doc in synced.docs}
    proposals, refused = [], []
    for relative in sandbox.list_files(DOCS_DIR):
        try:
            path = normalize_relative_path(relative)
            content = sandbox.read_file(posixpath.join(DOCS_DIR, relative)).decode("utf-8")
        except (InvalidInputError, UnicodeDecodeError):
            refused.append(relative)
            continue
        before = synced_by_path.get(path)
        if before is not None and before.sha256 == sha256_text(content):
            continue
        proposals.append(
            ProposedDoc(path=path, base_version=before.version if before else None, content=content)
        )
    return proposals, refused
