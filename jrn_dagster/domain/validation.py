"""Small validators shared by the repositories and the CLI."""

import re

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


def validate_env_var_name(name: str) -> str:
    if not _ENV_VAR.fullmatch(name):
        raise InvalidInputError(
            f"invalid environment variable name {name!r}: use letters, digits and '_' "
            "(the secret itself is never stored, only the name of the variable holding it)"
        )
    return name


def validate_host(host: str) -> str:
    if not _HOST.fullmatch(host):
        raise InvalidInputError(f"invalid host {host!r}: expected a host name like github.com")
    return host.lower()
