"""Doc frontmatter: a ``---`` line, YAML, a ``---`` line, then the markdown body.

The YAML is read with ruamel.yaml's pure-Python safe loader, which implements YAML 1.2: ``on``,
``yes`` and ``off`` stay strings, and no tag can construct arbitrary objects. Anchors and aliases
are refused: a few hundred characters of nested aliases expand to billions of nodes for whoever
walks the value (an "alias bomb"). A UTF-8 BOM and CRLF line endings are accepted. Anything wrong
is recorded in ``ParsedDoc.problems``; parsing never raises on doc content.
"""

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent

from jrn_dagster.domain.attention import (
    AttentionRule,
    DocProblem,
    ProblemCode,
    describe,
    parse_attention,
)
from jrn_dagster.domain.base import CamelModel

BOM = "\ufeff"
DELIMITER = "---"
# Parsing is pure Python (about 1 s per 100 KiB of rules): the cap bounds what one doc costs.
MAX_FRONTMATTER_CHARS = 64 * 1024
# Attention rules need 4 levels; deeper nesting is refused before it is parsed further.
MAX_YAML_DEPTH = 32

# A "%YAML 1.1" directive would switch the loader to YAML 1.1 ("on: yes" -> {True: True}).
_DIRECTIVE = re.compile(r"^%", re.MULTILINE)

_loaders = threading.local()


@dataclass(frozen=True)
class FrontmatterSplit:
    """Where a doc's parts are, as offsets into the original text (BOM included).

    ``yaml_text`` is None when the doc has no frontmatter (or an unclosed one);
    ``body_start`` is where the markdown body begins; ``newline`` is the doc's line ending,
    taken from its first line (``"\\n"`` for a one-line doc).
    """

    bom: str
    yaml_text: str | None
    yaml_first_line: int  # 1-based line number of the first YAML line in the doc
    body_start: int
    newline: str
    unclosed: bool = False


class ParsedDoc(CamelModel):
    path: str
    jrn: str | None = None
    rules: list[AttentionRule] = Field(default_factory=list)
    problems: list[DocProblem] = Field(default_factory=list)
    has_frontmatter: bool = False
    body_start: int = 0  # offset of the markdown body in the text that was parsed
    newline: str = "\n"


def _lines(text: str, start: int) -> Iterator[tuple[int, str, int]]:
    """(line start, line without its ending, next line start); only ``\\n`` ends a line."""
    position = start
    while position < len(text):
        end = text.find("\n", position)
        after = len(text) if end < 0 else end + 1
        yield position, text[position : len(text) if end < 0 else end], after
        position = after


def _is_delimiter(line: str) -> bool:
    return line.rstrip("\r").rstrip(" \t") == DELIMITER


def split_frontmatter(text: str) -> FrontmatterSplit:
    bom = BOM if text.startswith(BOM) else ""
    first_end = text.find("\n")
    newline = "\r\n" if first_end > 0 and text[first_end - 1] == "\r" else "\n"
    lines = _lines(text, len(bom))
    first = next(lines, None)
    if first is None or not _is_delimiter(first[1]):
        return FrontmatterSplit(bom, None, 0, len(bom), newline)
    yaml_start = first[2]
    for line_start, line, after in lines:
        if _is_delimiter(line):
            return FrontmatterSplit(bom, text[yaml_start:line_start], 2, after, newline)
    return FrontmatterSplit(bom, None, 0, len(bom), newline, unclosed=True)


class _BoundedComposer(Composer):
    """Refuses anchors (``&name``) and aliases (``*name``, merge keys ``<<: *name``) where they
    appear, before anything refers to a shared node, and nesting deeper than
    ``MAX_YAML_DEPTH``. Events are parsed as the composer asks for them, so a refusal also stops
    the scanner early (its work grows with the square of the nesting depth)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed", event.start_mark
            )
        if self._depth >= MAX_YAML_DEPTH:
            raise ComposerError(
                None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml() -> YAML:
    # A YAML instance is not thread-safe and is costly to build: one per thread, reused.
    loader = getattr(_loaders, "yaml", None)
    if loader is None:
        # pure: ruamel's C loader behaves partly like a YAML 1.1 loader (its documentation).
        loader = YAML(typ="safe", pure=True)
        loader.Composer = _BoundedComposer
        _loaders.yaml = loader
    return loader


def _yaml_problem(error: Exception, first_line: int) -> str:
    if isinstance(error, MarkedYAMLError):
        what = (error.problem or error.context or "malformed YAML").strip()
        mark = error.problem_mark or error.context_mark
        where = f" at line {first_line + mark.line}, column {mark.column + 1}" if mark else ""
        return f"invalid YAML in frontmatter: {what}{where}"
    return f"invalid YAML in frontmatter: {' '.join(str(error).split())[:200]}"


def load_frontmatter(path: str, split: FrontmatterSplit) -> tuple[object, list[DocProblem]]:
    """The frontmatter's YAML value (None if absent or unusable) and the problems found."""
    if split.unclosed:
        return None, [
            DocProblem(
                doc_path=path,
                code=ProblemCode.FRONTMATTER_UNCLOSED,
                message="frontmatter starts with '---' but has no closing '---' line",
            )
        ]
    if split.yaml_text is None:
        return None, []
    if len(split.yaml_text) > MAX_FRONTMATTER_CHARS:
        return None, [
            DocProblem(
                doc_path=path,
                code=ProblemCode.FRONTMATTER_TOO_LARGE,
                message=f"frontmatter is longer than {MAX_FRONTMATTER_CHARS} characters",
            )
        ]
    if _DIRECTIVE.search(split.yaml_text):
        message = "invalid YAML in frontmatter: directives (%YAML, %TAG) are not allowed"
        return None, [DocProblem(doc_path=path, code=ProblemCode.INVALID_YAML, message=message)]
    try:
        return _yaml().load(split.yaml_text), []
    except Exception as error:
        # (RecursionError on deep nesting, ValueError on odd scalars); a doc never crashes a run.
        message = _yaml_problem(error, split.yaml_first_line)
        return None, [DocProblem(doc_path=path, code=ProblemCode.INVALID_YAML, message=message)]


def parse_doc(path: str, text: str) -> ParsedDoc:
    """The doc's id, its valid attention rules and every problem with the rest."""
    split = split_frontmatter(text)
    data, problems = load_frontmatter(path, split)
    empty = ParsedDoc(
        path=path,
        has_frontmatter=split.yaml_text is not None,
        body_start=split.body_start,
        newline=split.newline,
    )
    if data is None:
        return empty.model_copy(update={"problems": problems})
    if not isinstance(data, dict):
        problem = DocProblem(
            doc_path=path,
            code=ProblemCode.FRONTMATTER_NOT_MAPPING,
            message=f"frontmatter must be a YAML mapping, got {describe(data)}",
        )
        return empty.model_copy(update={"problems": [problem]})
    jrn = data.get("jrn")
    if jrn is not None and (not isinstance(jrn, str) or not jrn.strip()):
        problems.append(
            DocProblem(
                doc_path=path,
                code=ProblemCode.INVALID_JRN,
                message=f"jrn must be a non-empty string, got {describe(jrn)}",
            )
        )
        jrn = None
    rules, rule_problems = parse_attention(path, data.get("attention"))
    return empty.model_copy(
        update={
            "jrn": jrn.strip() if isinstance(jrn, str) else None,
            "rules": rules,
            "problems": problems + rule_problems,
        }
    )
