"""Stored rules: a run loads only the rules its changes can fire (docs/attention-rules.md
#stored-rules) and gets the report of every rule; matchers are compiled once per process."""

import random

from hypothesis import given, settings

from jrn_dagster.domain.changes import ChangedFile, ChangeStatus, SourceChanges, SourceRef
from jrn_dagster.domain.frontmatter import ParsedDoc, parse_doc
from jrn_dagster.domain.globs import (
    compile_globs,
    literal_suffix,
    normalize_glob,
    path_pattern,
    rule_match_key,
)
from jrn_dagster.domain.impact import build_impact_report, prepare_selected_rules
from jrn_dagster.domain.impact_index import AttentionIndex, ancestor_prefixes, extension
from jrn_dagster_tests.domain.naive_impact import naive_matches, report_matches
from jrn_dagster_tests.support.impact_spaces import SEGMENTS, diff_text, spaces
from jrn_dagster_tests.support.stored_rules import selection_in_memory

PROBLEM_DOC = parse_doc(
    "zz-broken.md",
    "---\nattention:\n  - op: file\n  - {op: grep, path: a}\n  - {op: file, path: src/**}\n---\n",
)


@settings(max_examples=300, deadline=None)
@given(spaces())
def test_a_selection_of_stored_rules_reports_what_every_rule_reports(
    space: tuple[list[ParsedDoc], list[SourceChanges], list[str]],
) -> None:
    docs, changes, bound = space
    docs = [*docs, PROBLEM_DOC]
    everything = build_impact_report(
        docs, changes, bound_sources=bound, keyword_lookup=diff_text, max_evidence_per_doc=None
    )
    selected = prepare_selected_rules(selection_in_memory(docs, changes, bound), bound).report(
        changes, keyword_lookup=diff_text, max_evidence_per_doc=None
    )
    assert selected.to_json_dict() == everything.to_json_dict()
    assert report_matches(selected.impacted) == naive_matches(docs, changes, bound, diff_text)


def test_a_changed_path_reaches_the_key_of_every_rule_that_matches_it() -> None:
    rng = random.Random(5)
    parts = [*SEGMENTS, "*", "**", "?", "*.md", "{a,b}", "[ab]", "[id]", "\\[id\\]", "x\\*y"]
    for _ in range(3000):
        pattern = normalize_glob("/".join(rng.choice(parts) for _ in range(rng.randint(1, 4))))
        meaning = path_pattern(pattern)
        path = "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 4)))
        if meaning.match(path) is not None:
            assert rule_match_key(pattern) in {path, *ancestor_prefixes(path)}, (pattern, path)
        for variant in meaning.globs:
            if path_pattern(variant).match(path) is not None:
                suffix = literal_suffix(variant)
                assert path.endswith(suffix), (variant, path)
                assert extension(suffix) in {extension(path), ""}, (variant, path)


def test_literal_suffix_and_extension() -> None:
    assert literal_suffix("src/**/*.test.ts") == ".test.ts"
    assert literal_suffix("src/**") == ""
    assert literal_suffix("**/x.py") == "x.py"
    assert literal_suffix("a/*.{yml,yaml}") == ""
    assert literal_suffix("a/\\[id\\].tsx") == "[id].tsx"
    assert literal_suffix("a/[id].tsx") == ".tsx"
    assert extension("a/b.test.ts") == ".ts"
    assert extension("a.b/Makefile") == ""
    assert rule_match_key("src/api/**/*.py") == "src/api/"
    assert rule_match_key("**/x") == ""
    assert rule_match_key("pages/[id].tsx") == "pages/"
    assert rule_match_key("docs/readme.md") == "docs/readme.md"


def test_matchers_are_compiled_once_per_process() -> None:
    from jrn_dagster.domain.attention import AttentionRule
    from jrn_dagster.domain.impact_index import IndexedRule

    pattern = f"cache-{random.random():.12f}/**/*.py"  # a pattern no other test compiled
    rule = IndexedRule(0, AttentionRule(index=0, path=pattern), "api")
    before = compile_globs.cache_info()
    for _ in range(3):  # three runs of one process, each with its own index
        index = AttentionIndex([rule])
        assert index.match("api", pattern.split("/", maxsplit=1)[0] + "/a/b.py")
        assert not index.match(
            "api", pattern.split("/", maxsplit=1)[0] + "/a/b.ts"
        )  # never compiled for
    after = compile_globs.cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits == 2


def test_the_cached_index_matches_the_naive_loop_run_after_run() -> None:
    source = SourceRef(id=1, name="api", kind="true")
    rng = random.Random(3)
    pool = ["/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 4))) for _ in range(60)]
    docs = [
        parse_doc(
            f"d{d}.md",
            "---\nattention:\n"
            + "".join(
                f"  - op: file\n    path: '{rng.choice(pool).replace('a', '*', 1)}'\n"
                for _ in range(4)
            )
            + "---\n",
        )
        for d in range(30)
    ]
    for run in range(3):
        files = [ChangedFile(path=p, status=ChangeStatus.MODIFIED) for p in rng.sample(pool, 20)]
        changes = [SourceChanges(source=source, files=files)]
        report = build_impact_report(
            docs, changes, bound_sources=["api"], max_evidence_per_doc=None
        )
        assert report_matches(report.impacted) == naive_matches(docs, changes, ["api"]), run
