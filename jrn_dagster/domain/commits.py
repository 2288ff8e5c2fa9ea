"""The commits of a run's range, as a reviewer reads them next to a proposal.

``git log`` output is hostile input (anyone who can push writes the subjects and author names):
it is parsed with fixed separators, every field is bounded and stripped of control characters
(they could rewrite a terminal or break a markdown line), and at most ``MAX_COMMITS`` commits are
kept per source, newest first, with the count of the ones left out. See docs/agents.md
("What each agent receives").
"""

import re

from pydantic import Field

from jrn_dagster.domain.base import CamelModel
from jrn_dagster.domain.refs import is_sha

MAX_COMMITS = 200
MAX_SUBJECT_CHARS = 200
MAX_AUTHOR_CHARS = 100

# ``git log -z --format=LOG_FORMAT``: records end with NUL; in a record the SHA, the author name
# and the subject are separated by newlines (git keeps newlines out of names and subjects).
LOG_FORMAT = "%H%n%an%n%s"

# "Merge pull request #488 from owner/branch" (a merge commit) or "Subject (#488)" (a squash).
_MERGE_PR = re.compile(r"^Merge pull request #(\d{1,9})\b")
_SQUASH_PR = re.compile(r"\(#(\d{1,9})\)\s*$")


def visible(text: str, limit: int) -> str:
    """``text`` on one line, control characters (escape sequences included) replaced by spaces,
    cut to ``limit`` characters (an ellipsis marks a cut)."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def pull_request_number(subject: str) -> int | None:
    """The pull request a subject names: GitHub's merge commit or squash-merge suffix."""
    match = _MERGE_PR.match(subject) or _SQUASH_PR.search(subject)
    return int(match.group(1)) if match else None


class RangeCommit(CamelModel):
    sha: str
    subject: str
    author: str
    pr_number: int | None = None


class SourceCommits(CamelModel):
    """The commits of one source's range ``base_sha..head_sha`` (all of ``head_sha``'s history,
    bounded, when there is no base)."""

    source_name: str
    base_sha: str | None
    head_sha: str
    commits: list[RangeCommit] = Field(default_factory=list)
    omitted: int = 0  # commits past MAX_COMMITS (at least 1 when some were left out)
    unavailable: str | None = None  # why the log could not be read (the range is still shown)

    @property
    def total_shown(self) -> str:
        more = f"+{self.omitted}" if self.omitted else ""
        return f"{len(self.commits)}{more}"


def parse_log(output: str, *, limit: int = MAX_COMMITS) -> tuple[list[RangeCommit], int]:
    """The commits of ``git log -z --format=LOG_FORMAT -n (limit + 1)`` output, and how many
    were left out (1 means "at least one": the log was read one past the limit). Records that do
    not start with a SHA are skipped."""
    commits: list[RangeCommit] = []
    for record in output.split("\0"):
        sha, _, rest = record.strip("\n").partition("\n")
        if not is_sha(sha):
            continue
        author, _, subject = rest.partition("\n")
        subject = visible(subject, MAX_SUBJECT_CHARS)
        commits.append(
            RangeCommit(
                sha=sha,
                subject=subject,
                author=visible(author, MAX_AUTHOR_CHARS),
                pr_number=pull_request_number(subject),
            )
        )
    return commits[:limit], max(0, len(commits) - limit)
