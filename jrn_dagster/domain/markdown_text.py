"""Putting untrusted text (file paths, messages) into markdown without breaking it."""

MAX_CELL_CHARS = 200


def _visible(text: str) -> str:
    # Control characters (git allows newlines in file names) would break lines and tables.
    return "".join(ch if ord(ch) >= 0x20 and ord(ch) != 0x7F else repr(ch)[1:-1] for ch in text)


# The characters that can open markdown syntax inside a line: emphasis, code, links and images
# (no ``[``, no link), autolinks and HTML, entities, tables, strikethrough.
_MARKDOWN_ACTIVE = frozenset("\\`*_[]<>&|~")


def plain_text(text: str) -> str:
    """``text`` as literal markdown text on one line: every character that could start markdown
    syntax inside a line is backslash-escaped (CommonMark allows it for any ASCII punctuation),
    so no link, HTML, emphasis or marker survives; control characters are shown escaped."""
    flat = " ".join(_visible(text).split())
    return "".join("\\" + ch if ch in _MARKDOWN_ACTIVE else ch for ch in flat)


def code_span(text: str) -> str:
    """``text`` as one inline code span, whatever backticks it contains (CommonMark rules)."""
    value = _visible(text)
    longest = current = 0
    for ch in value:
        current = current + 1 if ch == "`" else 0
        longest = max(longest, current)
    fence = "`" * (longest + 1)
    pad = " " if longest or value.startswith(" ") or value.endswith(" ") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def table_cell(text: str | None) -> str:
    """Plain text for one GFM table cell: one line, ``|`` escaped, long values shortened."""
    if not text:
        return ""
    flat = " ".join(_visible(text).replace("|", "\\|").split())
    return flat if len(flat) <= MAX_CELL_CHARS else flat[: MAX_CELL_CHARS - 1] + "…"


def table_code(text: str | None) -> str:
    """A code span inside a table cell (GFM splits cells before inline parsing, so ``|`` is
    escaped even inside the span)."""
    return code_span(table_cell(text)) if text else ""
