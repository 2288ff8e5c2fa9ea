"""The files a push changed, read from git's own output.

The impact op runs ``git diff --name-status -z -M <base> <head>`` in the sandbox and hands the
raw output here. ``-z`` is preferred: paths come out verbatim, NUL-separated, so any file name
is safe. The plain form (tab-separated, C-quoted names) is accepted too.

With no reachable base (a new branch, a base lost to a force-push or a shallow clone) every
file of the head tree counts as changed: ``git ls-tree -r --name-only -z <head>`` is parsed by
``changed_files_from_tree`` into ``added`` entries, exactly what a diff against git's empty
tree would say. Over-reporting beats silently skipping a change (docs/contract.md#guarantees,
3); the impact report says so in a warning (``SourceChanges.full_tree_reason``).
"""

from enum import StrEnum
from typing import Literal

from pydantic import Field

from jrn_dagster.domain.base import CamelModel
from jrn_dagster.domain.errors import InvalidInputError


class ChangeStatus(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"
    TYPE_CHANGED = "type_changed"
    UNMERGED = "unmerged"
    UNKNOWN = "unknown"


# git diff --name-status letters (git-diff(1), "--diff-filter"). "B" (broken pair) only shows
# with -B and is a modification; "X" is git's own "unknown".
_STATUS_LETTERS = {
    "A": ChangeStatus.ADDED,
    "M": ChangeStatus.MODIFIED,
    "B": ChangeStatus.MODIFIED,
    "D": ChangeStatus.DELETED,
    "R": ChangeStatus.RENAMED,
    "C": ChangeStatus.COPIED,
    "T": ChangeStatus.TYPE_CHANGED,
    "U": ChangeStatus.UNMERGED,
    "X": ChangeStatus.UNKNOWN,
}
_TWO_PATHS = {ChangeStatus.RENAMED, ChangeStatus.COPIED}


class ChangedFile(CamelModel):
    """One changed path. ``path`` is the file after the change (for a deletion: the deleted
    file); ``old_path`` is the source of a rename or copy; ``similarity`` its git score."""

    path: str = Field(min_length=1)
    status: ChangeStatus
    old_path: str | None = None
    similarity: int | None = Field(default=None, ge=0, le=100)


class SourceRef(CamelModel):
    id: int
    name: str
    kind: Literal["true", "virtual"]
    view_of: int | None = None  # a virtual source: the true source whose checkout it sees


class SourceChanges(CamelModel):
    """What one source contributes to a run: its changed files and the range they cover."""

    source: SourceRef
    files: list[ChangedFile]
    base_sha: str | None = None
    head_sha: str | None = None
    # Set when ``files`` is the whole head tree because no base was reachable: why.
    full_tree_reason: str | None = None
    # What the head was compared with, in words (docs/cursors.md, "Forced pushes").
    comparison: str | None = None


def _decode(output: str | bytes) -> str:
    # Non-UTF-8 names cannot be written in a doc's frontmatter anyway; replacing their bad
    # bytes keeps every entry (it still counts) and keeps the report JSON-serialisable.
    return output.decode("utf-8", errors="replace") if isinstance(output, bytes) else output


def _status(token: str) -> tuple[ChangeStatus, int | None]:
    letter, score = token[:1], token[1:]
    if not letter or (score and not score.isdigit()):
        raise InvalidInputError(f"unexpected git diff status {token!r}")
    status = _STATUS_LETTERS.get(letter, ChangeStatus.UNKNOWN)
    similarity = int(score) if score and status in _TWO_PATHS else None
    if similarity is not None and similarity > 100:
        raise InvalidInputError(f"unexpected git diff status {token!r}: score above 100")
    return status, similarity


def parse_name_status(output: str | bytes) -> list[ChangedFile]:
    """Parse ``git diff --name-status [-z] [-M]`` output, in git's order.

    Raises InvalidInputError (one line) on output that is not name-status output, for
    example a truncated rename entry.
    """
    text = _decode(output)
    if "\0" in text:
        return _parse_fields(text.split("\0"))
    files: list[ChangedFile] = []
    for line in text.splitlines():
        if line.strip():
            fields = line.split("\t")
            files.extend(_parse_fields([fields[0], *(unquote_path(f) for f in fields[1:])], line))
    return files


def _parse_fields(fields: list[str], line: str | None = None) -> list[ChangedFile]:
    files: list[ChangedFile] = []
    i = 0
    while i < len(fields):
        token = fields[i]
        if not token and i == len(fields) - 1:
            break  # the NUL that ends the last -z record
        status, similarity = _status(token)
        needed = 2 if status in _TWO_PATHS else 1
        paths = fields[i + 1 : i + 1 + needed]
        if len(paths) < needed or not all(paths):
            where = f" in line {line!r}" if line is not None else ""
            raise InvalidInputError(
                f"truncated git diff output{where}: status {token!r} needs {needed} path(s)"
            )
        if needed == 2:
            files.append(
                ChangedFile(path=paths[1], status=status, old_path=paths[0], similarity=similarity)
            )
        else:
            files.append(ChangedFile(path=paths[0], status=status))
        i += 1 + needed
        if line is not None and i != len(fields):
            raise InvalidInputError(f"unexpected fields in git diff output line {line!r}")
    return files


def changed_files_from_tree(output: str | bytes) -> list[ChangedFile]:
    """Every path of ``git ls-tree -r --name-only [-z] <head>`` as an ``added`` file.

    The fallback when a source has no reachable base: see the module docstring.
    """
    text = _decode(output)
    names = text.split("\0") if "\0" in text else [unquote_path(line) for line in text.splitlines()]
    return [ChangedFile(path=name, status=ChangeStatus.ADDED) for name in names if name]


_C_ESCAPES = {
    "a": 0x07,
    "b": 0x08,
    "t": 0x09,
    "n": 0x0A,
    "v": 0x0B,
    "f": 0x0C,
    "r": 0x0D,
    '"': 0x22,
    "\\": 0x5C,
}


def unquote_path(field: str) -> str:
    """Undo git's C-style quoting of unusual paths (``core.quotePath``) in non -z output; a
    path that is not quoted comes back as it is."""
    if len(field) < 2 or not (field.startswith('"') and field.endswith('"')):
        return field
    body = field[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.extend(ch.encode("utf-8"))
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        octal = body[i + 1 : i + 4]
        if len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(int(octal, 8) & 0xFF)
            i += 4
        elif nxt in _C_ESCAPES:
            out.append(_C_ESCAPES[nxt])
            i += 2
        else:
            raise InvalidInputError(f"malformed quoted path in git output: {field!r}")
    return out.decode("utf-8", errors="replace")
