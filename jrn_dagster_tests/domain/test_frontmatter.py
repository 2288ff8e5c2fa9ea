import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jrn_dagster.domain.attention import ProblemCode
from jrn_dagster.domain.frontmatter import (
    MAX_FRONTMATTER_CHARS,
    MAX_YAML_DEPTH,
    ParsedDoc,
    parse_doc,
    split_frontmatter,
)
from jrn_dagster_tests.support.yaml_bombs import alias_bomb


def doc(frontmatter: str, body: str = "# Title\n") -> str:
    return f"---\n{frontmatter}---\n{body}"


def codes(parsed: ParsedDoc) -> list[tuple[ProblemCode, int | None]]:
    return [(problem.code, problem.rule_index) for problem in parsed.problems]


def test_valid_doc() -> None:
    parsed = parse_doc(
        "docs/api.md",
        doc(
            "jrn: jrn::doc:api\n"
            "title: API\n"
            "attention:\n"
            "  - op: file\n"
            "    path: ./src/api/**\n"
            "  - op: file\n"
            "    path: 'pages/[id].tsx'\n"
            "    source: web\n"
            "    keywords: [Route, route, handler]\n"
        ),
    )
    assert parsed.problems == []
    assert parsed.jrn == "jrn::doc:api"
    assert [(r.index, r.op, r.path, r.source, r.keywords) for r in parsed.rules] == [
        (0, "file", "src/api/**", None, ()),
        (1, "file", "pages/[id].tsx", "web", ("Route", "handler")),
    ]
    assert parsed.has_frontmatter
    text = doc("jrn: x\n")
    assert text[parse_doc("a.md", text).body_start :] == "# Title\n"


@pytest.mark.parametrize("text", ["# Just markdown\n", "", "\n\n", "--- not a delimiter\n"])
def test_docs_without_frontmatter_have_no_rules_and_no_problems(text: str) -> None:
    parsed = parse_doc("a.md", text)
    assert (parsed.jrn, parsed.rules, parsed.problems, parsed.has_frontmatter) == (
        None,
        [],
        [],
        False,
    )


def test_empty_frontmatter() -> None:
    parsed = parse_doc("a.md", "---\n---\nbody\n")
    assert (parsed.rules, parsed.problems, parsed.has_frontmatter) == ([], [], True)


def test_crlf_line_endings_and_bom() -> None:
    text = (
        "\ufeff---\r\n"
        "jrn: doc-1\r\n"
        "attention:\r\n"
        "  - op: file\r\n"
        "    path: src/*.ts\r\n"
        "---  \r\n"
        "body\r\n"
    )
    parsed = parse_doc("a.md", text)
    assert parsed.problems == []
    assert parsed.jrn == "doc-1"
    assert [rule.path for rule in parsed.rules] == ["src/*.ts"]
    assert parsed.newline == "\r\n"
    assert text[parsed.body_start :] == "body\r\n"


def test_bom_without_frontmatter() -> None:
    split = split_frontmatter("\ufeff# Title\n")
    assert (split.bom, split.yaml_text, split.body_start) == ("\ufeff", None, 1)


def test_yaml_1_2_keeps_on_yes_no_off_as_strings() -> None:
    parsed = parse_doc(
        "a.md",
        doc(
            "jrn: yes\n"
            "on: push\n"
            "attention:\n"
            "  - op: file\n"
            "    path: off\n"
            "    source: on\n"
            "    keywords: [yes, no, on, off, y, n]\n"
        ),
    )
    assert parsed.problems == []
    assert parsed.jrn == "yes"
    rule = parsed.rules[0]
    assert (rule.path, rule.source, rule.keywords) == (
        "off",
        "on",
        ("yes", "no", "on", "off", "y", "n"),
    )


def test_a_key_named_on_in_a_rule_stays_a_string_key() -> None:
    parsed = parse_doc("a.md", doc("attention:\n  - {op: file, path: a, on: push}\n"))
    assert codes(parsed) == [(ProblemCode.INVALID_RULE, 0)]
    assert "'on'" in parsed.problems[0].message


@pytest.mark.parametrize(
    "frontmatter",
    [
        "jrn: [unclosed\n",
        "jrn: a\njrn: b\n",  # duplicate key
        "attention:\n  - op: file\n   path: bad-indent\n",
        "jrn: !!python/object/apply:os.system ['echo hacked']\n",  # no object construction
        "jrn: !custom x\n",
        "a: " + "[" * 3000 + "]" * 3000 + "\n",  # deep nesting
        "\t- tab\n",
        "%YAML 1.1\n--- {jrn: yes}\n",  # would switch to YAML 1.1 semantics
        "%TAG ! tag:example.com,2000:\n--- {jrn: a}\n",
        "jrn: a\n...\n--- {jrn: b}\n",  # two documents
    ],
)
def test_invalid_yaml_is_reported(frontmatter: str) -> None:
    parsed = parse_doc("docs/a.md", doc(frontmatter))
    assert codes(parsed) == [(ProblemCode.INVALID_YAML, None)]
    problem = parsed.problems[0]
    assert problem.doc_path == "docs/a.md"
    assert problem.message.startswith("invalid YAML in frontmatter")
    assert "\n" not in problem.message
    assert parsed.rules == []


def test_invalid_yaml_names_the_doc_line() -> None:
    parsed = parse_doc("a.md", doc("jrn: ok\ntitle: x\nbad: [\n"))
    assert "line 5" in parsed.problems[0].message  # the closing '---', where the stream ended


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("123", "number 123"),
        ("1.5", "number 1.5"),
        ("true", "boolean True"),
        ("[a, b]", "list"),
        ("{a: 1}", "mapping"),
        ("2024-01-01", "date"),
        ("''", "string ''"),
        ("'  '", "string"),
    ],
)
def test_non_string_jrn_is_reported_and_rules_still_parse(value: str, kind: str) -> None:
    parsed = parse_doc("a.md", doc(f"jrn: {value}\nattention:\n  - {{op: file, path: a.md}}\n"))
    assert codes(parsed) == [(ProblemCode.INVALID_JRN, None)]
    assert kind in parsed.problems[0].message
    assert parsed.jrn is None
    assert [rule.path for rule in parsed.rules] == ["a.md"]


def test_jrn_null_means_no_jrn() -> None:
    parsed = parse_doc("a.md", doc("jrn: null\n"))
    assert (parsed.jrn, parsed.problems) == (None, [])


@pytest.mark.parametrize("frontmatter", ["- a\n- b\n", "just a string\n", "42\n"])
def test_frontmatter_must_be_a_mapping(frontmatter: str) -> None:
    parsed = parse_doc("a.md", doc(frontmatter))
    assert codes(parsed) == [(ProblemCode.FRONTMATTER_NOT_MAPPING, None)]


@pytest.mark.parametrize("attention", ["{op: file, path: a}", "src/**", "12"])
def test_attention_must_be_a_list(attention: str) -> None:
    parsed = parse_doc("a.md", doc(f"jrn: x\nattention: {attention}\n"))
    assert codes(parsed) == [(ProblemCode.ATTENTION_NOT_LIST, None)]
    assert parsed.jrn == "x"


def test_attention_null_or_empty_means_no_rules() -> None:
    assert parse_doc("a.md", doc("attention:\n")).problems == []
    assert parse_doc("a.md", doc("attention: []\n")).problems == []


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("{op: dir, path: a}", "unknown op 'dir'"),
        ("{path: a}", "missing op"),
        ("{op: 1, path: a}", "op must be a string"),
        ("{op: file}", "missing path"),
        ("{op: file, path: ''}", "it is empty"),
        ("{op: file, path: 12}", "path must be a string"),
        ("{op: file, path: null}", "path must be a string"),
        ("{op: file, path: 'src/{a,b'}", "unbalanced '{'"),
        ("{op: file, path: '../etc/passwd'}", "'..' is not allowed"),
        ("{op: file, path: a, pth: b}", "unknown key(s) 'pth'"),
        ("{op: file, path: a, source: 3}", "source must be a source name"),
        ("{op: file, path: a, source: ''}", "source is empty"),
        ("{op: file, path: a, keywords: word}", "keywords must be a list"),
        ("{op: file, path: a, keywords: [1]}", "keywords must be non-empty strings"),
        ("{op: file, path: a, keywords: ['']}", "keywords must be non-empty strings"),
        ("src/a.py", "a rule must be a mapping"),
        ("[op, file]", "a rule must be a mapping"),
    ],
)
def test_invalid_rules_are_reported_with_their_index(rule: str, fragment: str) -> None:
    parsed = parse_doc(
        "docs/a.md",
        doc(f"attention:\n  - {{op: file, path: ok.md}}\n  - {rule}\n  - {{op: file, path: b}}\n"),
    )
    assert [r.index for r in parsed.rules] == [0, 2]
    assert {(p.code, p.rule_index) for p in parsed.problems} == {(ProblemCode.INVALID_RULE, 1)}
    assert any(fragment in p.message for p in parsed.problems), parsed.problems
    assert all(p.message.startswith("attention[1]: ") for p in parsed.problems)


def test_every_problem_of_a_rule_is_reported() -> None:
    parsed = parse_doc("a.md", doc("attention:\n  - {op: dir, path: 3, extra: 1}\n"))
    messages = [p.message for p in parsed.problems]
    assert len(messages) == 3
    assert any("unknown key" in m for m in messages)
    assert any("unknown op" in m for m in messages)
    assert any("path must be a string" in m for m in messages)


def test_unclosed_frontmatter_is_reported() -> None:
    parsed = parse_doc("a.md", "---\njrn: x\n# no closing line\n")
    assert codes(parsed) == [(ProblemCode.FRONTMATTER_UNCLOSED, None)]
    assert not parsed.has_frontmatter


def test_huge_frontmatter_is_reported_not_parsed() -> None:
    parsed = parse_doc("a.md", doc("a: '" + "x" * MAX_FRONTMATTER_CHARS + "'\n"))
    assert codes(parsed) == [(ProblemCode.FRONTMATTER_TOO_LARGE, None)]


def test_an_alias_bomb_is_an_invalid_yaml_problem_not_a_hang() -> None:
    text = doc(alias_bomb())
    assert len(text) < 500
    parsed = parse_doc("bomb.md", text)
    assert codes(parsed) == [(ProblemCode.INVALID_YAML, None)]
    assert parsed.problems[0].message == (
        "invalid YAML in frontmatter: anchors and aliases (&name, *name) are not allowed "
        "at line 2, column 4"
    )
    assert parsed.rules == []


@pytest.mark.parametrize(
    "yaml_text",
    [
        "base: &rule {op: file, path: a.py}\nattention: [*rule]\n",
        "attention:\n  - &r\n    op: file\n    path: a.py\n",
        "defaults: &d {op: file}\nattention:\n  - <<: *d\n    path: a.py\n",
    ],
    ids=["alias", "anchor-only", "merge-key"],
)
def test_anchors_aliases_and_merge_keys_are_refused(yaml_text: str) -> None:
    parsed = parse_doc("a.md", doc(yaml_text))
    assert codes(parsed) == [(ProblemCode.INVALID_YAML, None)]
    assert "anchors and aliases" in parsed.problems[0].message


@pytest.mark.parametrize(
    "yaml_text",
    [
        "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "".join(" " * depth + f"k{depth}:\n" for depth in range(MAX_YAML_DEPTH + 1))
        + "  " * 40
        + "x\n",
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused(yaml_text: str) -> None:
    parsed = parse_doc("a.md", doc(yaml_text))
    assert codes(parsed) == [(ProblemCode.INVALID_YAML, None)]
    assert f"nested deeper than {MAX_YAML_DEPTH} levels" in parsed.problems[0].message


def test_rules_nested_as_deep_as_attention_needs_are_fine() -> None:
    parsed = parse_doc("a.md", doc("attention:\n  - op: file\n    path: a.py\n    keywords: [x]\n"))
    assert parsed.problems == [] and len(parsed.rules) == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_frontmatter(yaml_text: str) -> None:
    parsed = parse_doc("a.md", f"---\n{yaml_text}\n---\nbody\n")
    for problem in parsed.problems:
        assert problem.message and "\n" not in problem.message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_text(text: str) -> None:
    parse_doc("a.md", text)
