"""The attention index: every rule of a space, built once per run, queried once per changed file.

Testing each rule against each changed file costs rules x files glob matches (B2: 50,000 x
10,000). The index avoids nearly all of them:

- a pattern with no wildcard is a literal path: a dict lookup answers it;
- every wcmatch pattern is filed under its literal directory prefix (``src/api/`` for
  ``src/api/**/*.py``), so a changed file is tested only against the patterns filed under one
  of its ancestor directories or the root;
- within a directory, globs are grouped by the extension of their literal suffix, and a
  file is tested only against globs whose suffix it ends with (``*.py`` never sees ``a.ts``);
- identical patterns (many docs watching ``src/api/**``) are compiled and tested once; each
  compile happens on first use only and is kept in a bounded per-process LRU
  (``globs.compile_globs``), so the next run of the process reuses it.

The result is by construction the same as the naive loop (a property test checks it):
``PathPattern.match`` decides what a rule means, the index only decides what to skip.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from jrn_dagster.domain.attention import AttentionRule
from jrn_dagster.domain.globs import (
    MatchKind,
    PathPattern,
    literal_prefix_dir,
    literal_suffix,
    path_pattern,
)


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: cheap, and each rule is one
class IndexedRule:
    """A rule of one doc, resolved to the source whose changes it watches."""

    doc_index: int
    rule: AttentionRule
    source_name: str


@dataclass
class _GlobEntry:
    pattern: PathPattern  # a single wcmatch pattern, compiled on first use
    suffix: str  # what every match ends with (globs.literal_suffix)
    rules: list[IndexedRule] = field(default_factory=list)


def extension(name: str) -> str:
    """``.ts`` for ``a/b.test.ts`` or ``.test.ts``: from the last ``.`` of the last segment
    (``""`` when it has none)."""
    last = name[name.rfind("/") + 1 :]
    dot = last.rfind(".")
    return last[dot:] if dot >= 0 else ""


@dataclass
class _PrefixGroup:
    """The globs rooted at one directory, by the extension of their literal suffix: a file
    ending in ``.py`` is tested against the ``.py`` globs and those whose suffix has no ``.``
    (``""``: ``**``, ``README*``, ``*.{yml,yaml}``), never against the ``.ts`` ones."""

    entries: dict[str, _GlobEntry] = field(default_factory=dict)  # by wcmatch pattern
    by_extension: dict[str, list[_GlobEntry]] = field(default_factory=lambda: defaultdict(list))

    def add(self, variant: str) -> _GlobEntry:
        entry = self.entries.get(variant)
        if entry is None:
            suffix = literal_suffix(variant)
            entry = self.entries[variant] = _GlobEntry(
                PathPattern(variant, None, (variant,)), suffix
            )
            self.by_extension[extension(suffix)].append(entry)
        return entry

    def candidates(self, path: str) -> Iterator[_GlobEntry]:
        path_extension = extension(path)
        yield from self.by_extension.get(path_extension, ())
        if path_extension:
            yield from self.by_extension.get("", ())


@dataclass
class _SourceIndex:
    exact: dict[str, list[IndexedRule]] = field(default_factory=lambda: defaultdict(list))
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
        self.rule_count = 0
        for indexed in rules:
            self._add(indexed)

    def _add(self, indexed: IndexedRule) -> None:
        self.rule_count += 1
        index = self._sources[indexed.source_name]
        meaning = path_pattern(indexed.rule.path)
        if meaning.literal is not None:
            index.exact[meaning.literal].append(indexed)
        for variant in meaning.globs:
            index.globs[literal_prefix_dir(variant)].add(variant).rules.append(indexed)

    @property
    def pattern_count(self) -> int:
        """Distinct wcmatch patterns held (each compiled at most once, when first needed)."""
        return sum(len(group.entries) for s in self._sources.values() for group in s.globs.values())

    def match(self, source_name: str, path: str) -> dict[IndexedRule, MatchKind]:
        """Every rule watching ``source_name`` whose path pattern matches ``path``."""
        index = self._sources.get(source_name)
        if index is None:
            return {}
        found: dict[IndexedRule, MatchKind] = {}
        for indexed in index.exact.get(path, ()):
            found[indexed] = MatchKind.EXACT
        for prefix in ancestor_prefixes(path):
            group = index.globs.get(prefix)
            if not group:
                continue
            for entry in group.candidates(path):
                if path.endswith(entry.suffix) and entry.pattern.matcher.match(path):
                    for indexed in entry.rules:
                        found.setdefault(indexed, MatchKind.GLOB)
        return found
