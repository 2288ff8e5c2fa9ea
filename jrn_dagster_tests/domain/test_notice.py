import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.frontmatter import parse_doc
from jrn_dagster.domain.notice import (
    MAX_NOTICE_FILES,
    apply_notice,
    compare_url,
    notice_markers,
)

BASE = "1" * 40
HEAD = "2" * 40
NEWER = "3" * 40
URL = f"https://github.com/acme/api/compare/{BASE}...{HEAD}"
FRONTMATTER = "---\njrn: docs-api\nattention:\n  - {op: file, path: 'src/**'}\n---\n"
BODY = "\n# API\n\nSome text.\n"
START, END = notice_markers("api")


def notice(content: str, **overrides: object) -> str:
    arguments: dict[str, object] = {
        "source_name": "api",
        "changed_files": ["src/b.py", "src/a.py"],
        "base_sha": BASE,
        "head_sha": HEAD,
        "compare_url": URL,
    }
    arguments.update(overrides)
    return apply_notice(content, **arguments)  # type: ignore[arg-type]


def test_notice_goes_after_the_frontmatter_and_keeps_the_rest() -> None:
    doc = FRONTMATTER + BODY
    out = notice(doc)
    assert out.startswith(FRONTMATTER)
    assert out.endswith(BODY)
    block = out[len(FRONTMATTER) : -len(BODY)]
    assert block == (
        "\n"
        f"{START}\n"
        f"> **Source changed:** `api` moved from `{BASE[:12]}` to `{HEAD[:12]}` "
        f"([compare](<{URL}>)).\n"
        "> Files this doc may describe changed; review it and remove this notice when done.\n"
        ">\n"
        "> Changed files (2):\n"
        "> - `src/a.py`\n"
        "> - `src/b.py`\n"
        f"{END}\n"
    )
    # the frontmatter still parses to the same rules
    assert parse_doc("d.md", out).rules == parse_doc("d.md", doc).rules


def test_applying_twice_changes_nothing_more() -> None:
    once = notice(FRONTMATTER + BODY)
    assert notice(once) == once


def test_a_newer_range_replaces_the_block() -> None:
    once = notice(FRONTMATTER + BODY)
    newer = notice(once, base_sha=HEAD, head_sha=NEWER, changed_files=["src/c.py"])
    assert newer.count(START) == 1 and newer.count(END) == 1
    assert NEWER[:12] in newer and "src/c.py" in newer and "src/a.py" not in newer
    assert newer.startswith(FRONTMATTER) and newer.endswith(BODY)
    # refreshing back gives exactly the first result
    assert notice(newer) == once


def test_one_block_per_source() -> None:
    both = notice(notice(FRONTMATTER + BODY), source_name="web", changed_files=["app/x.ts"])
    web_start, _ = notice_markers("web")
    assert both.count(START) == 1 and both.count(web_start) == 1
    refreshed = notice(both, head_sha=NEWER)
    assert refreshed.count(START) == 1 and refreshed.count(web_start) == 1
    web_block = both[both.index(web_start) : both.index(START)]
    assert web_block in refreshed  # the other source's block is untouched


def test_crlf_doc_keeps_crlf_and_its_bytes() -> None:
    frontmatter = FRONTMATTER.replace("\n", "\r\n")
    body = BODY.replace("\n", "\r\n")
    out = notice(frontmatter + body)
    assert out.startswith(frontmatter) and out.endswith(body)
    assert "\n" not in out.replace("\r\n", "")
    assert notice(out) == out


def test_bom_stays_first() -> None:
    doc = "\ufeff" + FRONTMATTER + BODY
    out = notice(doc)
    assert out.startswith("\ufeff" + FRONTMATTER)
    assert notice(out) == out
    plain = notice("\ufeff# Title\n")
    assert plain.startswith("\ufeff" + START)
    assert plain.endswith("\n\n# Title\n")


@pytest.mark.parametrize(
    ("doc", "expected_tail"),
    [
        ("# Title\n", "\n\n# Title\n"),
        ("", "\n"),
        ("Text without newline", "\n\nText without newline"),
    ],
)
def test_docs_without_frontmatter_get_the_block_first(doc: str, expected_tail: str) -> None:
    out = notice(doc)
    assert out.startswith(START)
    assert out.endswith(END + expected_tail)
    assert notice(out) == out


def test_frontmatter_without_a_final_newline() -> None:
    out = notice("---\njrn: x\n---")
    assert out.startswith("---\njrn: x\n---\n\n" + START)
    assert notice(out) == out


def test_marker_text_inside_the_frontmatter_is_not_a_block() -> None:
    doc = f"---\njrn: x\n# {START}\n---\nbody\n"
    out = notice(doc)
    assert out.startswith(f"---\njrn: x\n# {START}\n---\n\n{START}")


def test_copies_of_a_block_collapse_into_one() -> None:
    once = notice(FRONTMATTER + BODY)
    block = once[once.index(START) : once.index(END) + len(END)]
    doubled = once + "\n" + block + "\n"
    out = notice(doubled, head_sha=NEWER)
    assert out.count(START) == 1
    assert out == notice(once, head_sha=NEWER) + "\n"


def test_unterminated_block_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="without its end marker"):
        notice(f"{START}\n> half a notice\n")


def test_unclosed_frontmatter_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="no closing '---'"):
        notice("---\njrn: x\nbody\n")


def test_changed_files_are_sorted_deduplicated_and_capped() -> None:
    files = [f"src/f{i:02d}.py" for i in range(MAX_NOTICE_FILES + 5)]
    out = notice("", changed_files=list(reversed(files)) + files[:3])
    assert f"> Changed files ({MAX_NOTICE_FILES + 5}):" in out
    listed = [line for line in out.splitlines() if line.startswith("> - `")]
    assert listed == [f"> - `{f}`" for f in files[:MAX_NOTICE_FILES]]
    assert "> - … and 5 more" in out


def test_awkward_file_names_stay_inside_their_code_span() -> None:
    out = notice("", changed_files=["a`b.md", "new\nline.md"])
    assert "> - `` a`b.md ``" in out.splitlines()  # CommonMark strips the padding
    assert "> - `new\\nline.md`" in out.splitlines()


def test_no_base_and_no_compare_url() -> None:
    out = notice("", base_sha=None, compare_url=None)
    assert f"changed up to `{HEAD[:12]}` (no earlier commit to compare with)." in out
    assert "compare" not in out.replace("compare with", "")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.com/x",
        "https://",
        "https://a.b/x y",
        "https://a.b/<x>",
    ],
)
def test_compare_url_must_be_plain_http(url: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid compare URL"):
        notice("", compare_url=url)


@pytest.mark.parametrize("name", ["", "has space", "a-->b", "x\ny"])
def test_source_name_must_be_valid(name: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid source name"):
        notice("", source_name=name)


bodies = st.text(max_size=200).filter(
    lambda text: "jrn:source-changed" not in text and not text.lstrip("\ufeff").startswith("---")
)


@settings(max_examples=200, deadline=None)
@given(bodies, st.booleans(), st.booleans())
def test_notice_is_idempotent_and_preserves_the_doc(
    body: str, crlf: bool, frontmatter: bool
) -> None:
    head = FRONTMATTER if frontmatter else ""
    if crlf:
        head = head.replace("\n", "\r\n")
    doc = head + body
    out = notice(doc)
    assert notice(out) == out
    assert out.startswith(head)
    assert out.endswith(body)
    refreshed = notice(out, head_sha=NEWER)
    assert refreshed.count(START) == 1 and refreshed.endswith(body)


def test_compare_url_for_github_and_enterprise() -> None:
    assert compare_url("github.com/acme/api", BASE, HEAD) == (
        f"https://github.com/acme/api/compare/{BASE}...{HEAD}"
    )
    assert compare_url("git.corp.example/acme/api", BASE, HEAD) == (
        f"https://git.corp.example/acme/api/compare/{BASE}...{HEAD}"
    )
    assert compare_url("github.com/acme/api", None, HEAD) is None
    with pytest.raises(InvalidInputError):
        compare_url("github.com/acme/api", "main", HEAD)
