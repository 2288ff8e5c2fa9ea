"""Branch names and commit ids, checked before any of them reaches git or a URL."""

import re
from collections.abc import Callable

from jrn_dagster.domain.errors import InvalidInputError

ZERO_SHA = "0" * 40
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
MAX_BRANCH_LENGTH = 255


def _component_problem(name: str) -> str | None:
    for component in name.split("/"):
        if not component:
            return "it has an empty path component (leading, trailing or double '/')"
        if component.startswith("."):
            return "a path component starts with '.'"
        if component.endswith(".lock"):
            return "a path component ends with '.lock'"
    return None


# (is it broken?, why) in the order git reports them; each predicate gets a non-empty name.
_BRANCH_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda n: len(n) > MAX_BRANCH_LENGTH, f"it is longer than {MAX_BRANCH_LENGTH} characters"),
    (lambda n: n.startswith("-"), "it starts with '-'"),
    (lambda n: n == "@", "'@' alone is not allowed"),
    (
        lambda n: bool(_FORBIDDEN_CHARS.search(n)),
        "it contains a space, a control character or one of ~ ^ : ? * [ \\",
    ),
    (lambda n: ".." in n, "it contains '..'"),
    (lambda n: "@{" in n, "it contains '@{'"),
    (lambda n: n.endswith("."), "it ends with '.'"),
)


def branch_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid branch name (``git check-ref-format refs/heads/<name>``).

    Git's rules, applied to ``refs/heads/<name>``: no control characters, spaces or ``~^:?*[\\``;
    no ``..`` or ``@{``; no component that starts with ``.`` or ends with ``.lock``; no empty
    component; no trailing ``.``; not ``@`` alone. On top, a leading ``-`` is refused (git's
    branch command refuses it too, and it could be read as an option). None when it is valid.
    """
    if not name:
        return "it is empty"
    for broken, why in _BRANCH_RULES:
        if broken(name):
            return why
    return _component_problem(name)


def validate_branch(name: str) -> str:
    problem = branch_name_problem(name)
    if problem:
        raise InvalidInputError(f"invalid branch name {name!r}: {problem}")
    return name


def validate_source_branch(name: str) -> str:
    """The branch a source follows: a branch *name*. A full ref such as ``refs/heads/main`` is
    a valid branch name for git (it would be ``refs/heads/refs/heads/main``) but is never what
    was meant, and such a source never matches a push: it is refused with the name to give."""
    if name.startswith("refs/"):
        if name.startswith("refs/heads/") and len(name) > len("refs/heads/"):
            hint = f"give the branch name: --branch {name.removeprefix('refs/heads/')}"
        else:
            hint = "sources follow branches (tag pushes start nothing)"
        raise InvalidInputError(f"invalid branch {name!r}: it is a full ref name; {hint}")
    return validate_branch(name)


def is_sha(value: str) -> bool:
    return bool(_SHA.fullmatch(value))


def validate_sha(value: str, what: str = "commit SHA") -> str:
    if not is_sha(value):
        raise InvalidInputError(
            f"invalid {what} {value!r}: expected 40 (or 64) lowercase hex digits"
        )
    return value


def is_zero_sha(value: str | None) -> bool:
    return value is None or (bool(value) and set(value) == {"0"})
