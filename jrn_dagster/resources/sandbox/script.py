"""Shell scripts with values interpolated safely: every value is shell-quoted, always."""

import shlex
import string
from collections.abc import Mapping

from jrn_dagster.domain.errors import InvalidInputError


def render_script(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``shlex.quote(values[name])``.

    Only bare names are accepted: a positional ``{}``, an attribute or index (``{a.b}``,
    ``{a[0]}``), a conversion or a format spec would bypass the quoting, and an unknown name is
    a bug in the caller. Literal braces are written ``{{`` and ``}}``.
    """
    parts: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise InvalidInputError(f"invalid script template: {error}") from None
    for literal, field, spec, conversion in parsed:
        parts.append(literal)
        if field is None:
            continue
        if not field.isidentifier():
            raise InvalidInputError(
                f"invalid script placeholder {{{field}}}: use a plain name such as {{path}}"
            )
        if spec or conversion:
            raise InvalidInputError(
                f"invalid script placeholder {{{field}}}: format specs and conversions "
                "are not allowed (every value is shell-quoted as it is)"
            )
        if field not in values:
            raise InvalidInputError(
                f"unknown script placeholder {{{field}}}: known names are "
                f"{', '.join(sorted(values)) or '(none)'}"
            )
        value = values[field]
        if not isinstance(value, str):
            raise InvalidInputError(f"script value {field!r} must be a string")
        parts.append(shlex.quote(value))
    return "".join(parts)
