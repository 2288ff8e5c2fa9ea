"""``jrn-dagster rules replay``: what a space's attention rules would have flagged over history.

The branch's history is cut into the ranges the pipeline would have seen (docs/attention-rules.md,
"Tune your rules"): one per first-parent commit by default (``parent^1..commit``, so a merged PR
is one range), or one per non-merge commit. Each range is matched with the impact op's code:
the same ``--name-status -z -M`` changes parsed by ``parse_name_status``, the same virtual views,
the same keyword diffs, and one ``PreparedRules`` built once for the whole replay. Nothing is
written: no Dagster run, no database row, no change to a local repository (it is read in place).

A repository coordinate is cloned blobless into a temporary local sandbox with the integration of
the space's bound true source, as the clone op does, and the history is deepened until the whole
window is there; the sandbox is released afterwards.
"""

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.changes import (
    ChangedFile,
    SourceChanges,
    SourceRef,
    parse_name_status,
    unquote_path,
)
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import InvalidInputError, NotFoundError
from jrn_dagster.domain.frontmatter import ParsedDoc, parse_doc, split_frontmatter
from jrn_dagster.domain.impact import KeywordLookup, PreparedRules, prepare_rules
from jrn_dagster.domain.records import Integration, Source
from jrn_dagster.domain.refs import validate_branch
from jrn_dagster.domain.rules_replay import ReplayMode, ReplayRange, ReplayReport, ReplayTally
from jrn_dagster.domain.validation import normalize_relative_path
from jrn_dagster.ports.git import GitReader, HistoryRequest, OpenedHistory, Repositories
from jrn_dagster.ports.sandbox import MAX_OUTPUT_BYTES
from jrn_dagster.services.impact import (
    GIT_DIFF_TIMEOUT_SECONDS,
    keyword_diff_args,
    keyword_diff_text,
    usable_keyword_diff,
)

DEFAULT_LAST = 200
MAX_RANGES = 20_000
DEFAULT_NOISY_SHARE = 0.5
GIT_READ_TIMEOUT_SECONDS = 600.0
# Commits fetched at first for ``--since`` (``--last N`` fetches N + 1); each deepening doubles.
SINCE_INITIAL_DEPTH = 64
_HEADER_FORMAT = "--format=%H%x1f%P%x1f%s"
_HEX = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_STATUS = re.compile(r"[A-Z][0-9]{0,3}")

ProgressCallback = Callable[[int, int], None]
"""(ranges replayed, ranges in all); called after each range."""


@dataclass(frozen=True)
class ReplayRequest:
    space: str
    repo: str  # a directory (read in place) or a coordinate host/owner/repo (cloned)
    branch: str | None = None
    since: str | None = None
    last: int | None = None
    mode: ReplayMode = ReplayMode.FIRST_PARENT
    source: str | None = None  # the bound source the repository stands for
    doc: str | None = None  # replay only this doc...
    rules_text: str | None = None  # ...with these rules instead of the stored ones
    noisy_share: float = DEFAULT_NOISY_SHARE

    def check(self) -> None:
        if self.since is not None and self.last is not None:
            raise InvalidInputError("give --since or --last, not both")
        if self.last is not None and not 1 <= self.last <= MAX_RANGES:
            raise InvalidInputError(f"--last must be between 1 and {MAX_RANGES}, got {self.last}")
        if self.since is not None and (not self.since.strip() or "\0" in self.since):
            raise InvalidInputError("--since needs a revision")
        if not 0 <= self.noisy_share < 1:
            raise InvalidInputError(
                f"--noisy-share must be at least 0 and below 1, got {self.noisy_share}"
            )
        if self.rules_text is not None and self.doc is None:
            raise InvalidInputError("--rules-file needs --doc PATH: the doc those rules are for")
        if self.branch is not None:
            validate_branch(self.branch)

    @property
    def window_last(self) -> int | None:
        """How many commits to replay: ``--last``, else all since ``--since``, else the default."""
        if self.last is not None or self.since is not None:
            return self.last
        return DEFAULT_LAST


@dataclass(frozen=True)
class _Commit:
    sha: str
    parents: tuple[str, ...]
    subject: str


def _git_output(reader: GitReader, *args: str, what: str) -> str:
    result = reader.read(*args)
    if result.exit_code != 0:
        said = " | ".join(result.stderr.strip().splitlines()[-2:]) or f"exit {result.exit_code}"
        raise InvalidInputError(f"could not {what}: {said}")
    if len(result.stdout) >= MAX_OUTPUT_BYTES:
        raise InvalidInputError(
            f"could not {what}: git's output is too large; replay fewer commits"
        )
    return result.stdout


def _resolve(reader: GitReader, revision: str) -> str | None:
    result = reader.read(
        "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"
    )
    sha = result.stdout.strip()
    return sha if result.exit_code == 0 and _HEX.fullmatch(sha) else None


def _header(token: str) -> _Commit | None:
    sha, sep, rest = token.partition("\x1f")
    parents, sep2, subject = rest.partition("\x1f")
    if not (sep and sep2 and _HEX.fullmatch(sha)):
        return None
    return _Commit(sha=sha, parents=tuple(parents.split()), subject=subject.strip())


@dataclass(frozen=True)
class Window:
    """Which commits are replayed: the revision arguments of ``git log``."""

    mode: ReplayMode
    tip: str
    since_sha: str | None
    last: int | None

    def revisions(self) -> list[str]:
        walk = ["--first-parent"] if self.mode is ReplayMode.FIRST_PARENT else ["--no-merges"]
        limit = self.last if self.last is not None else MAX_RANGES + 1
        exclude = [f"^{self.since_sha}"] if self.since_sha else []
        return [*walk, "--topo-order", f"--max-count={limit}", self.tip, *exclude, "--"]


def _merge_diffs(mode: ReplayMode) -> list[str]:
    """A merge's range is its first parent's: what the merge brought to the branch."""
    return ["--diff-merges=first-parent"] if mode is ReplayMode.FIRST_PARENT else []


def list_commits(reader: GitReader, window: Window) -> list[_Commit]:
    """The window's commits, newest first."""
    text = _git_output(
        reader, "log", "--no-color", "-z", _HEADER_FORMAT, *window.revisions(), what="list commits"
    )
    commits = []
    for token in text.split("\0"):
        if token.strip():
            commit = _header(token.lstrip("\n"))
            if commit is None:
                raise InvalidInputError(f"unexpected git log output {token[:80]!r}")
            commits.append(commit)
    if window.since_sha is not None and len(commits) > MAX_RANGES:
        raise InvalidInputError(
            f"more than {MAX_RANGES} commits since {window.since_sha}: use --last N"
        )
    return commits


def changes_by_commit(reader: GitReader, window: Window) -> dict[str, list[ChangedFile]]:
    """Each commit's changes against its first parent (its whole tree for a root commit), as
    ``git diff --name-status -z -M parent commit`` gives them; one ``git log`` for all."""
    text = _git_output(
        reader,
        "log", "--no-color", "-z", _HEADER_FORMAT, "--name-status", "-M", "--root",
        *_merge_diffs(window.mode),
        *window.revisions(),
        what="read the changes of each commit",
    )  # fmt: skip
    tokens = text.split("\0")
    changes: dict[str, list[ChangedFile]] = {}
    i = 0
    while i < len(tokens):
        if not tokens[i].strip() and i == len(tokens) - 1:
            break
        commit = _header(tokens[i].lstrip("\n"))
        if commit is None:
            raise InvalidInputError(f"unexpected git log output {tokens[i][:80]!r}")
        i += 1
        # Entries follow until the next header: a status is a letter and a score, a header a SHA.
        entries: list[str] = []
        while i < len(tokens) and _STATUS.fullmatch(status := tokens[i].lstrip("\n")):
            paths = 2 if status[0] in "RC" else 1
            entries += [status, *tokens[i + 1 : i + 1 + paths]]
            i += 1 + paths
        changes[commit.sha] = parse_name_status("\0".join(entries) + "\0") if entries else []
    return changes


_NO_BLOB = re.compile(r"0+")
_GITLINK = "160000"


def blobs_worth_fetching(raw: str, wants_diff: Callable[[str], bool]) -> list[str]:
    """From ``git log --raw --no-renames -z`` output: the blobs later commands will read. Both
    sides of each change a keyword rule watches (its diff is read), and the added and deleted
    files of a commit that has both (rename detection compares their contents)."""
    commits: list[list[tuple[str, str, list[str]]]] = []
    tokens = raw.split("\0")
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip("\n")
        if token.startswith(":") and i + 1 < len(tokens) and commits:
            old_mode, new_mode, old, new, status = (token[1:].split(" ") + [""] * 5)[:5]
            blobs = [] if _GITLINK in (old_mode, new_mode) else [old, new]
            commits[-1].append((status[:1], tokens[i + 1], blobs))
            i += 2
            continue
        if token:
            commits.append([])
        i += 1
    needed: set[str] = set()
    for entries in commits:
        statuses = {status for status, _, _ in entries}
        renames = "A" in statuses and "D" in statuses
        for status, path, blobs in entries:
            if (renames and status in ("A", "D")) or wants_diff(path):
                needed.update(b for b in blobs if _HEX.fullmatch(b) and not _NO_BLOB.fullmatch(b))
    return sorted(needed)


def _prefetch_blobs(
    repository: OpenedHistory, window: Window, prepared: PreparedRules, sources: Sequence[str]
) -> int:
    """A blobless clone has no file contents: fetch the ones the replay will read in a few
    batches, not one lazy fetch per range. Returns how many."""

    def wants_diff(path: str) -> bool:
        return any(
            rule.rule.keywords for source in sources for rule in prepared.index.match(source, path)
        )

    history = repository.history
    if history is None:
        return 0
    raw = _git_output(
        repository.reader,
        "log", "--no-color", "-z", "--format=%H", "--raw", "--no-abbrev", "--no-renames",
        "--root", *_merge_diffs(window.mode), *window.revisions(),
        what="list the changed files",
    )  # fmt: skip
    blobs = blobs_worth_fetching(raw, wants_diff)
    history.fetch_blobs(blobs)
    return len(blobs)


@dataclass(frozen=True)
class SpaceRules:
    """What the database says about the space: read in one transaction, nothing written."""

    slug: str
    docs: list[ParsedDoc]
    bound_names: list[str]
    bound: list[Source]
    integrations: dict[int, Integration]


def rules_from_file(path: str, text: str) -> ParsedDoc:
    """A doc being edited: a markdown file with frontmatter, or just the frontmatter's YAML."""
    if split_frontmatter(text).yaml_text is not None:
        return parse_doc(path, text)
    body = text.split("\n", 1)[1] if text.startswith("---\n") else text
    return parse_doc(path, f"---\n{body}\n---\n")


def load_space(database: Database, request: ReplayRequest) -> SpaceRules:
    """The space's rules as stored when each doc was written (no YAML is parsed, as in the
    impact step: docs/attention-rules.md#stored-rules), or the rules of ``--rules-file``."""
    with database.unit_of_work() as uow:
        space = uow.spaces.get_by_slug(request.space)
        stored = uow.docs.parsed(space.id)
        bound = uow.sources.bound_to(space.id)
        integrations = {
            source.integration_id: uow.integrations.get(source.integration_id)
            for source in bound
            if source.integration_id is not None
        }
    if request.doc is None:
        docs = stored
    else:
        path = normalize_relative_path(request.doc)
        if request.rules_text is not None:
            docs = [rules_from_file(path, request.rules_text)]
        else:
            found = next((doc for doc in stored if doc.path == path), None)
            if found is None:
                raise NotFoundError(
                    f"doc {path!r} does not exist in space {space.slug!r}: give its rules "
                    "with --rules-file"
                )
            docs = [found]
    return SpaceRules(
        slug=space.slug,
        docs=docs,
        bound_names=[binding.source_name for binding in space.bindings],
        bound=bound,
        integrations=integrations,
    )


def _repo_key(source: Source) -> str | None:
    return RepoCoordinate.parse(source.repo).key if source.repo else None


def choose_sources(
    space: SpaceRules, *, coordinate: RepoCoordinate | None, name: str | None
) -> tuple[Source, list[Source]]:
    """The bound source the repository stands for, and every source that sees its changes: it
    and the virtual sources of the same repository (as the impact op's virtual views)."""
    names = ", ".join(source.name for source in space.bound) or "none"
    if name is not None:
        primary = next((source for source in space.bound if source.name == name), None)
        if primary is None:
            raise InvalidInputError(
                f"space {space.slug!r} is not bound to source {name!r} (bound: {names})"
            )
        if coordinate is not None and _repo_key(primary) != coordinate.key:
            raise InvalidInputError(f"source {name!r} is {primary.repo or 'not a repository'}")
    elif coordinate is not None:
        same = [s for s in space.bound if _repo_key(s) == coordinate.key and s.is_true]
        if not same:
            raise InvalidInputError(
                f"space {space.slug!r} is bound to no true source of {coordinate}: a coordinate "
                "is cloned with a bound true source's integration (bound: "
                f"{names}); give a local clone's path instead"
            )
        if len(same) > 1:
            raise InvalidInputError(
                f"space {space.slug!r} is bound to several true sources of {coordinate} "
                f"({', '.join(s.name for s in same)}): choose one with --source"
            )
        primary = same[0]
    elif len(space.bound) == 1:
        primary = space.bound[0]
    else:
        raise InvalidInputError(
            f"space {space.slug!r} is bound to {len(space.bound)} sources ({names}): "
            "name the one the repository holds with --source"
        )
    key = _repo_key(primary)
    views = [s for s in space.bound if not s.is_true and key and _repo_key(s) == key]
    return primary, [primary, *(view for view in views if view.id != primary.id)]


def _since_commit(repository: OpenedHistory, since: str, tip: str) -> str | None:
    if repository.history is not None and _HEX.fullmatch(since.lower()):
        # In a partial clone rev-parse would fetch a missing commit by id, cut off from the
        # history: look for it in the history instead (and deepen while it is not there).
        listed = _git_output(repository.reader, "rev-list", tip, what="list the history")
        return since.lower() if since.lower() in listed.split() else None
    return _resolve(repository.reader, since)


def _window(repository: OpenedHistory, request: ReplayRequest) -> tuple[Window, list[_Commit]]:
    """The commits to replay; a clone is deepened until all of them (and their parents) are in
    it, a local shallow clone that stops inside the window is refused."""
    reader, branch, history = repository.reader, repository.branch, repository.history
    last = request.window_last
    previous: list[_Commit] | None = None
    while True:
        tip = next(filter(None, (_resolve(reader, rev) for rev in repository.revisions)), None)
        if tip is None:
            raise InvalidInputError(f"branch {branch!r} does not exist in the repository")
        since_sha = _since_commit(repository, request.since, tip) if request.since else None
        if request.since and since_sha is None:
            if history is not None and history.deepen():
                continue
            raise InvalidInputError(f"--since {request.since!r} is not a commit of {branch}")
        if since_sha and reader.read("merge-base", "--is-ancestor", since_sha, tip).exit_code:
            raise InvalidInputError(f"--since {request.since!r} is not an ancestor of {branch}")
        window = Window(mode=request.mode, tip=tip, since_sha=since_sha, last=last)
        commits = list_commits(reader, window)
        shallow = reader.shallow_commits()
        cut = sorted(c.sha for c in commits if c.sha in shallow)
        short = last is not None and len(commits) < last
        if history is not None and (cut or short or since_sha) and commits != previous:
            # ``^since`` only excludes what the clone can see to be since's ancestors: one more
            # deepening must leave the window as it was.
            previous = commits
            if history.deepen():
                continue
        if cut:
            raise InvalidInputError(
                f"the repository is a shallow clone whose history stops at {cut[0]}, inside the "
                "replayed commits: fetch more history (git fetch --deepen N) or replay fewer"
            )
        return window, commits


def _history_request(
    request: ReplayRequest, space: SpaceRules, primary: Source, coordinate: RepoCoordinate | None
) -> HistoryRequest:
    if coordinate is None:
        # A local clone may have the branch only as its remote-tracking branch (the adapter
        # tries both).
        branch = request.branch or primary.branch or "HEAD"
        return HistoryRequest(request.repo, None, branch, None, 0)
    branch = request.branch or primary.branch
    if branch is None:
        raise InvalidInputError(
            f"source {primary.name!r} follows every branch: choose one with --branch"
        )
    last = request.window_last
    integration = space.integrations.get(primary.integration_id or 0)
    depth = last + 1 if last is not None else SINCE_INITIAL_DEPTH
    return HistoryRequest(request.repo, coordinate, branch, integration, depth)


def replay_rules(
    database: Database,
    request: ReplayRequest,
    *,
    repositories: Repositories,
    progress: ProgressCallback | None = None,
) -> ReplayReport:
    """Replay the space's rules over the branch's history; see the module docstring."""
    started = time.monotonic()
    request.check()
    timings: dict[str, float] = {}
    space = load_space(database, request)
    coordinate = _coordinate_of(request.repo)
    primary, replayed = choose_sources(space, coordinate=coordinate, name=request.source)
    prepared = prepare_rules(space.docs, space.bound_names)
    timings["rules"] = time.monotonic() - started

    mark = time.monotonic()
    opening = repositories.open_history(_history_request(request, space, primary, coordinate))
    with opening as repository:
        reader = repository.reader
        window, commits = _window(repository, request)
        source_names = [source.name for source in replayed]
        _prefetch_blobs(repository, window, prepared, source_names)
        timings["clone" if repository.history else "open"] = time.monotonic() - mark

        mark = time.monotonic()
        changes = changes_by_commit(reader, window)
        if list(changes) != [commit.sha for commit in commits]:
            raise InvalidInputError("git listed different commits twice: is the branch moving?")
        head_files = [
            path
            for path in _git_output(
                reader, "ls-tree", "-r", "--name-only", "-z", window.tip, what="list the head tree"
            ).split("\0")
            if path
        ]
        timings["history"] = time.monotonic() - mark

        mark = time.monotonic()
        sources = [
            SourceRef(id=s.id, name=s.name, kind="true" if s.is_true else "virtual")
            for s in replayed
        ]
        ranges = [
            (commit, _range_changes(commit, changes[commit.sha], sources))
            for commit in reversed(commits)
        ]
        wanted = {
            commit.sha: {path for _, path in prepared.keyword_candidates(range_changes)}
            for commit, range_changes in ranges
            if commit.parents
        }
        diffs = keyword_diffs(reader, window.mode, wanted)
        tally = ReplayTally(prepared, source_names)
        for done, (commit, range_changes) in enumerate(ranges, start=1):
            lookup = _keyword_lookup(reader, commit, diffs)
            fired = prepared.fired_rules(range_changes, keyword_lookup=lookup)
            changed = len(range_changes[0].files) if range_changes else 0
            tally.add(
                ReplayRange(
                    sha=commit.sha,
                    base_sha=range_changes[0].base_sha if range_changes else None,
                    subject=commit.subject,
                    changed_files=changed,
                ),
                fired,
            )
            if progress is not None:
                progress(done, len(commits))
        timings["replay"] = time.monotonic() - mark

    mark = time.monotonic()
    report = tally.report(
        space=space.slug,
        repository=repository.name,
        branch=repository.branch,
        head_sha=window.tip,
        mode=request.mode,
        head_files=head_files,
        noisy_share=request.noisy_share,
        seconds=0.0,
        timings=timings,
    )
    timings["report"] = time.monotonic() - mark
    totals = report.totals.model_copy(update={"seconds": round(time.monotonic() - started, 3)})
    rounded = {phase: round(seconds, 3) for phase, seconds in timings.items()}
    return report.model_copy(update={"totals": totals, "timings": rounded})


def _coordinate_of(repo: str) -> RepoCoordinate | None:
    """A directory is read in place (even one named like a coordinate); else a coordinate."""
    if Path(repo).is_dir():
        return None
    try:
        return RepoCoordinate.parse(repo)
    except InvalidInputError:
        raise InvalidInputError(
            f"--repo {repo!r} is neither a directory nor a coordinate host/owner/repo"
        ) from None


def _range_changes(
    commit: _Commit, files: list[ChangedFile], sources: Sequence[SourceRef]
) -> list[SourceChanges]:
    """What the impact op would see for ``parent^1..commit``: the same changes for the source the
    repository stands for and for its virtual views."""
    base = commit.parents[0] if commit.parents else None
    reason = None if base else "a root commit: every file of its tree counts as changed"
    return [
        SourceChanges(
            source=source, files=files, base_sha=base, head_sha=commit.sha, full_tree_reason=reason
        )
        for source in sources
    ]


KeywordDiffs = dict[tuple[str, str], str | None]
"""(commit, path) -> the diff text a keyword check reads (None: unavailable)."""
_BATCH = 500


def keyword_diffs(reader: GitReader, mode: ReplayMode, wanted: dict[str, set[str]]) -> KeywordDiffs:
    """The diffs keyword checks will read, in a few ``git log -p`` processes instead of one
    ``git diff`` per (range, file). Each is the text of the impact op's ``git diff -M base commit
    -- path``: limited to one path git detects no rename, hence ``--no-renames`` here. Output
    too large to batch is left out: those diffs are then read one by one."""
    commits = sorted(sha for sha, paths in wanted.items() if paths)
    paths = sorted(set().union(*wanted.values())) if wanted else []
    found: KeywordDiffs = {}
    for first in range(0, len(commits), _BATCH):
        for start in range(0, len(paths), _BATCH):
            result = reader.read(
                "--literal-pathspecs", "log", "--no-walk=unsorted", "--no-color", "--no-ext-diff",
                "--no-textconv", "-p", "--no-renames", "--format=%x01%H", *_merge_diffs(mode),
                *commits[first : first + _BATCH], "--", *paths[start : start + _BATCH],
            )  # fmt: skip
            if result.exit_code == 0 and len(result.stdout) < MAX_OUTPUT_BYTES:
                found.update(_split_patches(result.stdout))
    return {key: text for key, text in found.items() if key[1] in wanted.get(key[0], ())}


def _patch_path(header: str) -> str:
    """The path of ``diff --git a/P b/P`` (both sides are the same without rename detection)."""
    rest = header[len("diff --git ") :]
    if rest.startswith('"'):  # "a/E" "b/E", E the C-quoted path
        return unquote_path('"' + rest[3 : 3 + (len(rest) - 9) // 2] + '"')
    return rest[2 : 2 + (len(rest) - 5) // 2]


def _split_patches(text: str) -> KeywordDiffs:
    found: KeywordDiffs = {}
    commit: str | None = None
    patch: list[str] = []

    def keep() -> None:
        while patch and not patch[-1]:
            patch.pop()  # the blank line before the next commit
        if commit is not None and patch:
            found[(commit, _patch_path(patch[0]))] = usable_keyword_diff("\n".join(patch) + "\n")
        patch.clear()

    for line in text.split("\n"):
        if line.startswith("\x01"):
            keep()
            commit = line[1:]
        elif line.startswith("diff --git "):
            keep()
            patch.append(line)
        elif patch:
            patch.append(line)
    keep()
    return found


def _keyword_lookup(reader: GitReader, commit: _Commit, diffs: KeywordDiffs) -> KeywordLookup:
    """The impact op's keyword check: one file's diff over the range."""

    def diff_text(source_name: str, path: str) -> str | None:
        if not commit.parents:
            return None
        if (commit.sha, path) in diffs:
            return diffs[(commit.sha, path)]
        result = reader.read(
            *keyword_diff_args(commit.parents[0], commit.sha, path),
            timeout=GIT_DIFF_TIMEOUT_SECONDS,
        )
        return keyword_diff_text(result)

    return diff_text
