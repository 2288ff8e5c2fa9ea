"""Repo coordinates: Go-module style ``host/owner/repo`` names for git repositories."""

import re
from dataclasses import dataclass

from jrn_dagster.domain.errors import InvalidInputError

# docs/contract.md#data-model. Each part is also refused when it could be read as an option
# (leading "-") or as a path step ("." / ".."), because parts end up in URLs and in git's
# command line.
_COORDINATE = re.compile(r"^([a-zA-Z0-9.-]+)/([a-zA-Z0-9._-]+)/([a-zA-Z0-9._-]+)$")
_HOST_LABEL = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_PLACEHOLDERS = ("{host}", "{owner}", "{repo}")

DEFAULT_CLONE_URL_TEMPLATE = "https://{host}/{owner}/{repo}.git"


@dataclass(frozen=True, slots=True)
class RepoCoordinate:
    host: str
    owner: str
    repo: str

    @classmethod
    def parse(cls, text: str) -> "RepoCoordinate":
        match = _COORDINATE.fullmatch(text.strip())
        if not match:
            raise InvalidInputError(
                f"invalid repo coordinate {text!r}: expected host/owner/repo, "
                "e.g. github.com/acme/widgets"
            )
        host, owner, repo = match.groups()
        if not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
            raise InvalidInputError(
                f"invalid repo coordinate {text!r}: {host!r} is not a host name"
            )
        for part in (owner, repo):
            if part in {".", ".."} or part.startswith("-"):
                raise InvalidInputError(
                    f"invalid repo coordinate {text!r}: {part!r} is not a valid owner or repo name"
                )
        return cls(host.lower(), owner, repo)

    def __str__(self) -> str:
        return f"{self.host}/{self.owner}/{self.repo}"

    @property
    def key(self) -> str:
        """Case-insensitive identity: GitHub treats owner and repo names without regard to case."""
        return str(self).lower()

    def clone_url(self, template: str | None = None) -> str:
        """The URL git clones from: HTTPS by default, or a template such as
        ``file:///srv/git/{host}/{owner}/{repo}.git``."""
        template = template or DEFAULT_CLONE_URL_TEMPLATE
        url = template
        for placeholder, value in zip(
            _PLACEHOLDERS, (self.host, self.owner, self.repo), strict=True
        ):
            url = url.replace(placeholder, value)
        return url

    def web_url(self) -> str:
        return f"https://{self.host}/{self.owner}/{self.repo}"

    def compare_url(self, base_sha: str, head_sha: str) -> str:
        return f"{self.web_url()}/compare/{base_sha}...{head_sha}"


def validate_clone_url_template(template: str) -> str:
    """A template must name the repository; anything else would send every source to one URL."""
    if "{repo}" not in template or "{owner}" not in template:
        raise InvalidInputError(
            f"invalid clone URL template {template!r}: it must contain {{owner}} and {{repo}}"
        )
    unknown = set(re.findall(r"{[^}]*}", template)) - set(_PLACEHOLDERS)
    if unknown:
        raise InvalidInputError(
            f"invalid clone URL template {template!r}: unknown placeholder(s) "
            f"{', '.join(sorted(unknown))}; use {{host}}, {{owner}}, {{repo}}"
        )
    return template
