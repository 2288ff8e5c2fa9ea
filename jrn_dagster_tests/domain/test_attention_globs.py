import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wcmatch import glob

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.globs import (
    MAX_BRACE_EXPANSIONS,
    MatchKind,
    literal_prefix_dir,
    normalize_glob,
    path_pattern,
    validated_path_pattern,
)


def kind(pattern: str, path: str) -> MatchKind | None:
    return validated_path_pattern(pattern).match(path)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        # '*' and '?' never cross '/', and '.' is not "any character"
        ("src/*.ts", "src/fooXts", False),
        ("src/*.ts", "src/foo.ts", True),
        ("src/*.ts", "src/a/foo.ts", False),
        ("src/?.ts", "src/a.ts", True),
        ("src/?.ts", "src/ab.ts", False),
        ("src/?", "src/a/b", False),
        # '**' is zero or more directories
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/a/b/c.md", True),
        ("**/*.md", "docs/a.mdx", False),
        ("src/**/x.py", "src/x.py", True),
        ("src/**", "src/a/b/c", True),
        ("src/**", "srcx/a", False),
        # a pattern without '/' is anchored at the root (no "match base name anywhere")
        ("*.md", "docs/a.md", False),
        ("*.md", "a.md", True),
        # braces
        ("src/{a,b}/*.py", "src/a/x.py", True),
        ("src/{a,b}/*.py", "src/b/y.py", True),
        ("src/{a,b}/*.py", "src/c/x.py", False),
        ("src/{a,b}/*.py", "src/{a,b}/x.py", False),
        ("config/*.{yml,yaml}", "config/app.yaml", True),
        # dotfiles are ordinary files
        ("**", ".github/workflows/ci.yml", True),
        ("**/*.yml", ".github/workflows/ci.yml", True),
        ("src/*", "src/.env", True),
        (".github/**", ".github/CODEOWNERS", True),
        # case-sensitive, like git
        ("src/*.TS", "src/a.ts", False),
        # '[id]' matches itself literally, and is still a character class
        ("pages/[id].tsx", "pages/[id].tsx", True),
        ("pages/[id].tsx", "pages/i.tsx", True),
        ("pages/[id].tsx", "pages/x.tsx", False),
        ("app/[slug]/**", "app/[slug]/page.tsx", True),
        ("app/[slug]/**", "app/s/page.tsx", True),
        ("pages/[...slug].tsx", "pages/[...slug].tsx", True),
        # an escaped bracket is only literal
        ("pages/\\[id\\].tsx", "pages/[id].tsx", True),
        ("pages/\\[id\\].tsx", "pages/i.tsx", False),
        # '(', ')', '+', '@', '!' and '|' are literal (no extglob, no negation)
        ("app/(group)/x.ts", "app/(group)/x.ts", True),
        ("app/(group)/x.ts", "app/group/x.ts", False),
        ("app/(group)/*.ts", "app/(group)/y.ts", True),
        ("a+b/*.ts", "a+b/x.ts", True),
        ("a+b/*.ts", "aab/x.ts", False),
        ("a+b/*.ts", "ab/x.ts", False),
        ("docs/!(a).md", "docs/!(a).md", True),
        ("docs/!(a).md", "docs/b.md", False),
        ("x/@(a|b).ts", "x/@(a|b).ts", True),
        ("x/@(a|b).ts", "x/a.ts", False),
        ("!src/a.py", "!src/a.py", True),
        # escapes
        ("foo\\*.md", "foo*.md", True),
        ("foo\\*.md", "fooX.md", False),
        # normalisation
        ("./src/a.py", "src/a.py", True),
        ("/src/a.py", "src/a.py", True),
        ("src\\a.py", "src/a.py", True),
        ("src//a.py", "src/a.py", True),
        ("docs/", "docs/a/b.md", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert (kind(pattern, path) is not None) is expected


def test_match_kinds() -> None:
    assert kind("src/a.py", "src/a.py") is MatchKind.EXACT
    assert kind("pages/[id].tsx", "pages/[id].tsx") is MatchKind.EXACT
    assert kind("pages/[id].tsx", "pages/d.tsx") is MatchKind.GLOB
    assert kind("src/*.py", "src/a.py") is MatchKind.GLOB


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("./src/a.py", "src/a.py"),
        ("/src/**/", "src/**"),
        ("docs/", "docs/**"),
        ("src\\api\\a.py", "src/api/a.py"),  # Windows separators
        ("src\\api\\*.py", "src/api\\*.py"),  # but '\*' is an escape: a literal '*'
        ("a\\*b", "a\\*b"),
        ("src/./a//b", "src/a/b"),
    ],
)
def test_normalize_glob(raw: str, normalized: str) -> None:
    assert normalize_glob(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("./", "empty"),
        ("../x", "'..'"),
        ("a/../b", "'..'"),
        ("src/{a,b", "unbalanced '{'"),
        ("src/a}", "unbalanced '}'"),
        ("a\x00b", "control characters"),
        ("a\nb", "control characters"),
        ("x" * 1100, "longer than"),
        ("src/{1..1000}/x", f"more than {MAX_BRACE_EXPANSIONS}"),
        ("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", "braces expand"),
    ],
)
def test_invalid_globs_raise_one_line_errors(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid path glob") as caught:
        validated_path_pattern(raw)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_brace_inside_a_bracket_set_is_not_a_brace() -> None:
    # '[{]' is a set holding '{': balanced as far as braces go
    assert kind("a/[{]x", "a/{x") is not None


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("src/a/*.py", "src/a/"),
        ("src/a/b.py", "src/a/"),
        ("**/x", ""),
        ("*.md", ""),
        ("{a,b}/c", ""),
        ("app/[slug]/**", "app/"),
        ("app/\\[slug\\]/**", "app/[slug]/"),
        ("a/b\\*c/d*", "a/b*c/"),
    ],
)
def test_literal_prefix_dir(pattern: str, prefix: str) -> None:
    assert literal_prefix_dir(pattern) == prefix


def test_path_pattern_readings() -> None:
    plain = path_pattern("src/a.py")
    assert (plain.literal, plain.globs) == ("src/a.py", ())
    bracket = path_pattern("pages/[id].tsx")
    assert (bracket.literal, bracket.globs) == ("pages/[id].tsx", ("pages/[id].tsx",))
    both = path_pattern("app/[slug]/*.tsx")
    assert both.literal is None
    assert both.globs == ("app/[slug]/*.tsx", "app/\\[slug\\]/*.tsx")


_SEGMENT_CHARS = string.ascii_letters + string.digits + "._-[](){}+!@,~ *?"
segments = st.text(alphabet=_SEGMENT_CHARS, min_size=1, max_size=8).filter(
    lambda s: s not in {".", ".."}
)
# A whitespace-only pattern is refused as empty, so a file named " " cannot be watched alone.
paths = st.lists(segments, min_size=1, max_size=4).map("/".join).filter(str.strip)


@given(paths)
def test_every_path_matches_its_escaped_self_exactly(path: str) -> None:
    # wcmatch's own escape of a path is a rule that names exactly that path
    compiled = validated_path_pattern(glob.escape(path))
    assert compiled.match(path) is MatchKind.EXACT


@given(paths)
def test_globstar_matches_every_path(path: str) -> None:
    assert kind("**", path) is MatchKind.GLOB


@given(paths, paths)
def test_star_never_crosses_a_slash(directory: str, rest: str) -> None:
    pattern = glob.escape(directory) + "/*"
    nested = f"{directory}/{rest}"
    assert (kind(pattern, nested) is not None) is ("/" not in rest)
