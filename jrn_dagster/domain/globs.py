"""Path globs of attention rules: one spelling, one meaning, matched by wcmatch.

Semantics (docs/attention-rules.md has the user-facing version):

- ``*`` and ``?`` never cross ``/``; ``**`` as a whole segment matches zero or more directories;
  ``{a,b}`` expands; dotfiles are ordinary files; matching is case-sensitive, like git.
- ``(``, ``)``, ``+``, ``@``, ``!`` and ``|`` are literal: extglob and negation are off.
- A bracket expression such as ``[id]`` matches one character of its set *and*, because file
  names like Next.js' ``pages/[id].tsx`` are common, the pattern read with every unescaped ``[``
  and ``]`` literal is tried as well. ``\\[`` forces the literal reading alone.
- ``\\`` before one of ``\\*?[]{}(),!+@|-~`` escapes it (so ``wcmatch.glob.escape(path)`` is
  a valid rule for ``path``); any other ``\\`` is a Windows path separator and becomes ``/``.

No regex is built here by hand: this module only decides which wcmatch patterns a rule stands
for and which literal strings it can be answered by without a regex.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple, Protocol

import bracex
from wcmatch import glob

# wcmatch raises this for too many brace expansions but does not re-export it from `glob`.
from wcmatch._wcparse import PatternLimitException

from jrn_dagster.domain.errors import InvalidInputError

# FORCEUNIX: ``\`` escapes and ``/`` separates whatever the platform; CASE: git paths are
# case-sensitive. Deliberately absent: EXTGLOB (``(``/``+``/``@``/``!`` stay literal), NEGATE,
# MATCHBASE (a pattern without ``/`` is anchored at the repository root, not at any depth).
GLOB_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB | glob.FORCEUNIX | glob.CASE
MAX_GLOB_LENGTH = 1024
MAX_BRACE_EXPANSIONS = 256
# What wcmatch's own ``glob.escape`` escapes, plus ``,``, ``+`` and ``@``.
ESCAPABLE = frozenset("\\*?[]{}(),!+@|-~")
# Unescaped, any of these makes a pattern more than one literal path. ``[`` is handled apart.
_WILDCARDS = frozenset("*?{")
# The longest prefix without an unescaped metacharacter, and the escapes within it.
_LITERAL_RUN = re.compile(r"(?:\\.|[^\\*?\[{])*", re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Unescaped, any of these ends a pattern's literal tail (``]`` and ``}`` close a set or braces).
_TAIL_STOPS = frozenset("*?[]{},")
# What a pattern answered by string tests (StarSegmentMatcher) never contains.
_NOT_STAR_SEGMENT = frozenset("\\[]{},")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")
# Compiled matchers kept per process (~8,400 distinct patterns in B2, a few KiB each).
MATCHER_CACHE_SIZE = 16384


class MatchKind(StrEnum):
    EXACT = "exact"  # the changed path equals the rule's literal reading
    GLOB = "glob"  # a wcmatch pattern of the rule matched the changed path
    RENAME_FROM = "rename_from"  # the pre-rename path of a renamed file matched


class _Token(NamedTuple):  # a tuple: patterns are tokenised by the thousand
    char: str
    escaped: bool

    def source(self) -> str:
        return f"\\{self.char}" if self.escaped else self.char


def _tokens(pattern: str) -> list[_Token]:
    """The pattern as characters, each marked escaped or not (a trailing ``\\`` is literal)."""
    out: list[_Token] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(_Token(pattern[i + 1], escaped=True))
            i += 2
        else:
            out.append(_Token(ch, escaped=False))
            i += 1
    return out


def _render(tokens: list[_Token]) -> str:
    return "".join(token.source() for token in tokens)


def normalize_glob(pattern: str) -> str:
    """The canonical spelling of a rule path: forward slashes, no ``./``, ``/`` or ``//`` steps.

    A trailing ``/`` names a directory and becomes ``/**`` (everything below it), as in
    ``.gitignore``. Raises InvalidInputError with a one-line reason for a pattern that cannot
    be a repository path (empty, ``..`` steps, control characters, unbalanced braces, too long
    or too many brace expansions).
    """
    if _CONTROL.search(pattern):
        raise InvalidInputError(f"invalid path glob {pattern!r}: it contains control characters")
    # No stripping: YAML already trims plain scalars, and a quoted " a.md" may be a real name.
    cleaned = _convert_backslashes(pattern) if "\\" in pattern else pattern
    directory = cleaned.endswith("/")
    parts = [part for part in cleaned.split("/") if part not in {"", "."}]
    if not parts or not cleaned.strip():
        raise InvalidInputError(f"invalid path glob {pattern!r}: it is empty")
    if ".." in parts:
        raise InvalidInputError(f"invalid path glob {pattern!r}: '..' is not allowed")
    if directory and parts[-1] != "**":
        parts.append("**")
    normalized = "/".join(parts)
    if len(normalized) > MAX_GLOB_LENGTH:
        raise InvalidInputError(
            f"invalid path glob {pattern!r}: longer than {MAX_GLOB_LENGTH} characters"
        )
    if "{" in normalized or "}" in normalized:
        _check_braces(pattern, _tokens(normalized))
    return normalized


def _convert_backslashes(pattern: str) -> str:
    converted: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
            if nxt in ESCAPABLE and nxt:
                converted.append(ch + nxt)
                i += 2
                continue
            ch = "/"  # a Windows separator, not an escape
        converted.append(ch)
        i += 1
    return "".join(converted)


def _bracket_end(tokens: list[_Token], start: int) -> int | None:
    """Index of the ``]`` closing the bracket expression opened at ``start``, if it is one."""
    j = start + 1
    if j < len(tokens) and not tokens[j].escaped and tokens[j].char in "!^":
        j += 1
    if j < len(tokens) and not tokens[j].escaped and tokens[j].char == "]":
        j += 1  # a ']' first in the set is a member, not the end
    while j < len(tokens):
        token = tokens[j]
        if token.char == "/":
            return None  # a set never spans a separator: the '[' is literal
        if token.char == "]" and not token.escaped:
            return j
        j += 1
    return None


def _check_braces(original: str, tokens: list[_Token]) -> None:
    depth = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.escaped:
            if token.char == "[":
                end = _bracket_end(tokens, i)
                if end is not None:
                    i = end + 1
                    continue
            elif token.char == "{":
                depth += 1
            elif token.char == "}":
                if depth == 0:
                    raise InvalidInputError(
                        f"invalid path glob {original!r}: unbalanced '}}' "
                        "(escape it as '\\}' to mean the character)"
                    )
                depth -= 1
        i += 1
    if depth:
        raise InvalidInputError(
            f"invalid path glob {original!r}: unbalanced '{{' "
            "(escape it as '\\{' to mean the character)"
        )


def literal_prefix_dir(pattern: str) -> str:
    """The directory every match of ``pattern`` lies under: ``src/a/`` for ``src/a/*.py``.

    It is the unescaped text before the first unescaped metacharacter, cut after its last
    ``/`` (``""`` when the pattern starts with a wildcard). The impact index uses it to test a
    changed file only against globs rooted in one of its ancestor directories.
    """
    literal_run = _LITERAL_RUN.match(pattern)
    text = literal_run.group(0) if literal_run else ""
    if "\\" in text:
        text = _ESCAPED.sub(r"\1", text)
    return text[: text.rfind("/") + 1]


# Unescaped, any of these ends the literal head of a file name (globs.literal_name_head).
_HEAD_STOPS = frozenset("*?[{")
_NAME_HEAD = re.compile(r"[^*?\[{]*")


@lru_cache(maxsize=MATCHER_CACHE_SIZE)
def literal_name_head(pattern: str) -> str:
    """The text the file name (last segment) of every match of ``pattern`` starts with: ``h7``
    for ``src/**/h7*.ts``, ``svc3.proto`` for ``**/svc3.proto``. ``""`` when the last segment
    starts with a wildcard (``*.ts``, ``**``), and whenever a set or braces come before the
    last ``/`` (one of them could hold it: which segment is last is then left undecided)."""
    if "\\" not in pattern:  # the common case: no escapes, plain string tests
        directory, _, name = pattern.rpartition("/")
        if "[" in directory or "{" in directory:
            return ""
        literal = _NAME_HEAD.match(name)
        return literal.group(0) if literal else ""
    tokens = _tokens(pattern)
    last_slash = -1
    for position, token in enumerate(tokens):
        if not token.escaped and token.char == "/":
            last_slash = position
    if any(not t.escaped and t.char in "[{" for t in tokens[: last_slash + 1]):
        return ""
    head: list[str] = []
    for token in tokens[last_slash + 1 :]:
        if not token.escaped and token.char in _HEAD_STOPS:
            break
        head.append(token.char)
    return "".join(head)


@dataclass(frozen=True)
class PathPattern:
    """What one normalised rule path stands for.

    ``literal`` is the single path the pattern names when it has no wildcard (with brackets
    read literally and escapes removed); ``globs`` are the wcmatch patterns that may match
    anything else. A path matches when it equals ``literal`` or matches one of ``globs``.
    """

    pattern: str
    literal: str | None
    globs: tuple[str, ...]

    def match(self, path: str) -> MatchKind | None:
        if self.literal is not None and path == self.literal:
            return MatchKind.EXACT
        if self.globs and self.matcher.match(path):
            return MatchKind.GLOB
        return None

    @property
    def matcher(self) -> "Matcher":
        # Compiling costs ~0.5 ms per pattern (wcmatch parse + re.compile), so it happens only
        # when asked (most rules of a large space are never tested), and once per process; the
        # commonest shapes need no compile at all (``matcher_for``).
        return matcher_for(self.globs)


class Matcher(Protocol):
    def match(self, path: str, /) -> bool: ...


@dataclass(frozen=True, slots=True)
class StarSegmentMatcher:
    """A wcmatch pattern of one of the shapes ``dir/seg``, ``dir/**`` or ``dir/**/seg``, where
    ``dir/`` is literal and ``seg`` a segment of literal text, ``*`` and ``?`` (no sets, braces
    or escapes), answered with string tests. It means what wcmatch makes of the pattern with
    ``GLOB_FLAGS`` (a test compares both on random patterns and paths): ``*`` is any run of
    characters but ``/``, dotfiles included, ``?`` one such character; ``**`` is zero or more
    directories, and ``dir/**`` is everything below ``dir/``; no wildcard matches a ``.`` or
    ``..`` segment."""

    directory: str  # literal, "" or ending in "/"
    any_depth: bool  # a ``**/`` (or a final ``**``) follows the directory
    parts: tuple[str, ...] | None  # seg split on "*"; None: a final ``**`` (anything)

    def match(self, path: str) -> bool:
        if not path.startswith(self.directory):
            return False
        rest = path[len(self.directory) :]
        if "." in rest and _DOT_SEGMENT.search(rest):
            return False
        if self.parts is None:
            return rest != ""
        if self.any_depth:
            rest = rest[rest.rfind("/") + 1 :]
        elif "/" in rest:
            return False
        return _star_match(self.parts, rest)


def _fits(part: str, text: str, at: int) -> bool:
    """``part`` (literal text and ``?``) matches ``text`` at ``at``."""
    if "?" not in part:
        return text.startswith(part, at)
    if at < 0 or at + len(part) > len(text):
        return False
    return all(p in ("?", c) for p, c in zip(part, text[at : at + len(part)], strict=True))


def _star_match(parts: tuple[str, ...], text: str) -> bool:
    first, last = parts[0], parts[-1]
    if len(parts) == 1:
        return len(text) == len(first) and _fits(first, text, 0)
    if len(text) < len(first) + len(last):
        return False
    if not (_fits(first, text, 0) and _fits(last, text, len(text) - len(last))):
        return False
    position, end = len(first), len(text) - len(last)
    for middle in parts[1:-1]:  # leftmost is enough: only "*" lies between fixed-size parts
        if "?" in middle:
            found = next(
                (i for i in range(position, end - len(middle) + 1) if _fits(middle, text, i)), -1
            )
        else:
            found = text.find(middle, position, end)
        if found < 0:
            return False
        position = found + len(middle)
    return True


def star_segment_matcher(pattern: str) -> StarSegmentMatcher | None:
    """The string-test matcher of ``pattern`` when it has one of its shapes, else None. The
    literal directory may hold escapes (``a/\\[id\\]/``, a bracket-literal reading); what
    follows it may not."""
    literal_run = _LITERAL_RUN.match(pattern)
    raw = literal_run.group(0) if literal_run else ""
    rest = pattern[raw.rfind("/") + 1 :]
    if any(ch in _NOT_STAR_SEGMENT for ch in rest):
        return None
    directory = literal_prefix_dir(pattern)
    if rest == "**":
        return StarSegmentMatcher(directory, True, None)
    any_depth = rest.startswith("**/")
    segment = rest[3:] if any_depth else rest
    if not segment or "/" in segment or "**" in segment:
        return None
    return StarSegmentMatcher(directory, any_depth, tuple(segment.split("*")))


@dataclass(frozen=True, slots=True)
class AnyOfMatcher:
    """A pattern whose braces and simple sets expand to a few string-test shapes: it matches
    when one of them does, as wcmatch, which expands braces the same way (``bracex``) and
    matches any of the expansions."""

    alternatives: tuple[StarSegmentMatcher, ...]

    def match(self, path: str) -> bool:
        return any(alternative.match(path) for alternative in self.alternatives)


# A set of plain characters (``[slug]``, ``[12]``): one character of it, so it reads as the
# alternation of its characters. Negation, ranges, classes and escapes keep wcmatch.
_PLAIN_SET = re.compile(r"\[([A-Za-z0-9_]+)\]")
# More alternatives than this and one compiled regex is cheaper than string tests.
MAX_STRING_TEST_ALTERNATIVES = 16


def _expansions(pattern: str) -> list[str] | None:
    """``pattern`` as the patterns wcmatch matches it by, with plain sets written out; None
    when that is more than ``MAX_STRING_TEST_ALTERNATIVES``, or when a ``[`` or ``]`` is not
    part of a plain set (nested or escaped brackets, ranges: left to wcmatch)."""
    pending = [pattern]
    if "{" in pattern:
        try:
            pending = bracex.expand(
                pattern, keep_escapes=True, limit=MAX_BRACE_EXPANSIONS, return_empty=True
            )
        except bracex.ExpansionLimitException:  # validation refuses these; wcmatch decides
            return None
    out: list[str] = []
    while pending:
        if len(out) + len(pending) > MAX_STRING_TEST_ALTERNATIVES:
            return None
        alternative = pending.pop()
        if "[" not in alternative and "]" not in alternative:
            out.append(alternative)
            continue
        rest = _PLAIN_SET.sub("", alternative)
        if "\\" in alternative or "[" in rest or "]" in rest:
            return None
        match = _PLAIN_SET.search(alternative)
        if match is None:  # a lone "[" or "]" outside any set
            return None
        head, tail = alternative[: match.start()], alternative[match.end() :]
        pending.extend(head + char + tail for char in match.group(1))
    return out


@lru_cache(maxsize=MATCHER_CACHE_SIZE)
def matcher_for(patterns: tuple[str, ...]) -> Matcher:
    """A single pattern of a simple shape gets string tests, as does one whose braces and
    plain sets expand to a few simple shapes; anything else wcmatch."""
    if len(patterns) == 1:
        pattern = patterns[0]
        simple = star_segment_matcher(pattern)
        if simple is not None:
            return simple
        if "{" in pattern or "[" in pattern:
            expanded = _expansions(pattern)
            if expanded:
                alternatives = [star_segment_matcher(alternative) for alternative in expanded]
                if all(alternatives):
                    return AnyOfMatcher(tuple(a for a in alternatives if a is not None))
    return compile_globs(patterns)


@lru_cache(maxsize=MATCHER_CACHE_SIZE)
def compile_globs(patterns: tuple[str, ...] | str) -> glob.WcMatcher[str]:
    """The compiled matcher of ``patterns``, kept in a bounded, process-wide LRU: a run, the
    next run of the same process (the in-process executor, a replay's thousand ranges) and
    every doc watching the same glob share one compile."""
    return glob.compile(patterns, flags=GLOB_FLAGS, limit=MAX_BRACE_EXPANSIONS)


def literal_suffix(pattern: str) -> str:
    """The text every match of ``pattern`` ends with: the unescaped literal tail of its last
    segment (``.test.ts`` for ``src/**/*.test.ts``, ``""`` for ``src/**`` or ``*.{yml,yaml}``).
    The impact index tests a changed file against a glob only if the file ends with it."""
    if "\\" not in pattern:  # the common case: no escapes, a plain scan from the end
        start = len(pattern)
        while start > 0 and pattern[start - 1] != "/" and pattern[start - 1] not in _TAIL_STOPS:
            start -= 1
        return pattern[start:]
    tail: list[str] = []
    for token in reversed(_tokens(pattern)):
        if token.char == "/" or (not token.escaped and token.char in _TAIL_STOPS):
            break
        tail.append(token.char)
    return "".join(reversed(tail))


def path_pattern(normalized: str) -> PathPattern:
    """The literal reading and glob readings of an already normalised pattern."""
    if "\\" not in normalized:  # the common case: no escapes, plain string tests
        bracketed = "[" in normalized or "]" in normalized
        if not any(ch in normalized for ch in _WILDCARDS):
            return PathPattern(normalized, normalized, (normalized,) if bracketed else ())
        if not bracketed:
            return PathPattern(normalized, None, (normalized,))
        literal_brackets = normalized.replace("[", "\\[").replace("]", "\\]")
        return PathPattern(normalized, None, (normalized, literal_brackets))
    tokens = _tokens(normalized)
    has_wildcard = any(not t.escaped and t.char in _WILDCARDS for t in tokens)
    has_bracket = any(not t.escaped and t.char in "[]" for t in tokens)
    bracket_literal = [_Token(t.char, True) if t.char in "[]" else t for t in tokens]
    if not has_wildcard:
        literal = "".join(t.char for t in tokens)
        globs = (normalized,) if has_bracket else ()
        return PathPattern(normalized, literal, globs)
    globs = (normalized, _render(bracket_literal)) if has_bracket else (normalized,)
    return PathPattern(normalized, None, globs)


def validated_path_pattern(raw: str) -> PathPattern:
    """Normalise and check a user's glob, including wcmatch's brace-expansion limit."""
    normalized = normalize_glob(raw)
    compiled = path_pattern(normalized)
    if "{" in normalized and _too_many_expansions(compiled.globs):
        raise InvalidInputError(
            f"invalid path glob {raw!r}: braces expand to more than {MAX_BRACE_EXPANSIONS} patterns"
        )
    return compiled


@lru_cache(maxsize=4096)  # docs of a space tend to repeat their brace patterns
def _too_many_expansions(globs: tuple[str, ...]) -> bool:
    try:
        glob.translate(list(globs), flags=GLOB_FLAGS, limit=MAX_BRACE_EXPANSIONS)
    except PatternLimitException:
        return True
    return False


def rule_match_key(normalized: str) -> str:
    """The key a stored rule is looked up by (docs/attention-rules.md#stored-rules): its literal
    path when it has no glob reading, else the literal directory every match lies under (the
    shortest over its glob readings: the bracket-literal reading only extends it). A changed
    file can only match rules keyed by itself or one of its ancestor directories
    (``impact_index.ancestor_prefixes``)."""
    meaning = path_pattern(normalized)
    if meaning.literal is not None and not meaning.globs:
        return meaning.literal
    return min((literal_prefix_dir(variant) for variant in meaning.globs), key=len)
