"""JRNs: the docs platform's resource names. Events are named by the branch they touched."""

from collections.abc import Callable
from functools import lru_cache

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError

GITHUB_DOT_COM = "github.com"
_SOURCES_PREFIX = "jrn::path:/home/global/sources"
MAX_PATTERN_LENGTH = 1024


def jrn_provider(host: str) -> str:
    """github.com keeps the platform's historical ``github`` segment; any other host (GitHub
    Enterprise Server) is named by its host name."""
    return "github" if host.lower() == GITHUB_DOT_COM else host.lower()


def event_jrn(host: str, owner: str, repo: str, branch: str) -> str:
    """The JRN of a push (docs/contract.md#events-and-jrns), in the docs platform's format.

    The provider segment is ``jrn_provider(host)``; the branch keeps its slashes.
    """
    return f"{_SOURCES_PREFIX}/{jrn_provider(host)}/{owner}/{repo}/{branch}"


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


def validate_binding_pattern(
    pattern: str,
    *,
    coordinate: RepoCoordinate | None = None,
    branch: str | None = None,
    source_name: str | None = None,
) -> str:
    """A binding's pattern: well formed, and able to match at least one event JRN of its source.

    A pattern such as ``not-a-jrn`` is well formed but can never match, so the binding would
    silently never trigger: it is refused, with the shape it should have. When the source's
    repository (and branch) are known, the pattern must also be able to match a push to them.
    Owner and repo compare without regard to case there, as GitHub's names do: the event JRN
    spells them as the push does, which the source's coordinate need not.
    """
    validate_jrn_pattern(pattern)
    if not _can_match(pattern, _EventJrnShape(None, None, None, None)):
        raise InvalidInputError(
            f"invalid JRN pattern {pattern!r}: it can never match an event JRN, which has the "
            f"form {_SOURCES_PREFIX}/PROVIDER/OWNER/REPO/BRANCH ('*' is one segment, '**' any "
            "number), e.g. 'jrn::path:/**/main'"
        )
    if coordinate is None:
        return pattern
    shape = _EventJrnShape(jrn_provider(coordinate.host), coordinate.owner, coordinate.repo, branch)
    if not _can_match(pattern, shape):
        example = event_jrn(coordinate.host, coordinate.owner, coordinate.repo, branch or "BRANCH")
        whose = f"source {source_name!r}" if source_name else "the source"
        raise InvalidInputError(
            f"invalid JRN pattern {pattern!r}: it can never match a push to {whose}, whose "
            f"event JRNs are {example}"
        )
    return pattern


class _EventJrnShape:
    """The event JRNs of a source, as a sequence of segment tests: the fixed prefix, then
    provider, owner, repo and branch (each known or any), the branch possibly with slashes."""

    def __init__(
        self, provider: str | None, owner: str | None, repo: str | None, branch: str | None
    ) -> None:
        any_name: Callable[[str], bool] = bool
        slots: list[Callable[[str], bool]] = [
            *(_equal(segment) for segment in _SOURCES_PREFIX.split("/")),
            _equal(provider) if provider else any_name,
            _equal_folded(owner) if owner else any_name,
            _equal_folded(repo) if repo else any_name,
        ]
        if branch is None:
            slots.append(any_name)
        else:
            slots.extend(_equal(segment) for segment in branch.split("/"))
        self.slots = slots
        # An unknown branch may have any number of further segments ("feature/x/y").
        self.open_ended = branch is None

    def next_states(self, state: int, segment: str | None) -> list[int]:
        """Where the shape can be after consuming one segment from ``state`` (``segment``
        None: any segment at all, as a ``*`` or ``**`` consumes)."""
        if state < len(self.slots):
            accepts = self.slots[state]
            return [state + 1] if segment is None or accepts(segment) else []
        if self.open_ended and (segment is None or segment):
            return [state]
        return []


def _equal(expected: str) -> Callable[[str], bool]:
    return lambda segment: segment == expected


def _equal_folded(expected: str) -> Callable[[str], bool]:
    folded = expected.casefold()
    return lambda segment: segment.casefold() == folded


def _can_match(pattern: str, shape: _EventJrnShape) -> bool:
    """Whether some JRN of ``shape`` matches ``pattern``: a search over (pattern position,
    shape position) pairs, so bounded by their product whatever the number of ``**``."""
    segments = pattern.split("/")
    end = (len(segments), len(shape.slots))
    seen: set[tuple[int, int]] = set()
    pending = [(0, 0)]
    while pending:
        position, state = pending.pop()
        if (position, state) in seen:
            continue
        seen.add((position, state))
        if (position, state) == end:
            return True
        if position == len(segments):
            continue
        segment = segments[position]
        if segment == "**":
            pending.append((position + 1, state))  # zero segments
            pending.extend((position, nxt) for nxt in shape.next_states(state, None))
        else:
            wanted = None if segment == "*" else segment
            pending.extend((position + 1, nxt) for nxt in shape.next_states(state, wanted))
    return False


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
