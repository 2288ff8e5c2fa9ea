"""What a space's attention rules would have flagged over a branch's history, tallied.

``jrn-dagster rules replay`` (``services/rules_replay.py``) walks the history as the sequence
of ranges the pipeline would have seen and matches each one with the space's prepared rules
(``domain/impact.py``). ``ReplayTally`` counts what fired; ``ReplayTally.report`` turns the
counts into what a maintainer tunes rules with: per doc the ranges that flagged it and the rule
that fired most, rules that never fired (with the closest existing paths, so a typo shows),
noisy rules, and docs whose rules point at no existing file. Pure: git output comes in as data.
"""

import bisect
import difflib
from collections import Counter, deque
from collections.abc import Collection, Iterable, Sequence
from enum import StrEnum
from typing import Any

from jrn_dagster.domain.base import CamelModel
from jrn_dagster.domain.globs import literal_prefix_dir, path_pattern
from jrn_dagster.domain.impact import PreparedRules, ReportWarning, warning_order
from jrn_dagster.domain.impact_index import IndexedRule

LAST_RANGES_SHOWN = 3
CLOSEST_PATHS_SHOWN = 3
# difflib compares a rule with every candidate path: bound the work on huge trees and on spaces
# full of rules that match nothing.
MAX_RULES_WITH_SUGGESTIONS = 200
MAX_SUGGESTION_CANDIDATES = 50_000
_SIMILARITY_CUTOFF = 0.6


class ReplayMode(StrEnum):
    FIRST_PARENT = "first-parent"  # one range per first-parent commit: a merged PR is one range
    ALL_COMMITS = "all-commits"  # one range per non-merge commit, against its parent


class ReplayRange(CamelModel):
    """One range the pipeline would have analysed: ``base_sha..sha``."""

    sha: str
    base_sha: str | None  # None: a root commit (or a shallow boundary): the whole tree counts
    subject: str
    changed_files: int
    flagged_docs: int = 0


class RangeRef(CamelModel):
    sha: str
    subject: str


class RuleRef(CamelModel):
    doc_path: str
    rule_index: int
    pattern: str
    source_name: str
    keywords: list[str]


class RuleCount(RuleRef):
    ranges: int  # ranges the rule fired on
    share: float  # ranges / all replayed ranges


class NeverFiredRule(RuleRef):
    files_at_head: int  # files of the head tree its path matches (0: maybe a typo)
    # Closest existing paths when it matches no file at the head; None when not computed
    # (more than MAX_RULES_WITH_SUGGESTIONS such rules).
    closest_paths: list[str] | None


class DocReplay(CamelModel):
    path: str
    jrn: str | None
    ranges: int  # ranges that flagged the doc
    share: float
    last_ranges: list[RangeRef]  # the latest first
    top_rule: RuleCount | None  # the rule that fired on most ranges
    rules: list[RuleCount]  # every replayed rule of the doc


class DocWithoutTarget(CamelModel):
    path: str
    reason: str


class ReplayTotals(CamelModel):
    ranges: int
    flagged_pairs: int  # (range, doc) pairs
    docs: int
    docs_flagged: int
    rules_replayed: int
    rules_fired: int
    seconds: float


class ReplayReport(CamelModel):
    space: str
    repository: str  # the coordinate cloned, or the local path read
    branch: str
    head_sha: str
    mode: ReplayMode
    replayed_sources: list[str]
    noisy_share: float
    totals: ReplayTotals
    timings: dict[str, float]  # seconds per phase
    ranges: list[ReplayRange]  # oldest first
    docs: list[DocReplay]  # most flagged first
    never_fired: list[NeverFiredRule]
    noisy: list[RuleCount]
    docs_without_targets: list[DocWithoutTarget]
    rules_not_replayed: list[RuleRef]  # they watch sources this repository does not stand for
    warnings: list[ReportWarning]

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


def _rule_ref(prepared: PreparedRules, rule: IndexedRule) -> RuleRef:
    return RuleRef(
        doc_path=prepared.docs[rule.doc_index].path,
        rule_index=rule.rule.index,
        pattern=rule.rule.path,
        source_name=rule.source_name,
        keywords=list(rule.rule.keywords),
    )


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def files_matched_at_head(
    prepared: PreparedRules, sources: Collection[str], files: Iterable[str]
) -> Counter[IndexedRule]:
    """How many files of the head tree each rule's path matches (keywords aside)."""
    counts: Counter[IndexedRule] = Counter()
    for path in files:
        for source in sources:
            counts.update(prepared.index.match(source, path).keys())
    return counts


def directories_of(files: Iterable[str]) -> list[str]:
    """Every directory holding one of ``files``, as ``dir/``, sorted."""
    found: set[str] = set()
    for path in files:
        cut = path.rfind("/")
        while cut > 0 and path[: cut + 1] not in found:
            found.add(path[: cut + 1])
            cut = path.rfind("/", 0, cut)
    return sorted(found)


def closest_paths(
    pattern: str,
    files: Sequence[str],
    directories: Sequence[str],
    limit: int = CLOSEST_PATHS_SHOWN,
) -> list[str]:
    """The existing paths most like a rule's path, for a rule that matches none.

    A path with no wildcard is compared with the files. A glob whose directory part does not
    exist is compared with the directories (``servcies/api/**`` -> ``services/api/``); one whose
    directory exists, with the files below it. ``directories`` is sorted (``directories_of``).
    """
    meaning = path_pattern(pattern)
    if meaning.literal is not None:
        return difflib.get_close_matches(meaning.literal, files, limit, _SIMILARITY_CUTOFF)
    prefix = literal_prefix_dir(meaning.globs[0])
    at = bisect.bisect_left(directories, prefix)
    if prefix and not (at < len(directories) and directories[at] == prefix):
        return difflib.get_close_matches(prefix, directories, limit, _SIMILARITY_CUTOFF)
    below = [path for path in files if path.startswith(prefix)]
    return difflib.get_close_matches(pattern, below, limit, _SIMILARITY_CUTOFF)


class ReplayTally:
    """Counts, range by range, which rules fired and which docs they flagged."""

    def __init__(self, prepared: PreparedRules, replayed_sources: Collection[str]) -> None:
        self.prepared = prepared
        self.replayed_sources = sorted(set(replayed_sources))
        self.ranges: list[ReplayRange] = []
        self.flagged_pairs = 0
        self._rule_ranges: Counter[IndexedRule] = Counter()
        self._doc_ranges: Counter[int] = Counter()
        self._doc_last: dict[int, deque[RangeRef]] = {}

    def add(self, replayed: ReplayRange, fired: Collection[IndexedRule]) -> None:
        """``replayed`` comes after every range added before it (oldest first); ``fired``: the
        rules that fired on it (``PreparedRules.fired_rules``)."""
        self._rule_ranges.update(fired)
        flagged = {rule.doc_index for rule in fired}
        self.ranges.append(replayed.model_copy(update={"flagged_docs": len(flagged)}))
        self.flagged_pairs += len(flagged)
        if not flagged:
            return
        ref = RangeRef(sha=replayed.sha, subject=replayed.subject)
        for doc_index in flagged:
            self._doc_ranges[doc_index] += 1
            last = self._doc_last.setdefault(doc_index, deque(maxlen=LAST_RANGES_SHOWN))
            last.appendleft(ref)  # ranges come oldest first: the newest ends up in front

    def _count(self, rule: IndexedRule) -> RuleCount:
        ranges = self._rule_ranges[rule]
        return RuleCount(
            **_rule_ref(self.prepared, rule).model_dump(),
            ranges=ranges,
            share=_share(ranges, len(self.ranges)),
        )

    def report(
        self,
        *,
        space: str,
        repository: str,
        branch: str,
        head_sha: str,
        mode: ReplayMode,
        head_files: Sequence[str],
        noisy_share: float,
        seconds: float,
        timings: dict[str, float],
    ) -> ReplayReport:
        prepared = self.prepared
        replayed = [r for r in prepared.rules if r.source_name in self.replayed_sources]
        others = [r for r in prepared.rules if r.source_name not in self.replayed_sources]
        at_head = files_matched_at_head(prepared, self.replayed_sources, head_files)
        rules_of_doc: dict[int, list[IndexedRule]] = {}
        for rule in replayed:
            rules_of_doc.setdefault(rule.doc_index, []).append(rule)

        docs = [self._doc(i, rules_of_doc.get(i, [])) for i in range(len(prepared.docs))]
        docs.sort(key=lambda doc: (-doc.ranges, doc.path))
        noisy = [
            self._count(rule)
            for rule in replayed
            if self.ranges and self._rule_ranges[rule] / len(self.ranges) > noisy_share
        ]
        noisy.sort(key=lambda rule: (-rule.ranges, rule.doc_path, rule.rule_index))
        return ReplayReport(
            space=space,
            repository=repository,
            branch=branch,
            head_sha=head_sha,
            mode=mode,
            replayed_sources=self.replayed_sources,
            noisy_share=noisy_share,
            totals=ReplayTotals(
                ranges=len(self.ranges),
                flagged_pairs=self.flagged_pairs,
                docs=len(prepared.docs),
                docs_flagged=len(self._doc_ranges),
                rules_replayed=len(replayed),
                rules_fired=sum(1 for rule in replayed if self._rule_ranges[rule]),
                seconds=round(seconds, 3),
            ),
            timings={phase: round(value, 3) for phase, value in timings.items()},
            ranges=self.ranges,
            docs=docs,
            never_fired=self._never_fired(replayed, at_head, head_files),
            noisy=noisy,
            docs_without_targets=self._without_targets(rules_of_doc, others, at_head, branch),
            rules_not_replayed=[_rule_ref(prepared, rule) for rule in others],
            warnings=sorted(prepared.warnings, key=warning_order),
        )

    def _doc(self, doc_index: int, rules: list[IndexedRule]) -> DocReplay:
        doc = self.prepared.docs[doc_index]
        counts = [self._count(rule) for rule in rules]
        fired = [count for count in counts if count.ranges]
        top = max(fired, key=lambda count: (count.ranges, -count.rule_index), default=None)
        ranges = self._doc_ranges[doc_index]
        return DocReplay(
            path=doc.path,
            jrn=doc.jrn,
            ranges=ranges,
            share=_share(ranges, len(self.ranges)),
            last_ranges=list(self._doc_last.get(doc_index, ())),
            top_rule=top,
            rules=counts,
        )

    def _never_fired(
        self,
        replayed: list[IndexedRule],
        at_head: Counter[IndexedRule],
        head_files: Sequence[str],
    ) -> list[NeverFiredRule]:
        silent = [rule for rule in replayed if not self._rule_ranges[rule]]
        silent.sort(key=lambda r: (self.prepared.docs[r.doc_index].path, r.rule.index))
        candidates = list(head_files[:MAX_SUGGESTION_CANDIDATES])
        directories = directories_of(candidates)
        suggested = 0
        never_fired: list[NeverFiredRule] = []
        for rule in silent:
            closest: list[str] | None = None
            if at_head[rule] == 0:
                if suggested < MAX_RULES_WITH_SUGGESTIONS:
                    closest = closest_paths(rule.rule.path, candidates, directories)
                suggested += 1
            never_fired.append(
                NeverFiredRule(
                    **_rule_ref(self.prepared, rule).model_dump(),
                    files_at_head=at_head[rule],
                    closest_paths=closest if at_head[rule] == 0 else [],
                )
            )
        return never_fired

    def _without_targets(
        self,
        rules_of_doc: dict[int, list[IndexedRule]],
        others: list[IndexedRule],
        at_head: Counter[IndexedRule],
        branch: str,
    ) -> list[DocWithoutTarget]:
        """Docs none of whose rules points at a file that exists at the head."""
        watching_others = {rule.doc_index for rule in others}
        found: list[DocWithoutTarget] = []
        for doc_index, doc in enumerate(self.prepared.docs):
            rules = rules_of_doc.get(doc_index, [])
            if rules:
                if not any(at_head[rule] for rule in rules):
                    found.append(
                        DocWithoutTarget(
                            path=doc.path, reason=f"its rules match no file at the head of {branch}"
                        )
                    )
            elif doc_index not in watching_others:
                reason = (
                    "no usable attention rule (see the warnings)"
                    if doc.rules or doc.problems
                    else "no attention rules"
                )
                found.append(DocWithoutTarget(path=doc.path, reason=reason))
        return sorted(found, key=lambda doc: doc.path)
