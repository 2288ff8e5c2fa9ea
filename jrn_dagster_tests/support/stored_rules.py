"""What the doc repository's ``rule_selection`` returns, computed in memory from parsed docs:
the domain tests check ``prepare_selected_rules`` against ``prepare_rules`` with it, the DB
tests check the repository against it."""

from collections.abc import Collection, Sequence

from jrn_dagster.domain.attention import AttentionRule
from jrn_dagster.domain.changes import SourceChanges
from jrn_dagster.domain.frontmatter import ParsedDoc
from jrn_dagster.domain.globs import rule_match_key
from jrn_dagster.domain.impact import RuleSelection, RuleTotals, changed_paths
from jrn_dagster.domain.impact_index import match_keys


def _unusable(rule: AttentionRule, bound: list[str]) -> bool:
    if len(bound) == 1:
        return rule.source is not None and rule.source != bound[0]
    return rule.source is None or rule.source not in bound


def selection_in_memory(
    docs: Sequence[ParsedDoc], changes: Sequence[SourceChanges], bound: Collection[str]
) -> RuleSelection:
    keys = match_keys(changed_paths(changes))
    names = sorted(set(bound))
    ordered = sorted(docs, key=lambda doc: doc.path)

    def only(keep: list[list[AttentionRule]]) -> list[ParsedDoc]:
        return [
            doc.model_copy(update={"rules": rules, "problems": []})
            for doc, rules in zip(ordered, keep, strict=True)
            if rules
        ]

    return RuleSelection(
        candidates=only([[r for r in d.rules if rule_match_key(r.path) in keys] for d in ordered]),
        unusable=only([[r for r in d.rules if _unusable(r, names)] for d in ordered]),
        with_problems=[doc.model_copy(update={"rules": []}) for doc in ordered if doc.problems],
        totals=RuleTotals.of(docs),
    )
