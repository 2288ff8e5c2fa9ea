import pytest
from hypothesis import given
from hypothesis import strategies as st

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.jrn import (
    event_jrn,
    jrn_matches,
    validate_binding_pattern,
    validate_jrn_pattern,
)

PREFIX = "jrn::path:/home/global/sources"


def test_event_jrn_for_github_and_enterprise() -> None:
    assert (
        event_jrn("github.com", "acme", "widgets", "main") == f"{PREFIX}/github/acme/widgets/main"
    )
    assert (
        event_jrn("GitHub.com", "acme", "widgets", "feature/x/y")
        == f"{PREFIX}/github/acme/widgets/feature/x/y"
    )
    assert (
        event_jrn("git.corp.example", "acme", "widgets", "main")
        == f"{PREFIX}/git.corp.example/acme/widgets/main"
    )


JRN = f"{PREFIX}/github/acme/widgets/main"
SLASHED = f"{PREFIX}/github/acme/widgets/feature/x/y"


@pytest.mark.parametrize(
    ("pattern", "jrn", "expected"),
    [
        (JRN, JRN, True),  # literal
        (f"{PREFIX}/github/acme/widgets/dev", JRN, False),
        (f"{PREFIX}/github/*/widgets/main", JRN, True),  # * is one segment
        (f"{PREFIX}/github/*/main", JRN, False),  # * never spans two segments
        (f"{PREFIX}/github/acme/widgets/*", SLASHED, False),  # ... not even at the end
        (f"{PREFIX}/github/acme/widgets/**", SLASHED, True),  # ** at the end
        (f"{PREFIX}/github/acme/widgets/**", f"{PREFIX}/github/acme/widgets", True),  # zero
        (f"{PREFIX}/**/main", JRN, True),  # ** in the middle
        (f"{PREFIX}/**/widgets/**/y", SLASHED, True),  # two **, backtracking
        (f"{PREFIX}/**/widgets/**/z", SLASHED, False),
        (f"{PREFIX}/github/acme/widgets/feature/**", SLASHED, True),  # branch with slashes
        (f"{PREFIX}/github/acme/widgets/feature/*", SLASHED, False),
        (f"{PREFIX}/github/acme/widgets/feature/*/y", SLASHED, True),
        ("**", JRN, True),
        ("**/main", JRN, True),
        ("**/**/**/main", JRN, True),
        (f"{PREFIX}/github/acme/*/**/main", JRN, True),
        (f"{PREFIX}/github/acme/*/*/main", JRN, False),
        ("jrn::path:/home/**", JRN, True),
    ],
)
def test_jrn_patterns(pattern: str, jrn: str, expected: bool) -> None:
    assert jrn_matches(pattern, jrn) is expected


@pytest.mark.parametrize("pattern", ["", "   ", "a/b*/c", "a/**x", "a/\x00"])
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid JRN pattern"):
        validate_jrn_pattern(pattern)


def test_many_double_stars_stay_fast() -> None:
    pattern = "/".join(["**"] * 30 + ["x"])
    assert not jrn_matches(pattern, "/".join(["a"] * 200))


def _reference(pattern: list[str], names: list[str]) -> bool:
    """Plain recursive backtracking, the obvious reading of the rules."""
    if not pattern:
        return not names
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_reference(rest, names[i:]) for i in range(len(names) + 1))
    return bool(names) and head in ("*", names[0]) and _reference(rest, names[1:])


segments = st.sampled_from(["a", "b", "main"])


@given(
    st.lists(st.one_of(segments, st.sampled_from(["*", "**"])), min_size=1, max_size=6),
    st.lists(segments, min_size=1, max_size=6),
)
def test_matches_reference_backtracking(pattern: list[str], names: list[str]) -> None:
    assert jrn_matches("/".join(pattern), "/".join(names)) is _reference(pattern, names)


WIDGETS = RepoCoordinate("github.com", "acme", "widgets")


@pytest.mark.parametrize(
    ("pattern", "coordinate", "branch", "problem"),
    [
        ("not-a-jrn", None, None, "can never match an event JRN"),
        ("*/*/*/*/*/*/*", None, None, "can never match an event JRN"),  # one segment short
        (f"{PREFIX}/github/acme/widgets/main/", None, None, "can never match an event JRN"),
        ("jrn::path:/home/global/**/", None, None, "can never match an event JRN"),
        (f"{PREFIX}/gitlab/**", WIDGETS, None, "a push to the source"),  # another provider
        (f"{PREFIX}/github/acme/gadgets/**", WIDGETS, None, "a push to the source"),
        ("jrn::path:/**/dev", WIDGETS, "main", "a push to the source"),
        ("jrn::path:/**/feature/*", WIDGETS, "feature/a/b", "a push to the source"),
        (f"{PREFIX}/github/acme/widgets/*", WIDGETS, "feature/x", "a push to the source"),
    ],
)
def test_binding_patterns_that_can_never_match_are_refused(
    pattern: str, coordinate: RepoCoordinate | None, branch: str | None, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        validate_binding_pattern(pattern, coordinate=coordinate, branch=branch)


@pytest.mark.parametrize(
    ("pattern", "coordinate", "branch"),
    [
        ("**", WIDGETS, "main"),
        ("jrn::path:/**/main", None, None),
        ("jrn::path:/**/release/*", WIDGETS, None),  # any branch: release/x can come
        (f"{PREFIX}/github/ACME/Widgets/main", WIDGETS, "main"),  # GitHub names fold case
        (f"{PREFIX}/github/acme/widgets/feature/**", WIDGETS, "feature/a/b"),
        (f"{PREFIX}/ghe.corp/acme/widgets/**", RepoCoordinate("ghe.corp", "acme", "widgets"), None),
    ],
)
def test_binding_patterns_that_can_match_are_kept(
    pattern: str, coordinate: RepoCoordinate | None, branch: str | None
) -> None:
    assert validate_binding_pattern(pattern, coordinate=coordinate, branch=branch) == pattern


names = st.sampled_from(["acme", "widgets", "main", "dev", "x"])
edits = st.lists(
    st.tuples(st.integers(0, 12), st.sampled_from(["*", "**", "drop", "acme", "dev", "sources"])),
    max_size=4,
)


@given(names, names, st.lists(names, min_size=1, max_size=3).map("/".join), edits)
def test_a_binding_pattern_is_refused_exactly_when_no_push_can_match_it(
    owner: str, repo: str, branch: str, changes: list[tuple[int, str]]
) -> None:
    """With the branch known a source has one event JRN: the pattern is kept if and only if
    it matches it. With any branch, a pattern that matches one of its JRNs is always kept."""
    jrn = event_jrn("github.com", owner, repo, branch)
    segments = jrn.split("/")
    for index, change in changes:
        position = index % len(segments)
        if change == "drop":
            del segments[position]
        else:
            segments[position] = change
        if not segments:
            return
    pattern = "/".join(segments)
    coordinate = RepoCoordinate("github.com", owner, repo)
    matches = jrn_matches(pattern, jrn)

    def kept(source_branch: str | None) -> bool:
        try:
            validate_binding_pattern(pattern, coordinate=coordinate, branch=source_branch)
        except InvalidInputError:
            return False
        return True

    assert kept(branch) is matches
    if matches:
        assert kept(None)
