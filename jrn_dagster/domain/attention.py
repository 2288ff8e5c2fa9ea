"""Attention rules: which changed files make a doc worth another look.

A doc lists them in its frontmatter (``attention: [{op: file, path, source?, keywords?}]``).
Every rule that cannot be used is reported as a DocProblem with its index, never dropped
silently: a typo in a rule must be visible in the impact report, not a doc that quietly goes
stale.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from jrn_dagster.domain.base import CamelModel
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.globs import validated_path_pattern

RULE_KEYS = ("op", "path", "source", "keywords")
SUPPORTED_OPS = ("file",)
MAX_KEYWORDS = 100


class ProblemCode(StrEnum):
    FRONTMATTER_UNCLOSED = "frontmatter_unclosed"
    FRONTMATTER_TOO_LARGE = "frontmatter_too_large"
    INVALID_YAML = "invalid_yaml"
    FRONTMATTER_NOT_MAPPING = "frontmatter_not_mapping"
    INVALID_JRN = "invalid_jrn"
    ATTENTION_NOT_LIST = "attention_not_list"
    INVALID_RULE = "invalid_rule"


class DocProblem(CamelModel):
    """Why a doc, or one of its rules (``rule_index`` into ``attention``), cannot be used."""

    doc_path: str
    rule_index: int | None = None
    code: ProblemCode
    message: str


class AttentionRule(CamelModel):
    """One valid rule. ``path`` is the normalised glob (see jrn_dagster.domain.globs)."""

    index: int = Field(ge=0)  # position in the doc's attention list, for messages and evidence
    op: Literal["file"] = "file"
    path: str
    source: str | None = Field(default=None, min_length=1)
    keywords: tuple[str, ...] = ()

    @field_validator("path")
    @classmethod
    def _normalised_glob(cls, value: str) -> str:
        # However a rule is built, the index can rely on a valid, normalised pattern.
        return validated_path_pattern(value).pattern


def describe(value: object) -> str:
    """A short, one-line description of a YAML value for messages."""
    kinds = {bool: "boolean", int: "number", float: "number", str: "string", list: "list"}
    kind = "mapping" if isinstance(value, Mapping) else kinds.get(type(value), type(value).__name__)
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"


def parse_attention(doc_path: str, raw: object) -> tuple[list[AttentionRule], list[DocProblem]]:
    """Validate the frontmatter's ``attention`` value: the usable rules and every problem."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [
            DocProblem(
                doc_path=doc_path,
                code=ProblemCode.ATTENTION_NOT_LIST,
                message=f"attention must be a list of rules, got {describe(raw)}",
            )
        ]
    rules: list[AttentionRule] = []
    problems: list[DocProblem] = []
    for index, item in enumerate(raw):
        path, messages = _check_rule(item)
        if path is None or messages or not isinstance(item, Mapping):
            problems.extend(
                DocProblem(
                    doc_path=doc_path,
                    rule_index=index,
                    code=ProblemCode.INVALID_RULE,
                    message=f"attention[{index}]: {message}",
                )
                for message in messages
            )
            continue
        rules.append(_rule(index, item, path))
    return rules, problems


def _check_rule(item: object) -> tuple[str | None, list[str]]:
    """The rule's normalised path (None if unusable) and every problem found in it."""
    if not isinstance(item, Mapping):
        return None, [
            f"a rule must be a mapping like {{op: file, path: ...}}, got {describe(item)}"
        ]
    messages: list[str] = []
    unknown = [key for key in item if key not in RULE_KEYS]
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        messages.append(f"unknown key(s) {names} (allowed: {', '.join(RULE_KEYS)})")
    messages.extend(_op_problems(item))
    path, path_problems = _check_path(item)
    messages.extend(path_problems)
    messages.extend(_source_problems(item))
    messages.extend(_keyword_problems(item))
    return path, messages


def _op_problems(item: Mapping[Any, Any]) -> list[str]:
    if "op" not in item:
        return ["missing op (expected op: file)"]
    op = item["op"]
    if not isinstance(op, str):
        return [f"op must be a string, got {describe(op)}"]
    if op not in SUPPORTED_OPS:
        return [f"unknown op {op!r} (supported: {', '.join(SUPPORTED_OPS)})"]
    return []


def _check_path(item: Mapping[Any, Any]) -> tuple[str | None, list[str]]:
    if "path" not in item:
        return None, ["missing path (a file path or glob relative to the repository root)"]
    path = item["path"]
    if not isinstance(path, str):
        return None, [f"path must be a string, got {describe(path)}"]
    try:
        return validated_path_pattern(path).pattern, []
    except InvalidInputError as error:
        return None, [str(error)]


def _source_problems(item: Mapping[Any, Any]) -> list[str]:
    source = item.get("source")
    if source is None:
        return []
    if not isinstance(source, str):
        return [f"source must be a source name (string), got {describe(source)}"]
    if not source.strip():
        return ["source is empty (omit it to mean the space's only source)"]
    return []


def _keyword_problems(item: Mapping[Any, Any]) -> list[str]:
    keywords = item.get("keywords")
    if keywords is None:
        return []
    if not isinstance(keywords, list):
        return [f"keywords must be a list of strings, got {describe(keywords)}"]
    if len(keywords) > MAX_KEYWORDS:
        return [f"keywords has {len(keywords)} entries (at most {MAX_KEYWORDS})"]
    bad = [keyword for keyword in keywords if not isinstance(keyword, str) or not keyword.strip()]
    if bad:
        return [f"keywords must be non-empty strings, got {describe(bad[0])}"]
    return []


def _rule(index: int, item: Mapping[Any, Any], path: str) -> AttentionRule:
    source = item.get("source")
    keywords = item.get("keywords") or []
    return AttentionRule(
        index=index,
        path=path,
        source=source.strip() if isinstance(source, str) else None,
        keywords=_unique_keywords(keywords),
    )


def _unique_keywords(keywords: list[str]) -> tuple[str, ...]:
    # Matching ignores case, so "Foo" and "foo" are one keyword; the first spelling is kept.
    seen: dict[str, str] = {}
    for keyword in keywords:
        seen.setdefault(keyword.strip().casefold(), keyword.strip())
    return tuple(seen.values())
