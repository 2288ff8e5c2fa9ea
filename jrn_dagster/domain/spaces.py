import re

from jrn_dagster.domain.errors import InvalidInputError

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def validate_slug(slug: str) -> str:
    """Space slugs are Dagster partition keys, so they are immutable and URL-safe."""
    if not _SLUG.fullmatch(slug):
        raise InvalidInputError(
            f"invalid space slug {slug!r}: use 1-63 lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    return slug
