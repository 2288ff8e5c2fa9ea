"""JRNs: the docs platform's resource names. Events are named by the branch they touched."""

from collections.abc import Callable
from functools import lru_cache

from jrn_dagster.domain.errors import InvalidInputError

GITHUB_DOT_COM = "github.com"
_SOURCES_PREFIX = "jrn::path:/home/global/sources"
MAX_PATTERN_LENGTH = 1024


def event_jrn(host: str, owner: str, repo: str, branch: str) -> str:
    """The JRN of a push (DESIGN §3), compatible with the docs platform's current format.

    github.com keeps the platform's historical ``github`` segment; any other host (GitHub
    Enterprise Server) is named by its host name. The branch keeps its slashes.
    """
    provider = "github" if host.lower() == GITHUB_DOT_COM else host.lower()
    return f"{_SOURCES_PREFIX}/{provider}/{owner}/{repo}/{branch}"


def validate_jrn_pattern(pattern: str) -> str:
    if not pattern or not pattern.strip():
        raise InvalidInputError("invalid JRN pattern: it is empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidInputError(f"invalid JRN pattern: longer than {MAX_PATTERN_LENGTH} characters")
    if any(ord(ch) < 0x20 for ch in pattern):
        raise InvalidInputError(f"invalid JRN pattern {pattern!r}: it contains control characters")
    for segment in pattern.split("/"):
        if "*" in segment and segment not in {"*", "**"}:
            raise InvalidInputError(
                f"invalid JRN pattern {pattern!r}: '*' and '**' must be whole segments "
                f"(found {segment!r})"
            )
    return pattern


def jrn_matches(pattern: str, jrn: str) -> bool:
    """Whether ``jrn`` matches ``pattern``, both split on ``/``.

    ``*`` matches exactly one segment, ``**`` zero or more, anything else is literal. Dynamic
    programming over segment positions keeps it linear in pattern x JRN length even for many
    ``**`` (a naive backtracking matcher is exponential).
    """
    return _matcher(pattern)(jrn.split("/"))


@lru_cache(maxsize=4096)
def _matcher(pattern: str) -> Callable[[list[str]], bool]:
    segments = tuple(validate_jrn_pattern(pattern).split("/"))

    def match(names: list[str]) -> bool:
        # reachable[i]: the pattern prefix consumed so far can end just before names[i].
        reachable = [True] + [False] * len(names)
        for segment in segments:
            if segment == "**":
                # Zero or more: once a position is reachable, every later one is too.
                seen = False
                for i in range(len(reachable)):
                    seen = seen or reachable[i]
                    reachable[i] = seen
            else:
                nxt = [False] * len(reachable)
                for i, name in enumerate(names):
                    if reachable[i] and segment in ("*", name):
                        nxt[i + 1] = True
                reachable = nxt
            if not any(reachable):
                return False
        return reachable[-1]

    return match


def parse_event_jrn(jrn: str) -> tuple[str, str, str, str]:
    """(provider, owner, repo, branch) of an event JRN built by ``event_jrn``."""
    prefix = f"{_SOURCES_PREFIX}/"
    if not jrn.startswith(prefix):
        raise InvalidInputError(
            f"invalid event JRN {jrn!r}: expected {prefix}PROVIDER/OWNER/REPO/BRANCH"
        )
    parts = jrn[len(prefix) :].split("/", 3)
    if len(parts) != 4 or not all(parts):
        raise InvalidInputError(
            f"invalid event JRN {jrn!r}: expected {prefix}PROVIDER/OWNER/REPO/BRANCH"
        )
    provider, owner, repo, branch = parts
    return provider, owner, repo, branch
