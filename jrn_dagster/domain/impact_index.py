"""The attention index: every rule of a space, built once per run, queried once per changed file.

Testing each rule against each changed file costs rules x files glob matches (B2: 50,000 x
10,000). The index avoids nearly all of them:

- a pattern with no wildcard is a literal path: a dict lookup answers it;
- every wcmatch pattern is filed under its literal directory prefix (``src/api/`` for
  ``src/api/**/*.py``), so a changed file is tested only against the patterns filed under one
  of its ancestor directories or the root;
- within a directory, globs are grouped by the extension of their literal suffix, and a
  file is tested only against globs whose suffix it ends with (``*.py`` never sees ``a.ts``);
- within an extension, globs are grouped by the literal head of their file name, and a file
  is tested only against heads its name starts with (``h7*.ts`` never sees ``h12.ts``,
  ``**/svc3.proto`` never sees ``svc4.proto``);
- identical patterns (many docs watching ``src/api/**``) are compiled and tested once; each
  compile happens on first use only and is kept in a bounded per-process LRU
  (``globs.compile_globs``), so the next run of the process reuses it;
- the rules of one pattern are held as bundles (same pattern text and keywords), which fire
  together: the report builds one evidence object per distinct line, shared by its docs.

The result is by construction the same as the naive loop (a property test checks it):
``PathPattern.match`` decides what a rule means, the index only decides what to skip.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from jrn_dagster.domain.attention import AttentionRule
from jrn_dagster.domain.globs import (
    MATCHER_CACHE_SIZE,
    Matcher,
    MatchKind,
    literal_name_head,
    literal_prefix_dir,
    literal_suffix,
    matcher_for,
    path_pattern,
)


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: cheap, and each rule is one
class IndexedRule:
    """A rule of one doc, resolved to the source whose changes it watches."""

    doc_index: int
    rule: AttentionRule
    source_name: str


RuleBundles = dict[tuple[str, tuple[str, ...]], list[IndexedRule]]
"""Rules the index holds together, by (pattern text, keywords): a bundle fires as one, with one
evidence object for all its docs (many docs watch the same glob)."""


@lru_cache(maxsize=MATCHER_CACHE_SIZE)
def _placement(path: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """Where the index files a rule path: its literal reading, and each glob reading with the
    literal directory it lies under."""
    meaning = path_pattern(path)
    return meaning.literal, tuple((literal_prefix_dir(v), v) for v in meaning.globs)


@dataclass(slots=True, eq=False)
class _GlobEntry:
    variant: str  # a single wcmatch pattern
    suffix: str  # what every match ends with (globs.literal_suffix)
    bundles: RuleBundles = field(default_factory=dict)
    _matcher: Matcher | None = None

    def matches(self, path: str) -> bool:
        # Resolved on first use only (most globs of a large space are never tested), then kept.
        matcher = self._matcher
        if matcher is None:
            matcher = self._matcher = matcher_for((self.variant,))
        return path.endswith(self.suffix) and matcher.match(path)


def extension(name: str) -> str:
    """``.ts`` for ``a/b.test.ts`` or ``.test.ts``: from the last ``.`` of the last segment
    (``""`` when it has none)."""
    last = name[name.rfind("/") + 1 :]
    dot = last.rfind(".")
    return last[dot:] if dot >= 0 else ""


@dataclass(slots=True)
class _ByNameHead:
    """Globs by the literal head of their last segment (``globs.literal_name_head``): a file
    named ``h12.ts`` is tested against the globs whose head is one of ``""``, ``h``, ``h1``,
    ``h12``, ..., never against ``h7*.ts``."""

    entries: dict[str, list[_GlobEntry]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)  # of the heads held, ascending

    def add(self, head: str, entry: _GlobEntry) -> None:
        if head not in self.entries:
            self.entries[head] = []
            if len(head) not in self.lengths:
                self.lengths.append(len(head))
                self.lengths.sort()
        self.entries[head].append(entry)

    def add_matching(self, path: str, name: str, found: list[_GlobEntry]) -> None:
        for length in self.lengths:
            if length > len(name):
                return
            for entry in self.entries.get(name[:length], ()):
                if entry.matches(path):
                    found.append(entry)


@dataclass(slots=True)
class _PrefixGroup:
    """The globs rooted at one directory, by the extension of their literal suffix: a file
    ending in ``.py`` is tested against the ``.py`` globs and those whose suffix has no ``.``
    (``""``: ``**``, ``README*``, ``*.{yml,yaml}``), never against the ``.ts`` ones; within an
    extension, by the head of their file name."""

    entries: dict[str, _GlobEntry] = field(default_factory=dict)  # by wcmatch pattern
    by_extension: dict[str, _ByNameHead] = field(default_factory=lambda: defaultdict(_ByNameHead))

    def add(self, variant: str) -> _GlobEntry:
        entry = self.entries.get(variant)
        if entry is None:
            suffix = literal_suffix(variant)
            entry = self.entries[variant] = _GlobEntry(variant, suffix)
            self.by_extension[extension(suffix)].add(literal_name_head(variant), entry)
        return entry

    def add_matching(self, path: str, name: str, found: list[_GlobEntry]) -> None:
        """Append to ``found`` the globs of this directory that match ``path`` (whose file name
        is ``name``), testing only those its extension and name can reach."""
        path_extension = extension(name)
        table = self.by_extension.get(path_extension)
        if table:
            table.add_matching(path, name, found)
        if path_extension:
            table = self.by_extension.get("")
            if table:
                table.add_matching(path, name, found)


@dataclass(slots=True)
class _SourceIndex:
    exact: dict[str, RuleBundles] = field(default_factory=lambda: defaultdict(dict))
    # literal directory prefix ("" = repository root) -> its globs
    globs: dict[str, _PrefixGroup] = field(default_factory=lambda: defaultdict(_PrefixGroup))


def ancestor_prefixes(path: str) -> list[str]:
    """``""`` and every ``dir/`` above ``path``, plus ``path/`` itself (a pattern rooted at a
    directory of that name cannot match the file, but the check is cheap and keeps the index
    independent of that wcmatch detail)."""
    prefixes = [""]
    start = 0
    while (cut := path.find("/", start)) >= 0:
        prefixes.append(path[: cut + 1])
        start = cut + 1
    prefixes.append(path + "/")
    return prefixes


def match_keys(paths: Iterable[str]) -> set[str]:
    """Every stored-rule key (``globs.rule_match_key``) a rule matching one of ``paths`` can
    have: the path itself and each of its ancestor prefixes."""
    keys: set[str] = set()
    for path in paths:
        keys.add(path)
        keys.update(ancestor_prefixes(path))
    return keys


class AttentionIndex:
    def __init__(self, rules: Iterable[IndexedRule]) -> None:
        self._sources: dict[str, _SourceIndex] = defaultdict(_SourceIndex)
        # Bundle first, then place each bundle once: the docs sharing a pattern cost one
        # placement (B2: 16,282 distinct patterns for 50,000 rules).
        bundles: dict[tuple[str, str, tuple[str, ...]], list[IndexedRule]] = {}
        for indexed in rules:
            rule = indexed.rule
            bundles.setdefault((indexed.source_name, rule.path, rule.keywords), []).append(indexed)
        self.rule_count = sum(len(bundle) for bundle in bundles.values())
        for (source_name, path, keywords), bundle in bundles.items():
            index = self._sources[source_name]
            literal, variants = _placement(path)
            if literal is not None:
                index.exact[literal][path, keywords] = bundle
            for prefix, variant in variants:
                index.globs[prefix].add(variant).bundles[path, keywords] = bundle

    @property
    def pattern_count(self) -> int:
        """Distinct wcmatch patterns held (each compiled at most once, when first needed)."""
        return sum(len(group.entries) for s in self._sources.values() for group in s.globs.values())

    def match(self, source_name: str, path: str) -> dict[IndexedRule, MatchKind]:
        """Every rule watching ``source_name`` whose path pattern matches ``path``."""
        found: dict[IndexedRule, MatchKind] = {}
        for bundles, kind in self.match_groups(source_name, path):
            for rules in bundles.values():
                for indexed in rules:
                    found.setdefault(indexed, kind)
        return found

    def match_groups(self, source_name: str, path: str) -> Iterator[tuple[RuleBundles, MatchKind]]:
        """The rules ``match`` finds, in the bundles the index holds them in: those whose
        literal path is ``path`` (``EXACT``), then those of each matching glob (``GLOB``). A
        rule may be in several (an exact path and a glob, or two readings of a bracket); the
        exact one comes first."""
        index = self._sources.get(source_name)
        if index is None:
            return
        exact = index.exact.get(path)
        if exact:
            yield exact, MatchKind.EXACT
        name = path[path.rfind("/") + 1 :]
        found: list[_GlobEntry] = []
        for prefix in ancestor_prefixes(path):
            group = index.globs.get(prefix)
            if group:
                group.add_matching(path, name, found)
        for entry in found:
            yield entry.bundles, MatchKind.GLOB
