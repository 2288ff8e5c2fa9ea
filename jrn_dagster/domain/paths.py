"""Relative paths of docs and changed files: one spelling for the same file."""

import posixpath
from collections.abc import Iterable

from jrn_dagster.domain.errors import InvalidInputError

MAX_PATH_LENGTH = 1024


def normalize_relative_path(path: str) -> str:
    """Forward slashes, no leading ``./`` or ``/``, no empty or ``.`` steps.

    ``..`` steps are refused rather than resolved: a doc path must never point outside the
    directory it is written to.
    """
    cleaned = path.replace("\\", "/").strip()
    parts = [part for part in cleaned.split("/") if part not in {"", "."}]
    if not parts:
        raise InvalidInputError(f"invalid path {path!r}: it is empty")
    if ".." in parts:
        raise InvalidInputError(f"invalid path {path!r}: '..' is not allowed")
    if any(ord(ch) < 0x20 for ch in cleaned):
        raise InvalidInputError(f"invalid path {path!r}: it contains control characters")
    normalized = posixpath.join(*parts)
    if len(normalized) > MAX_PATH_LENGTH:
        raise InvalidInputError(f"invalid path: longer than {MAX_PATH_LENGTH} characters")
    return normalized


def parent_directories(path: str) -> list[str]:
    """Every directory above a normalised ``path``: ``a/b/c.md`` -> ``["a", "a/b"]``."""
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts))]


def file_and_directory_clash(path: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that ``path`` cannot live beside in one directory tree: a doc
    named like a directory of ``path`` (``guide`` beside ``guide/intro.md``), or a doc inside a
    directory named ``path``. Every later run would fail writing the two into the sandbox."""
    directories = set(parent_directories(path))
    inside = path + "/"
    return next((o for o in others if o in directories or o.startswith(inside)), None)
