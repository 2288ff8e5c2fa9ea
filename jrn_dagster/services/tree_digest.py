"""What a directory of the sandbox holds, by content: how the pipeline sees what the agent did.

After the agent ran, nothing it could have planted is trusted: not git's index flags
(``assume-unchanged``, ``skip-worktree``), not ``.git/info/exclude``, not a repository config that
would make git run a program (``core.fsmonitor``, filters). So no git command runs in the
checkouts after the agent; instead, every entry of the sandbox is listed and every regular file
hashed with ``find`` and ``sha256sum`` (which read bytes and follow no symlink), before and after,
and the two are compared.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from jrn_dagster.ports.sandbox import MAX_OUTPUT_BYTES, Sandbox, SandboxError

DIGEST_TIMEOUT_SECONDS = 600

# One record per entry, NUL-separated fields: kind, path (relative), size, symlink target.
# `find -P` (the default) never follows a symlink; directories are listed too, so a directory
# replaced by a symlink shows.
_LIST = (
    "cd -- {directory} && find . -mindepth 1 "
    r"\( -type d -printf 'd\0%P\0%s\0\0' \) -o "
    r"\( -type f -printf 'f\0%P\0%s\0\0' \) -o "
    r"\( -type l -printf 'l\0%P\0%s\0%l\0' \) -o "
    r"-printf 'o\0%P\0%s\0\0'"
)
# sha256sum -z: NUL-terminated records, file names written raw (no escaping).
_HASH = "cd -- {directory} && find . -type f -exec sha256sum -z -- {{}} +"
_KINDS = {"d": "directory", "f": "file", "l": "symlink", "o": "other"}

EntryKind = Literal["directory", "file", "symlink", "other"]


class TreeEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: EntryKind
    size: int
    sha256: str | None = None  # regular files
    target: str | None = None  # symlinks


Tree = dict[str, TreeEntry]


def _output(sandbox: Sandbox, template: str, directory: str) -> str:
    # check=False: an entry that cannot be read (mode 000) is listed without a hash, which
    # compares as changed; a missing directory lists as empty.
    result = sandbox.run_script(
        template, {"directory": directory}, timeout=DIGEST_TIMEOUT_SECONDS, check=False
    )
    if len(result.stdout.encode("utf-8", errors="replace")) >= MAX_OUTPUT_BYTES:
        raise SandboxError(
            f"the sandbox holds too many files under {directory} to compare them "
            f"(more than {MAX_OUTPUT_BYTES} bytes of listing)"
        )
    return result.stdout


def digest_tree(sandbox: Sandbox, directory: str = ".") -> Tree:
    """Every entry under ``directory`` (paths relative to it), regular files with their
    SHA-256. Runs as a pipeline command: it reads the files, runs nothing they name."""
    fields = _output(sandbox, _LIST, directory).split("\0")
    tree: Tree = {}
    for start in range(0, len(fields) - 3, 4):
        kind, path, size, target = fields[start : start + 4]
        tree[path] = TreeEntry(
            kind=_KINDS.get(kind, "other"),  # type: ignore[arg-type]
            size=int(size) if size.isdigit() else 0,
            target=target if kind == "l" else None,
        )
    for record in _output(sandbox, _HASH, directory).split("\0"):
        digest, separator, name = record.partition("  ")
        path = name.removeprefix("./")
        entry = tree.get(path)
        if separator and entry is not None and entry.kind == "file":
            tree[path] = entry.model_copy(update={"sha256": digest})
    return tree


def changed_paths(before: Tree, after: Tree, *, ignore: tuple[str, ...] = ()) -> list[str]:
    """Files and symlinks that were added, removed or changed (content, kind, target), except
    those under one of ``ignore`` (paths or directories). Directories alone are not changes."""

    def relevant(path: str, entry: TreeEntry) -> bool:
        return entry.kind != "directory" and not any(
            path == skip or path.startswith(skip + "/") for skip in ignore
        )

    paths = {p for p, e in before.items() if relevant(p, e)}
    paths |= {p for p, e in after.items() if relevant(p, e)}
    return sorted(p for p in paths if before.get(p) != after.get(p))
