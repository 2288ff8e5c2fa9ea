"""Relative paths of docs and changed files: one spelling for the same file."""

import posixpath

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
