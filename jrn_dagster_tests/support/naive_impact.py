"""The naive matcher the impact index is checked and benchmarked against (not library code).

Every rule is tested against every changed path, one by one, with the rule's own
``PathPattern`` (its literal reading, then its wcmatch patterns). Same semantics as
``build_impact_report``, none of its indexing.
"""

from collections.abc import Collection, Sequence

from jrn_dagster.domain.changes import ChangeStatus, SourceChanges
from jrn_dagster.domain.frontmatter import ParsedDoc
from jrn_dagster.domain.globs import MatchKind, path_pattern
from jrn_dagster.domain.impact import ImpactedDoc, KeywordLookup

# (doc path, source name, changed file, pattern, match type)
MatchKey = tuple[str, str, str, str, str]


def _fires(keywords: tuple[str, ...], diff: str | None) -> bool:
    if not keywords or diff is None:
        return True
    return any(keyword.casefold() in diff.casefold() for keyword in keywords)


def naive_matches(
    docs: Sequence[ParsedDoc],
    changes: Sequence[SourceChanges],
    bound_sources: Collection[str],
    keyword_lookup: KeywordLookup | None = None,
) -> set[MatchKey]:
    bound = set(bound_sources)
    only = next(iter(bound)) if len(bound) == 1 else None
    found: set[MatchKey] = set()
    for doc in docs:
        for rule in doc.rules:
            target = rule.source if rule.source is not None else only
            if target is None or target not in bound:
                continue
            meaning = path_pattern(rule.path)  # compiled once per rule, on its first glob test
            for change in changes:
                if change.source.name != target:
                    continue
                for changed in change.files:
                    kind = meaning.match(changed.path)
                    if (
                        kind is None
                        and changed.status is ChangeStatus.RENAMED
                        and changed.old_path
                        and meaning.match(changed.old_path)
                    ):
                        kind = MatchKind.RENAME_FROM
                    if kind is None:
                        continue
                    diff = keyword_lookup(target, changed.path) if keyword_lookup else None
                    if _fires(rule.keywords, diff):
                        found.add((doc.path, target, changed.path, rule.path, str(kind)))
    return found


def report_matches(impacted: Sequence[ImpactedDoc]) -> set[MatchKey]:
    """The same keys from an ImpactReport's ``impacted`` list (build it uncapped)."""
    return {
        (doc.path, e.source_name, e.changed_file, e.pattern, str(e.match_type))
        for doc in impacted
        for e in doc.evidence
    }
