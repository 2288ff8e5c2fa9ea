"""Stored rules: a run loads only the rules its changes can fire (docs/attention-rules.md
#stored-rules) and gets the report of every rule; matchers are compiled once per process."""

import random

from hypothesis import given, settings
from wcmatch import glob

from jrn_dagster.domain.attention import AttentionRule
from jrn_dagster.domain.changes import ChangedFile, ChangeStatus, SourceChanges, SourceRef
from jrn_dagster.domain.frontmatter import ParsedDoc, parse_doc
from jrn_dagster.domain.globs import (
    AnyOfMatcher,
    compile_globs,
    literal_name_head,
    literal_suffix,
    matcher_for,
    normalize_glob,
    path_pattern,
    rule_match_key,
    star_segment_matcher,
)
from jrn_dagster.domain.impact import build_impact_report, prepare_selected_rules
from jrn_dagster.domain.impact_index import (
    AttentionIndex,
    IndexedRule,
    ancestor_prefixes,
    extension,
)
from jrn_dagster_tests.support.impact_spaces import SEGMENTS, diff_text, spaces
from jrn_dagster_tests.support.naive_impact import naive_matches, report_matches
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
    root = f"cache-{random.random():.12f}"  # a directory no other test's patterns name
    rules = [
        IndexedRule(0, AttentionRule(index=0, path=f"{root}/**/c[1-3].py"), "api"),  # wcmatch
        IndexedRule(0, AttentionRule(index=1, path=f"{root}/*.md"), "api"),  # string tests
    ]
    before, matchers_before = compile_globs.cache_info(), matcher_for.cache_info()
    for _ in range(3):  # three runs of one process, each with its own index
        index = AttentionIndex(rules)
        assert [r.rule.index for r in index.match("api", f"{root}/a/c1.py")] == [0]
        assert [r.rule.index for r in index.match("api", f"{root}/x.md")] == [1]
        assert not index.match("api", f"{root}/a/c1.ts")  # its suffix rules the glob out
    after, matchers_after = compile_globs.cache_info(), matcher_for.cache_info()
    assert after.misses - before.misses == 1  # one wcmatch compile, kept
    assert matchers_after.misses - matchers_before.misses == 2
    assert matchers_after.hits - matchers_before.hits == 4  # the next two runs: reused


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


def test_string_tested_globs_mean_what_wcmatch_means() -> None:
    rng = random.Random(17)
    names = ["a", "b", ".x", "a.py", "h1.ts", "h12.test.ts", "a+b", "(g)", "!n", "-", "~"]
    names += [".", "..", "[id]", "ab", "bab", "i", "d", "1"]
    segments = [*names, "*", "**", "*.py", "h1*.ts", "*a*", "a*a", "*.*", "**", "?", "a?"]
    segments += ["*?b?*", "h?.ts", "\\[id\\]", "?*?"]
    # Braces and plain sets: string tests over their expansions (globs.AnyOfMatcher).
    segments += ["{a,b}", "*.{py,ts}", "[id]", "[ab]*", "{h1,a}*.ts", "{a,{b,ab}}", "{,a}b"]
    segments += ["[1]", "{a}", "[!a]", "[a-b]", "[[ab]]", "{a,b}/{a,b}"]
    tested = 0
    for _ in range(6000):
        pattern = "/".join(rng.choice(segments) for _ in range(rng.randint(1, 4)))
        if (
            pattern.split("/")[-1] in {".", ".."}
            or "/./" in f"/{pattern}/"
            or "/../" in f"/{pattern}/"
        ):
            continue  # never a rule: normalize_glob drops "." and refuses ".."
        simple = matcher_for((pattern,))
        if isinstance(simple, glob.WcMatcher):
            continue
        tested += 1
        compiled = compile_globs((pattern,))
        for _ in range(8):
            path = "/".join(rng.choice(names) for _ in range(rng.randint(1, 4)))
            assert simple.match(path) == bool(compiled.match(path)), (pattern, path)
    assert tested > 1000
    assert star_segment_matcher("a/[id].tsx") is None
    assert star_segment_matcher("a/\\[id\\]/c?.tsx") is not None  # escapes in the directory
    assert star_segment_matcher("a/*/b.py") is None
    assert isinstance(matcher_for(("a/{b,c}/*.ts",)), AnyOfMatcher)
    assert isinstance(matcher_for(("a/[slug]/c?.tsx",)), AnyOfMatcher)
    for compiled_only in (
        "a/[!b]/c",
        "a/[a-c]/d",
        "a/[[ab]]/c",
        "a/{b}/c",
        "a/[abcdefghijklmnopq]",
    ):
        assert isinstance(matcher_for((compiled_only,)), glob.WcMatcher), compiled_only


def test_the_literal_head_of_a_file_name() -> None:
    assert literal_name_head("src/**/h7*.ts") == "h7"
    assert literal_name_head("**/svc3.proto") == "svc3.proto"
    assert literal_name_head("src/*.ts") == ""
    assert literal_name_head("src/**") == ""
    assert literal_name_head("a/c?.tsx") == "c"
    assert literal_name_head("a/x{b,c}") == "x"
    assert literal_name_head("a/\\[id\\]*.tsx") == "[id]"
    assert literal_name_head("a/\\*x") == "*x"
    # A set or braces before the last "/" may hold it: no head is claimed.
    assert literal_name_head("a/{b,c/d}x") == ""
    assert literal_name_head("a/[id]/page.tsx") == ""
    assert literal_name_head("a/\\[id\\]/page.tsx") == "page.tsx"
