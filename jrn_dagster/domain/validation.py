"""Validators of names, slugs, hosts and relative paths, shared by the repositories and the CLI."""

import posixpath
import re
from collections.abc import Iterable

from jrn_dagster.domain.errors import InvalidInputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)


def validate_name(name: str, what: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"invalid {what} name {name!r}: use up to 200 letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def is_env_var_name(name: str) -> bool:
    """A portable environment variable name: letters, digits and '_', not starting with a digit
    (at most 200 characters)."""
    return _ENV_VAR.fullmatch(name) is not None


def validate_env_var_name(name: str) -> str:
    if not is_env_var_name(name):
        raise InvalidInputError(
            f"invalid environment variable name {name!r}: use letters, digits and '_' "
            "(the secret itself is never stored, only the name of the variable holding it)"
        )
    return name


def validate_host(host: str) -> str:
    if not _HOST.fullmatch(host):
        raise InvalidInputError(f"invalid host {host!r}: expected a host name like github.com")
    return host.lower()


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def validate_slug(slug: str) -> str:
    """Space slugs are Dagster partition keys, so they are immutable and URL-safe."""
    if not _SLUG.fullmatch(slug):
        raise InvalidInputError(
            f"invalid space slug {slug!r}: use 1-63 lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    return slug


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
