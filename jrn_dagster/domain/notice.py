"""The NoticeAgent's edit: one "source changed" block per source, at the top of a doc's body.

Format (the doc's own line endings are used)::

    <!-- jrn:source-changed:start source=api -->
    > **Source changed:** `api` moved from `0123456789ab` to `89abcdef0123` ([compare](<url>)).
    > Files this doc may describe changed; review it and remove this notice when done.
    >
    > Changed files (2):
    > - `src/api/routes.py`
    > - `src/api/models.py`
    >
    > Commits (2):
    > - `89abcdef0123` Add the orders route (#488) (Ada)
    > - `456789abcdef` Merge pull request #487 from acme/models (Grace)
    <!-- jrn:source-changed:end source=api -->

The commits list (the range's newest first, at most ``MAX_NOTICE_COMMITS``) is left out when
none is known. Subjects and author names are untrusted: every markdown character in them is
escaped (``plain_text``).

One block per source name: a doc watched through two sources gets two blocks, each refreshed
on its own. The block sits right after the frontmatter (or at the top of a doc without one);
an existing block for the same source is replaced in place, so a newer range never adds a
second block. Everything outside the block is preserved byte for byte, and applying the same
inputs twice gives the same text.
"""

from collections.abc import Iterable
from urllib.parse import urlsplit

from jrn_dagster.domain.commits import SourceCommits
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.frontmatter import split_frontmatter
from jrn_dagster.domain.markdown_text import code_span, plain_text
from jrn_dagster.domain.refs import validate_sha
from jrn_dagster.domain.validation import validate_name

MAX_NOTICE_FILES = 20
MAX_NOTICE_COMMITS = 5
SHORT_SHA = 12
_START = "<!-- jrn:source-changed:start source={} -->"
_END = "<!-- jrn:source-changed:end source={} -->"


def notice_markers(source_name: str) -> tuple[str, str]:
    """The start and end marker lines of ``source_name``'s block."""
    name = validate_name(source_name, "source")
    return _START.format(name), _END.format(name)


def compare_url(repo: str, base_sha: str | None, head_sha: str) -> str | None:
    """GitHub's compare view (github.com and GitHub Enterprise Server) for ``base...head``;
    None without a base. ``repo`` is a ``host/owner/repo`` coordinate."""
    if not base_sha:
        return None
    coordinate = RepoCoordinate.parse(repo)
    return (
        f"https://{coordinate.host}/{coordinate.owner}/{coordinate.repo}"
        f"/compare/{validate_sha(base_sha)}...{validate_sha(head_sha)}"
    )


def _check_compare_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidInputError(f"invalid compare URL {url!r}: expected an http(s) URL")
    if any(ch.isspace() or ch in "<>" or ord(ch) < 0x20 for ch in url):
        raise InvalidInputError(f"invalid compare URL {url!r}: it contains spaces or '<', '>'")
    return url


def _range_text(
    source_name: str, base_sha: str | None, head_sha: str, compare_url: str | None
) -> str:
    head = code_span(head_sha[:SHORT_SHA])
    if base_sha:
        text = f"{code_span(source_name)} moved from {code_span(base_sha[:SHORT_SHA])} to {head}"
    else:
        text = f"{code_span(source_name)} changed up to {head} (no earlier commit to compare with)"
    if compare_url:
        text += f" ([compare](<{_check_compare_url(compare_url)}>))"
    return text + "."


def _one_line(text: str) -> str:
    return " ".join(text.split()).rstrip(".")


def render_notice(
    *,
    source_name: str,
    changed_files: Iterable[str],
    base_sha: str | None,
    head_sha: str,
    compare_url: str | None,
    newline: str = "\n",
    comparison: str | None = None,
    commits: SourceCommits | None = None,
) -> str:
    """The block's text, markers included, without a final line ending. ``comparison``: what
    the head was compared with, when a reader needs telling (a rewritten history); ``commits``:
    the range's commits, listed compactly."""
    start, end = notice_markers(source_name)
    if not head_sha.strip():
        raise InvalidInputError("a source-changed notice needs the head commit")
    files = sorted(set(changed_files))
    lines = [
        start,
        f"> **Source changed:** {_range_text(source_name, base_sha, head_sha, compare_url)}",
        *([f"> {_one_line(comparison)}."] if comparison else []),
        "> Files this doc may describe changed; review it and remove this notice when done.",
        ">",
        f"> Changed files ({len(files)}):",
    ]
    lines.extend(f"> - {code_span(path)}" for path in files[:MAX_NOTICE_FILES])
    if len(files) > MAX_NOTICE_FILES:
        lines.append(f"> - … and {len(files) - MAX_NOTICE_FILES} more")
    if commits is not None and commits.commits:
        lines.extend(_commit_lines(commits))
    lines.append(end)
    return newline.join(lines)


def _commit_lines(commits: SourceCommits) -> list[str]:
    lines = [">", f"> Commits ({commits.total_shown}):"]
    for commit in commits.commits[:MAX_NOTICE_COMMITS]:
        lines.append(
            f"> - {code_span(commit.sha[:SHORT_SHA])} {plain_text(commit.subject)}"
            + (f" ({plain_text(commit.author)})" if commit.author else "")
        )
    more = len(commits.commits) - MAX_NOTICE_COMMITS + commits.omitted
    if more > 0:
        lines.append(f"> - … and {more}{'+' if commits.omitted else ''} more")
    return lines


def _blocks(content: str, body_start: int, start: str, end: str) -> list[tuple[int, int]]:
    """(offset of the start line, offset where the end line's text ends) of each block."""
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    position = body_start
    while position < len(content):
        newline_at = content.find("\n", position)
        line_end = len(content) if newline_at < 0 else newline_at
        line = content[position:line_end].strip()
        if line == start and open_at is None:
            open_at = position
        elif line == end and open_at is not None:
            text_end = line_end - 1 if content[position:line_end].endswith("\r") else line_end
            spans.append((open_at, text_end))
            open_at = None
        position = line_end + 1
    if open_at is not None:
        raise InvalidInputError(
            f"the doc has a notice start marker {start!r} without its end marker; "
            "fix or remove it by hand"
        )
    return spans


def apply_notice(
    content: str,
    *,
    source_name: str,
    changed_files: list[str],
    base_sha: str | None,
    head_sha: str,
    compare_url: str | None,
    comparison: str | None = None,
    commits: SourceCommits | None = None,
) -> str:
    """``content`` with ``source_name``'s notice block added or refreshed."""
    split = split_frontmatter(content)
    if split.unclosed:
        raise InvalidInputError(
            "cannot place a notice: the doc's frontmatter has no closing '---' line"
        )
    block = render_notice(
        source_name=source_name,
        changed_files=changed_files,
        base_sha=base_sha,
        head_sha=head_sha,
        compare_url=compare_url,
        newline=split.newline,
        comparison=comparison,
        commits=commits,
    )
    start, end = notice_markers(source_name)
    spans = _blocks(content, split.body_start, start, end)
    if spans:
        # Refresh the first block in place; drop any copies of it (with their line ending).
        out = content
        for span_start, span_end in reversed(spans[1:]):
            after = span_end
            if out.startswith("\r\n", after):
                after += 2
            elif out.startswith("\n", after):
                after += 1
            out = out[:span_start] + out[after:]
        first_start, first_end = spans[0]
        return out[:first_start] + block + out[first_end:]
    return _insert(content, split.body_start, split.yaml_text is not None, block, split.newline)


def _insert(content: str, at: int, after_frontmatter: bool, block: str, newline: str) -> str:
    head, rest = content[:at], content[at:]
    insert = block + newline
    if after_frontmatter:
        if not head.endswith("\n"):
            head += newline  # the closing '---' was the last line, without a line ending
        insert = newline + insert
    if rest and not rest.startswith(("\n", "\r\n")):
        insert += newline  # a blank line between the notice and the body
    return head + insert + rest
