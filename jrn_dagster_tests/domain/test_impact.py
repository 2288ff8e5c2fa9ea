import json
import random

import pytest
from hypothesis import given, settings

from jrn_dagster.domain.attention import AttentionRule, ProblemCode
from jrn_dagster.domain.changes import ChangedFile, ChangeStatus, SourceChanges, SourceRef
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.frontmatter import ParsedDoc, parse_doc
from jrn_dagster.domain.globs import MatchKind, normalize_glob
from jrn_dagster.domain.impact import (
    AttentionRuleError,
    ImpactReport,
    KeywordCheck,
    ReportCode,
    build_impact_report,
    prepare_rules,
)
from jrn_dagster.domain.impact_index import ancestor_prefixes
from jrn_dagster_tests.support.impact_spaces import (
    API,
    PATTERN_PARTS,
    SEGMENTS,
    SPEC,
    WEB,
    diff_text,
    spaces,
)
from jrn_dagster_tests.support.naive_impact import naive_matches, report_matches
from jrn_dagster_tests.support.yaml_bombs import alias_bomb


def make_doc(path: str, *rules: str, jrn: str | None = None) -> ParsedDoc:
    """A doc whose attention list holds ``rules`` (YAML flow mappings)."""
    lines = ["---", f"jrn: {jrn or path}", "attention:"]
    lines += [f"  - {rule}" for rule in rules]
    lines += ["---", "# Doc", ""]
    parsed = parse_doc(path, "\n".join(lines))
    return parsed


def changes(source: SourceRef, *files: ChangedFile, **extra: object) -> SourceChanges:
    return SourceChanges.model_validate({"source": source, "files": list(files), **extra})


def modified(path: str) -> ChangedFile:
    return ChangedFile(path=path, status=ChangeStatus.MODIFIED)


def evidence_of(report: ImpactReport, doc_path: str) -> list[tuple[str, str, str, str]]:
    doc = next(d for d in report.impacted if d.path == doc_path)
    return [(e.changed_file, e.pattern, e.match_type, e.status) for e in doc.evidence]


def test_report_lists_impacted_docs_with_evidence() -> None:
    docs = [
        make_doc("docs/api.md", "{op: file, path: src/api/**}", "{op: file, path: README.md}"),
        make_doc("docs/other.md", "{op: file, path: other/**}"),
        make_doc("docs/plain.md"),
    ]
    report = build_impact_report(
        docs,
        [changes(API, modified("src/api/routes.py"), modified("README.md"), modified("x.py"))],
        bound_sources=["api"],
    )
    assert [d.path for d in report.impacted] == ["docs/api.md"]
    assert report.impacted[0].jrn == "docs/api.md"
    assert evidence_of(report, "docs/api.md") == [
        ("README.md", "README.md", "exact", "modified"),
        ("src/api/routes.py", "src/api/**", "glob", "modified"),
    ]
    assert report.counts.model_dump() == {
        "docs_scanned": 3,
        "docs_with_problems": 0,
        "rules": 3,
        "rules_skipped": 0,
        "changed_files": 3,
        "impacted_docs": 1,
        "evidence": 2,
    }
    assert report.warnings == []


def test_evidence_json_uses_the_contract_camel_case_names() -> None:
    report = build_impact_report(
        [make_doc("d.md", "{op: file, path: a.py}")],
        [changes(API, modified("a.py"))],
        bound_sources=["api"],
    )
    evidence = report.to_json_dict()["impacted"][0]["evidence"][0]
    required = {
        "sourceKind": "true",
        "sourceName": "api",
        "sourceId": 1,
        "changedFile": "a.py",
        "pattern": "a.py",
        "matchType": "exact",
        "status": "modified",
    }
    assert {key: evidence[key] for key in required} == required
    json.dumps(report.to_json_dict())  # serialisable as is
    assert ImpactReport.model_validate(report.to_json_dict()) == report


def test_renames_match_old_and_new_paths() -> None:
    renamed = ChangedFile(
        path="lib/new.py", status=ChangeStatus.RENAMED, old_path="src/old.py", similarity=90
    )
    docs = [
        make_doc("old.md", "{op: file, path: src/**}"),
        make_doc("new.md", "{op: file, path: lib/new.py}"),
        make_doc("both.md", "{op: file, path: '**/*.py'}"),
    ]
    report = build_impact_report(docs, [changes(API, renamed)], bound_sources=["api"])
    assert evidence_of(report, "old.md") == [("lib/new.py", "src/**", "rename_from", "renamed")]
    assert evidence_of(report, "new.md") == [("lib/new.py", "lib/new.py", "exact", "renamed")]
    # one line per (file, pattern): the new path wins
    assert evidence_of(report, "both.md") == [("lib/new.py", "**/*.py", "glob", "renamed")]
    assert report.impacted[0].evidence[0].old_path == "src/old.py"


def test_copies_match_only_the_new_path() -> None:
    copied = ChangedFile(
        path="lib/copy.py", status=ChangeStatus.COPIED, old_path="src/orig.py", similarity=100
    )
    docs = [
        make_doc("src.md", "{op: file, path: src/**}"),
        make_doc("lib.md", "{op: file, path: lib/**}"),
    ]
    report = build_impact_report(docs, [changes(API, copied)], bound_sources=["api"])
    assert [d.path for d in report.impacted] == ["lib.md"]


def test_deletions_and_binary_files_count() -> None:
    docs = [make_doc("d.md", "{op: file, path: src/gone.py}", "{op: file, path: 'assets/*.png'}")]
    files = [
        ChangedFile(path="src/gone.py", status=ChangeStatus.DELETED),
        ChangedFile(path="assets/logo.png", status=ChangeStatus.MODIFIED),
    ]
    report = build_impact_report(docs, [changes(API, *files)], bound_sources=["api"])
    assert evidence_of(report, "d.md") == [
        ("assets/logo.png", "assets/*.png", "glob", "modified"),
        ("src/gone.py", "src/gone.py", "exact", "deleted"),
    ]


def test_literal_brackets_parentheses_and_plus() -> None:
    docs = [
        make_doc("next.md", "{op: file, path: 'pages/[id].tsx'}"),
        make_doc("group.md", "{op: file, path: 'app/(group)/*.ts'}"),
        make_doc("plus.md", "{op: file, path: 'a+b/*.ts'}"),
    ]
    files = [modified("pages/[id].tsx"), modified("app/(group)/x.ts"), modified("a+b/y.ts")]
    report = build_impact_report(docs, [changes(API, *files)], bound_sources=["api"])
    assert evidence_of(report, "next.md") == [
        ("pages/[id].tsx", "pages/[id].tsx", "exact", "modified")
    ]
    assert evidence_of(report, "group.md") == [
        ("app/(group)/x.ts", "app/(group)/*.ts", "glob", "modified")
    ]
    assert evidence_of(report, "plus.md") == [("a+b/y.ts", "a+b/*.ts", "glob", "modified")]


def test_rule_without_source_uses_the_single_bound_source() -> None:
    doc = make_doc("d.md", "{op: file, path: a.py}")
    report = build_impact_report([doc], [changes(API, modified("a.py"))], bound_sources=["api"])
    assert report.counts.impacted_docs == 1


def test_rule_without_source_is_ambiguous_in_a_multi_source_space() -> None:
    doc = make_doc("d.md", "{op: file, path: a.py}", "{op: file, path: a.py, source: web}")
    report = build_impact_report(
        [doc],
        [changes(API, modified("a.py")), changes(WEB, modified("a.py"))],
        bound_sources=["api", "web"],
    )
    assert [(w.code, w.doc_path, w.rule_index) for w in report.warnings] == [
        (ReportCode.AMBIGUOUS_SOURCE, "d.md", 0)
    ]
    assert "2 sources (api, web)" in report.warnings[0].message
    assert [e.source_name for e in report.impacted[0].evidence] == ["web"]
    assert report.impacted[0].changed_files("web") == ["a.py"]
    assert report.impacted[0].changed_files("api") == []
    assert report.counts.rules_skipped == 1


def test_rule_without_source_in_a_space_without_sources() -> None:
    report = build_impact_report([make_doc("d.md", "{op: file, path: a}")], [], bound_sources=[])
    assert report.warnings[0].code is ReportCode.AMBIGUOUS_SOURCE
    assert "no source" in report.warnings[0].message


def test_rule_naming_an_unbound_source_is_warned_and_skipped() -> None:
    doc = make_doc("d.md", "{op: file, path: a.py, source: payments}", "{op: file, path: a.py}")
    report = build_impact_report([doc], [changes(API, modified("a.py"))], bound_sources=["api"])
    assert [(w.code, w.rule_index, w.source_name) for w in report.warnings] == [
        (ReportCode.UNBOUND_SOURCE, 0, "payments")
    ]
    assert "'payments'" in report.warnings[0].message
    assert len(report.impacted[0].evidence) == 1


def test_strict_mode_raises_listing_every_problem() -> None:
    docs = [
        make_doc("a.md", "{op: file, path: a.py, source: payments}"),
        make_doc("b.md", "{op: dir, path: x}"),
        parse_doc("c.md", "---\njrn: 5\n---\n"),
    ]
    with pytest.raises(AttentionRuleError) as caught:
        build_impact_report(
            docs, [changes(API, modified("a.py"))], bound_sources=["api"], strict=True
        )
    error = caught.value
    assert isinstance(error, InvalidInputError)
    assert {(p.doc_path, p.code) for p in error.problems} == {
        ("a.md", ReportCode.UNBOUND_SOURCE),
        ("b.md", ProblemCode.INVALID_RULE),
        ("c.md", ProblemCode.INVALID_JRN),
    }
    message = str(error)
    assert message.startswith("3 attention rule problem(s) (strict mode)")
    assert "payments" in message and "\n" not in message


def test_strict_mode_with_clean_rules_reports_normally() -> None:
    report = build_impact_report(
        [make_doc("a.md", "{op: file, path: a.py}")],
        [changes(API, modified("a.py"))],
        bound_sources=["api"],
        strict=True,
    )
    assert report.strict and report.counts.impacted_docs == 1


def test_doc_problems_become_report_warnings() -> None:
    docs = [parse_doc("bad.md", "---\njrn: [\n---\n"), make_doc("r.md", "{op: file, path: 'a{'}")]
    report = build_impact_report(docs, [], bound_sources=["api"])
    assert [(w.code, w.doc_path, w.rule_index) for w in report.warnings] == [
        (ProblemCode.INVALID_YAML, "bad.md", None),
        (ProblemCode.INVALID_RULE, "r.md", 0),
    ]
    assert report.counts.docs_with_problems == 2


def test_an_alias_bomb_is_a_warning_for_its_doc_and_the_others_still_match() -> None:
    docs = [
        parse_doc("bomb.md", f"---\n{alias_bomb()}---\n"),
        make_doc("api.md", "{op: file, path: src/a.py}"),
    ]
    report = build_impact_report(docs, [changes(API, modified("src/a.py"))], bound_sources=["api"])
    assert [(w.code, w.doc_path) for w in report.warnings] == [
        (ProblemCode.INVALID_YAML, "bomb.md")
    ]
    assert [d.path for d in report.impacted] == ["api.md"]


def test_keywords_filter_by_diff_text_ignoring_case() -> None:
    docs = [
        make_doc("hit.md", "{op: file, path: 'src/*.py', keywords: [Retry, timeout]}"),
        make_doc("miss.md", "{op: file, path: 'src/*.py', keywords: [payments]}"),
        make_doc("binary.md", "{op: file, path: 'img/*.png', keywords: [logo]}"),
    ]
    diffs = {"src/a.py": "@@ -1 +1 @@\n-x = 1\n+TIMEOUT = 30\n", "img/a.png": None}
    calls: list[tuple[str, str]] = []

    def lookup(source_name: str, path: str) -> str | None:
        calls.append((source_name, path))
        return diffs[path]

    report = build_impact_report(
        docs,
        [changes(API, modified("src/a.py"), modified("img/a.png"))],
        bound_sources=["api"],
        keyword_lookup=lookup,
    )
    assert [d.path for d in report.impacted] == ["binary.md", "hit.md"]
    hit = report.impacted[1].evidence[0]
    assert (hit.keyword, hit.keyword_check) == ("timeout", KeywordCheck.MATCHED)
    binary = report.impacted[0].evidence[0]
    assert (binary.keyword, binary.keyword_check) == (None, KeywordCheck.DIFF_UNAVAILABLE)
    assert sorted(calls) == [("api", "img/a.png"), ("api", "src/a.py")]  # once per file


def test_keywords_without_lookup_fire_with_a_marker() -> None:
    report = build_impact_report(
        [make_doc("d.md", "{op: file, path: a.py, keywords: [x]}")],
        [changes(API, modified("a.py"))],
        bound_sources=["api"],
    )
    assert report.impacted[0].evidence[0].keyword_check is KeywordCheck.DIFF_UNAVAILABLE


def test_virtual_sources_are_marked_in_evidence() -> None:
    docs = [make_doc("d.md", "{op: file, path: 'openapi/*.yaml', source: spec}")]
    report = build_impact_report(
        docs,
        [changes(API, modified("openapi/a.yaml")), changes(SPEC, modified("openapi/a.yaml"))],
        bound_sources=["api", "spec"],
    )
    (evidence,) = report.impacted[0].evidence
    assert (evidence.source_kind, evidence.source_name, evidence.source_id) == (
        "virtual",
        "spec",
        9,
    )


def test_full_tree_fallback_is_warned() -> None:
    report = build_impact_report(
        [make_doc("d.md", "{op: file, path: a.py}")],
        [changes(API, modified("a.py"), full_tree_reason="base abc not reachable")],
        bound_sources=["api"],
    )
    assert report.warnings[0].code is ReportCode.FULL_TREE
    assert "base abc not reachable" in report.warnings[0].message
    assert report.sources[0].full_tree


def test_evidence_is_capped_per_doc_and_counted() -> None:
    files = [modified(f"src/f{i:02d}.py") for i in range(30)]
    report = build_impact_report(
        [make_doc("d.md", "{op: file, path: 'src/**'}")],
        [changes(API, *files)],
        bound_sources=["api"],
        max_evidence_per_doc=5,
    )
    doc = report.impacted[0]
    assert [e.changed_file for e in doc.evidence] == [f"src/f{i:02d}.py" for i in range(5)]
    assert doc.evidence_total == 30 and report.counts.evidence == 30


def test_markdown_table_is_escaped_and_bounded() -> None:
    files = [modified(f"src/a|{i:02d}.py") for i in range(30)]
    report = build_impact_report(
        [make_doc("docs/d.md", "{op: file, path: 'src/**'}", "{op: file, path: x, source: nope}")],
        [changes(API, *files)],
        bound_sources=["api"],
    )
    markdown = report.to_markdown(max_rows=10)
    assert "| Doc | JRN | Source | Changed file | Status | Match | Pattern |" in markdown
    assert "`src/a\\|00.py`" in markdown
    assert "… and 20 more evidence line(s)" in markdown
    table_rows = [line for line in markdown.splitlines() if line.startswith("| `docs/d.md`")]
    assert len(table_rows) == 10 + 1  # 10 evidence rows, 1 warning row
    assert "unbound_source" in markdown


def test_markdown_without_impact() -> None:
    report = build_impact_report([make_doc("d.md")], [changes(API)], bound_sources=["api"])
    assert "No doc is impacted." in report.to_markdown()


def test_report_order_does_not_depend_on_input_order() -> None:
    docs = [
        make_doc(f"d{i}.md", "{op: file, path: 'src/**'}", "{op: file, path: 'src/a*'}")
        for i in range(5)
    ]
    files = [modified(f"src/a{i}") for i in range(10)]
    first = build_impact_report(docs, [changes(API, *files)], bound_sources=["api"])
    rng = random.Random(3)
    rng.shuffle(docs)
    rng.shuffle(files)
    second = build_impact_report(docs, [changes(API, *files)], bound_sources=["api"])
    assert first.to_json_dict() == second.to_json_dict()


def test_duplicate_inputs_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="duplicate doc path"):
        build_impact_report([make_doc("d.md"), make_doc("d.md")], [], bound_sources=["api"])
    with pytest.raises(InvalidInputError, match="duplicate source 'api'"):
        build_impact_report([], [changes(API), changes(API)], bound_sources=["api"])


def test_ancestor_prefixes() -> None:
    assert ancestor_prefixes("a/b/c.py") == ["", "a/", "a/b/", "a/b/c.py/"]
    assert ancestor_prefixes("x") == ["", "x/"]


# --- the index against the naive per-rule loop -------------------------------------------


@settings(max_examples=300, deadline=None)
@given(spaces())
def test_index_matches_the_naive_loop(
    space: tuple[list[ParsedDoc], list[SourceChanges], list[str]],
) -> None:
    docs, changes_, bound = space
    report = build_impact_report(
        docs, changes_, bound_sources=bound, keyword_lookup=diff_text, max_evidence_per_doc=None
    )
    assert report_matches(report.impacted) == naive_matches(docs, changes_, bound, diff_text)


def test_index_matches_the_naive_loop_on_a_larger_random_space() -> None:
    rng = random.Random(11)

    def path() -> str:
        return "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 5)))

    docs = [
        ParsedDoc(
            path=f"d{d}.md",
            rules=[
                AttentionRule(
                    index=i,
                    path=normalize_glob(
                        "/".join(rng.choice(PATTERN_PARTS) for _ in range(rng.randint(1, 4)))
                    ),
                )
                for i in range(10)
            ],
        )
        for d in range(100)
    ]
    files = [
        ChangedFile(path=path(), status=ChangeStatus.RENAMED, old_path=path())
        if rng.random() < 0.2
        else modified(path())
        for _ in range(200)
    ]
    changes_ = [SourceChanges(source=API, files=files)]
    report = build_impact_report(docs, changes_, bound_sources=["api"], max_evidence_per_doc=None)
    expected = naive_matches(docs, changes_, ["api"])
    assert expected  # the space is not trivially empty
    assert report_matches(report.impacted) == expected
    kinds = {key[4] for key in expected}
    assert kinds == {MatchKind.EXACT, MatchKind.GLOB, MatchKind.RENAME_FROM}


def test_prepared_rules_match_many_change_sets_as_separate_reports_would() -> None:
    docs = [
        make_doc("api.md", "{op: file, path: src/api/**}", "{op: file, path: src/api/x.py}"),
        make_doc("kw.md", "{op: file, path: 'src/**', keywords: [retry]}"),
        make_doc("bad.md", "{op: file, path: a, source: nope}"),
    ]
    change_sets = [
        [changes(API, modified("src/api/x.py"))],
        [changes(API, modified("src/other.py"))],
        [changes(API, modified("README.md"))],
    ]
    diffs = {"src/api/x.py": "+ retry()", "src/other.py": "+ nothing"}

    def lookup(source: str, path: str) -> str | None:
        return diffs.get(path)

    prepared = prepare_rules(docs, ["api"])
    assert [w.code for w in prepared.warnings] == [ReportCode.UNBOUND_SOURCE]
    for change_set in change_sets:
        expected = build_impact_report(
            docs, change_set, bound_sources=["api"], keyword_lookup=lookup
        )
        assert prepared.report(change_set, keyword_lookup=lookup) == expected
    matched = [prepared.match(change_set, keyword_lookup=lookup) for change_set in change_sets]
    fired = [
        sorted((prepared.docs[r.doc_index].path, r.rule.index) for r in m.fired) for m in matched
    ]
    assert fired == [[("api.md", 0), ("api.md", 1), ("kw.md", 0)], [], []]
    assert [sorted(m.evidence) for m in matched] == [[0, 1], [], []]
