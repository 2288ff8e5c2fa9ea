"""Git in a sandbox: clone exactly the pushed commit, fetching no more than needed; answer
ancestry questions; say why a clone failed.

Strategy (docs/sandboxes.md, "Clone strategy"):

1. Validate everything (coordinate, branch, SHAs, destination, URL) before any command runs.
2. ``git init`` + ``git remote add origin URL``: the URL never carries a credential.
3. Fetch the head commit by id (the branch head in catch-up mode) as a blobless
   (``--filter=blob:none``), shallow, tag-less fetch: commits and trees of the last few commits,
   no file contents. A server that refuses to serve objects by id cannot serve a blobless
   clone's blobs either: it gets a plain shallow fetch of the branch instead.
4. Is the base an ancestor of the head? Walk the fetched history; while the base is not in it and
   the history is still cut short, deepen (doubling) and look again. Reaching the root without
   meeting the base proves it unreachable (a forced push).
5. Check out the head (detached); git fetches the blobs of that one tree in a batch. For the base
   and each other SHA found, also fetch the blobs of its diff to the head now, while the
   credential is at hand.

The credential travels only in the environment of the git commands that talk to the remote, as an
``http.extraHeader`` (``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_0``/``GIT_CONFIG_VALUE_0``): never in
the URL, an argument, ``.git/config`` or the environment of any later command. Git never prompts.
"""

import ipaddress
import logging
import os
import posixpath
import re
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jrn_dagster.adapters.github import (
    GITHUB_API_URL_ENV,
    GitCredential,
    git_auth_environment,
    resolve_git_credential,
)
from jrn_dagster.adapters.local_sandbox import LocalSandboxes
from jrn_dagster.adapters.process_group import run_in_process_group
from jrn_dagster.domain.coordinates import RepoCoordinate, validate_clone_url_template
from jrn_dagster.domain.coverage import Ancestry, CoveredRange
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.records import Integration
from jrn_dagster.domain.refs import is_zero_sha, validate_branch, validate_sha
from jrn_dagster.ports.git import (
    Checkout,
    CheckoutAuthError,
    CheckoutError,
    CheckoutNotFoundError,
    CheckoutRefNotFoundError,
    CheckoutRequest,
    CheckoutTransportError,
    HistoryRequest,
    OpenedHistory,
    Repositories,
    git_argv,
)
from jrn_dagster.ports.sandbox import (
    CommandResult,
    Sandbox,
    SandboxFileNotFoundError,
    SandboxTimeoutError,
)
from jrn_dagster.redaction import redact

logger = logging.getLogger(__name__)

CLONE_URL_TEMPLATE_ENV = "JRN_CLONE_URL_TEMPLATE"
CREDENTIAL_HOSTS_ENV = "JRN_CREDENTIAL_HOSTS"
DEFAULT_CLONE_TIMEOUT = 900.0
LOCAL_COMMAND_TIMEOUT = 120.0
# Commits fetched at first when a base is given: enough for most pushes in one round trip.
INITIAL_DEPTH = 20
NETWORK_RETRY_DELAYS: tuple[float, ...] = (2.0, 8.0)
ALLOWED_SCHEMES = ("https", "http", "file", "ssh")
_DEST_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def clone_url_for(
    coordinate: RepoCoordinate,
    template: str | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
) -> str:
    """The URL to clone ``coordinate`` from: ``template``, else ``$JRN_CLONE_URL_TEMPLATE``, else
    ``https://{host}/{owner}/{repo}.git``. Only https, http, file and ssh URLs are accepted (git's
    ``ext::`` and similar transports run commands), and none may embed credentials."""
    template = template or environ.get(CLONE_URL_TEMPLATE_ENV) or None
    if template is not None:
        validate_clone_url_template(template)
    url = coordinate.clone_url(template)
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise InvalidInputError(
            f"invalid clone URL {url!r}: use one of {', '.join(ALLOWED_SCHEMES)}"
        )
    if parts.password is not None or (parts.username and parts.scheme != "ssh"):
        raise InvalidInputError(
            f"invalid clone URL {redact(url)!r}: credentials come from the integration, "
            "never from the URL"
        )
    return url


def _check_dest(dest: str) -> str:
    parts = dest.split("/")
    if not all(_DEST_PART.match(part) for part in parts):
        raise InvalidInputError(
            f"invalid checkout directory {dest!r}: use a relative path of plain names"
        )
    return dest


class _Git:
    """Runs git in one repository of a sandbox; knows which commands may carry the credential."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        path: str,
        url: str,
        credential: GitCredential | None,
        deadline: float,
        retry_delays: Sequence[float],
        sleep: Callable[[float], None],
        withheld: str | None = None,
    ) -> None:
        scheme = urlsplit(url).scheme
        self._withheld = withheld
        self.sandbox = sandbox
        self.path = path
        self.url = url
        self.env = {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
            "GIT_ALLOW_PROTOCOL": scheme,
        }
        # Only HTTP(S) remotes take the header; nothing is handed to file:// or ssh:// commands.
        use_credential = credential is not None and scheme in ("https", "http")
        self._auth_env = git_auth_environment(credential) if use_credential and credential else {}
        self._deadline = deadline
        self._retry_delays = retry_delays
        self._sleep = sleep
        # Blobless fetches need a server that serves objects by id (GitHub does); cleared when the
        # server turns out not to.
        self.partial = True

    def prepare(self, dest: str) -> None:
        """An empty repository with ``origin`` set (a retried step starts from nothing)."""
        self.sandbox.remove(dest)
        self.local("init", "--quiet", self.path, cwd=self.sandbox.root)
        self.local("remote", "add", "origin", self.url)

    def _remaining(self, what: str) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise CheckoutTransportError(f"{what} from {self.url}: the clone ran out of time")
        return remaining

    def local(self, *args: str, cwd: str | None = None, check: bool = True) -> CommandResult:
        """A command that never needs the remote: it gets no credential."""
        return self.sandbox.run(
            git_argv(*args),
            cwd=cwd or self.path,
            env=self.env,
            timeout=min(self._remaining(f"git {args[0]}"), LOCAL_COMMAND_TIMEOUT),
            check=check,
        )

    def remote(self, *args: str, what: str) -> CommandResult:
        """A command that talks to the remote: the credential goes in its environment only.
        Transport failures are retried after each of the retry delays."""
        delays = list(self._retry_delays)
        while True:
            try:
                result = self.sandbox.run(
                    git_argv(*args),
                    cwd=self.path,
                    env={**self.env, **self._auth_env},
                    timeout=self._remaining(what),
                    check=False,
                )
            except SandboxTimeoutError as timeout:
                error: CheckoutError = CheckoutTransportError(f"{what} from {self.url}: {timeout}")
            else:
                if result.exit_code == 0:
                    return result
                error = classify_git_failure(
                    result.stderr, what=what, url=self.url, exit_code=result.exit_code
                )
                if self._withheld and isinstance(error, CheckoutAuthError | CheckoutNotFoundError):
                    error = type(error)(f"{error} ({self._withheld})")
            if not error.retryable or not delays:
                raise error
            logger.warning("%s; retrying", error)
            self._sleep(delays.pop(0))

    def fetch(self, target: str, *, depth: int | None = None, deepen: int | None = None) -> None:
        args = ["fetch", "--no-tags", "--no-write-fetch-head"]
        if self.partial:
            args.append("--filter=blob:none")
        if depth is not None:
            args.append(f"--depth={depth}")
        if deepen is not None:
            args.append(f"--deepen={deepen}")
        self.remote(*args, "origin", target, what=f"fetch {target}")

    def history(self, tip: str) -> set[str]:
        return set(self.local("rev-list", tip).stdout.split())

    def has_commit(self, sha: str) -> bool:
        return self.local("cat-file", "-e", f"{sha}^{{commit}}", check=False).exit_code == 0

    def is_shallow(self) -> bool:
        return self.local("rev-parse", "--is-shallow-repository").stdout.strip() == "true"

    def object_bytes(self) -> int | None:
        counts = dict(
            line.split(": ", 1)
            for line in self.local("count-objects", "-v").stdout.splitlines()
            if ": " in line
        )
        try:
            return (int(counts["size"]) + int(counts["size-pack"])) * 1024
        except (KeyError, ValueError):
            return None


def _deepen_until_found(
    git: _Git, *, shas: Collection[str], tip: str, target: str, depth: int
) -> set[str]:
    """Deepen the history behind ``tip`` until every one of ``shas`` is in it or the root is
    reached; returns those found. Each round doubles the depth, so proving that a commit is not
    an ancestor costs O(log n) round trips."""
    while True:
        found = set(shas) & git.history(tip)
        if found == set(shas) or not git.is_shallow():
            return found
        git.fetch(target, deepen=depth)
        depth *= 2


def _head_is_ancestor_of(git: _Git, *, head: str, descendant: str, depth: int) -> bool:
    """Fetch ``descendant`` by id and look for ``head`` in its history (deepening as for the
    base). A commit the remote no longer has (rewritten away) descends from nothing."""
    if descendant == head:
        return True
    try:
        git.fetch(descendant, depth=depth)
    except CheckoutRefNotFoundError:
        return False
    return bool(
        _deepen_until_found(git, shas={head}, tip=descendant, target=descendant, depth=depth)
    )


def _on_branch(git: _Git, shas: set[str], *, branch: str, depth: int) -> dict[str, bool]:
    """Which of ``shas`` are in the history of the branch's current tip (a deleted branch has
    none)?"""
    target = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
    try:
        git.fetch(target, depth=depth)
    except CheckoutRefNotFoundError:
        return dict.fromkeys(shas, False)
    tip = git.local("rev-parse", "--verify", f"refs/remotes/origin/{branch}^{{commit}}").stdout
    found = _deepen_until_found(git, shas=shas, tip=tip.strip(), target=target, depth=depth)
    return {sha: sha in found for sha in shas}


def _fetch_head(
    git: _Git, *, dest: str, branch: str, head_sha: str | None, depth: int
) -> tuple[str, str]:
    """Fetch the head commit; returns (head SHA, the fetch target to deepen)."""
    branch_target = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
    if head_sha is not None:
        try:
            git.fetch(head_sha, depth=depth)
            return head_sha, head_sha
        except CheckoutRefNotFoundError as error:
            # Either the commit is gone or the server does not serve objects by id. Such a server
            # cannot serve a blobless clone's blobs either: start again with a plain (still
            # shallow) fetch of the branch, and look for the commit there.
            logger.info(
                "fetching %s by id failed (%s); fetching branch %s", head_sha, error, branch
            )
            git.partial = False
            git.prepare(dest)
    git.fetch(branch_target, depth=depth)
    tip = git.local("rev-parse", "--verify", f"refs/remotes/origin/{branch}^{{commit}}").stdout
    tip = tip.strip()
    if head_sha is None:
        return tip, branch_target
    if not _deepen_until_found(git, shas={head_sha}, tip=tip, target=branch_target, depth=depth):
        raise CheckoutNotFoundError(
            f"commit {head_sha} is not on branch {branch} of {git.url} (it was never pushed, "
            "or a forced push removed it)"
        )
    return head_sha, branch_target


def clone_at(
    sandbox: Sandbox,
    *,
    coordinate: RepoCoordinate | str,
    branch: str,
    head_sha: str | None,
    base_sha: str | None,
    credential: GitCredential | None,
    clone_url_template: str | None = None,
    dest: str = "repo",
    other_shas: Sequence[str | None] = (),
    descendant_shas: Sequence[str | None] = (),
    check_on_branch: bool = False,
    rewrite_check_sha: str | None = None,
    credential_hosts: Collection[str] = (),
    timeout: float = DEFAULT_CLONE_TIMEOUT,
    retry_delays: Sequence[float] = NETWORK_RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> Checkout:
    """Clone ``coordinate`` into ``dest`` (relative to the sandbox root) at ``head_sha`` (the head
    of ``branch`` when None: catch-up mode), and find out whether ``base_sha`` is an ancestor.

    ``other_shas`` (e.g. a cursor) are looked for in the head's history the same way as the base,
    so that ``Checkout.ancestors`` answers for them and they are present in the clone; ``None``
    and zero SHAs are ignored. ``descendant_shas`` that are not in the head's history are fetched
    by id to find out whether the head is in theirs (``Checkout.descendants``): an older head than
    a cursor. They are kept, with the contents a diff against the head needs, when the remote
    still has them (``Checkout.present``): an old head a forced push replaced can be compared
    with the new one. A shallow, partial clone cannot answer ancestry questions about commits it
    was not asked to find.

    ``check_on_branch``: also find out whether the head, and ``rewrite_check_sha`` (a covered
    head), are still on ``branch`` (``Checkout.on_branch``): a push a forced push has since
    replaced is not, and a covered head that still is was not rewound.

    The credential is sent only to the coordinate's host (the integration's) and to
    ``credential_hosts`` (a mirror or proxy the operator declared): a clone URL naming another
    host is fetched without it, and an authentication failure then says why.

    Raises ``InvalidInputError`` before running anything for bad input, and ``CheckoutError``
    (``retryable`` set for transport errors, after ``retry_delays`` are used up) when git fails.
    """
    # Everything is validated before the first command runs.
    parsed = RepoCoordinate.parse(str(coordinate))
    validate_branch(branch)
    head = validate_sha(head_sha, "head SHA") if head_sha is not None else None
    base = None if is_zero_sha(base_sha) else validate_sha(base_sha or "", "base SHA")
    others = [validate_sha(sha, "commit SHA") for sha in other_shas if sha and not is_zero_sha(sha)]
    descendants = [
        validate_sha(sha, "commit SHA") for sha in descendant_shas if sha and not is_zero_sha(sha)
    ]
    url = clone_url_for(parsed, clone_url_template)
    scheme, host = urlsplit(url).scheme, urlsplit(url).hostname
    withheld = None
    if credential is not None and scheme in ("https", "http"):
        allowed = {parsed.host, *(h.strip().lower() for h in credential_hosts)}
        if (host or "").lower() not in allowed:
            credential = None
            withheld = (
                f"no credential was sent to {host}: the integration's credential goes only to "
                f"{parsed.host}; if {host} is a mirror that may receive it, declare it in "
                f"{CREDENTIAL_HOSTS_ENV}"
            )
    if credential is not None and scheme == "http" and not _is_loopback(host):
        raise InvalidInputError(
            f"refusing to send credentials over plain http to {host}: use an https clone URL"
        )
    path = sandbox.path(_check_dest(dest))
    git = _Git(
        sandbox,
        path=path,
        url=url,
        credential=credential,
        deadline=time.monotonic() + timeout,
        retry_delays=retry_delays,
        sleep=sleep,
        withheld=withheld,
    )
    git.prepare(dest)
    depth = INITIAL_DEPTH if base is not None or others else 1
    head, target = _fetch_head(git, dest=dest, branch=branch, head_sha=head, depth=depth)
    wanted = {sha for sha in (base, *others) if sha is not None}
    found = _deepen_until_found(git, shas=wanted, tip=head, target=target, depth=depth)
    reachable = base is not None and base in found
    # A commit in the head's history other than the head is older: the head cannot be in its.
    descends = {
        sha: sha == head
        or (
            sha not in git.history(head)
            and _head_is_ancestor_of(git, head=head, descendant=sha, depth=depth)
        )
        for sha in sorted(set(descendants))
    }
    present = {sha: git.has_commit(sha) for sha in sorted(set(descendants))}
    on_branch: dict[str, bool] = {}
    if check_on_branch:
        wanted_on_branch = {head} | ({rewrite_check_sha} if rewrite_check_sha else set())
        on_branch = _on_branch(git, wanted_on_branch, branch=branch, depth=depth)
    git.remote("checkout", "--quiet", "--detach", head, "--", what=f"check out {head}")
    checked_out = git.local("rev-parse", "HEAD").stdout.strip()
    if checked_out != head:
        raise CheckoutError(f"checked out {checked_out} instead of {head} in {path}")
    compared = (found | {sha for sha, here in present.items() if here}) - {head}
    for other in sorted(compared) if git.partial else ():
        # Later steps diff other..head without the credential: fetch those blobs now.
        git.remote(
            "diff", "--no-ext-diff", "--no-textconv", "--binary", f"--output={os.devnull}",
            other, head, "--",
            what=f"fetch the contents of {other}..{head}",
        )  # fmt: skip
    checkout = Checkout(
        sandbox_id=sandbox.id,
        path=path,
        coordinate=str(parsed),
        clone_url=redact(url),
        branch=branch,
        head_sha=head,
        base_sha=base,
        base_reachable=reachable,
        ancestors={sha: sha in found for sha in sorted(wanted)},
        descendants=descends,
        present=present,
        on_branch=on_branch,
        shallow=git.is_shallow(),
        partial=git.partial,
        fetched_bytes=git.object_bytes(),
    )
    logger.info(
        "cloned %s@%s (branch %s) into %s:%s; base %s %s",
        checkout.coordinate,
        head,
        branch,
        sandbox.id,
        path,
        base,
        "reachable" if reachable else "not reachable",
    )
    return checkout


class BranchHistory:
    """A blobless clone of one branch's recent history, deepened on demand (``rules replay``).

    Only commits and trees are fetched; the blobs a later command needs (rename detection, a
    keyword check's diff) are fetched by git lazily, so ``read`` commands carry the credential
    in their environment like the checkout's, and nothing else does.
    """

    def __init__(self, git: _Git, *, branch: str, head_sha: str, depth: int) -> None:
        self._git = git
        self._target = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
        self.branch = branch
        self.head_sha = head_sha
        self.depth = depth

    @property
    def path(self) -> str:
        return self._git.path

    @property
    def clone_url(self) -> str:
        return redact(self._git.url)

    def is_shallow(self) -> bool:
        return self._git.is_shallow()

    def shallow_commits(self) -> set[str]:
        """The commits whose parents were not fetched (git's ``shallow`` file)."""
        relative = self._git.local("rev-parse", "--git-path", "shallow").stdout.strip()
        try:
            listing = self._git.sandbox.read_file(posixpath.join(self.path, relative))
        except SandboxFileNotFoundError:
            return set()
        return set(listing.decode("ascii", errors="replace").split())

    def deepen(self) -> bool:
        """Fetch as many earlier commits again as the history holds; False when it was whole."""
        if not self.is_shallow():
            return False
        self._git.fetch(self._target, deepen=self.depth)
        self.depth *= 2
        return True

    def fetch_blobs(self, blob_ids: Sequence[str], *, batch: int = 1000) -> None:
        """Fetch these file contents now, a thousand per round trip, rather than one lazy fetch
        per later command that needs some (what git's own lazy fetch runs, batched)."""
        for start in range(0, len(blob_ids), batch):
            chunk = [validate_sha(sha, "blob id") for sha in blob_ids[start : start + batch]]
            self._git.remote(
                "-c", "fetch.negotiationAlgorithm=noop",
                "fetch", "--no-tags", "--no-write-fetch-head", "--recurse-submodules=no",
                "--filter=blob:none", "origin", *chunk,
                what=f"fetch {len(chunk)} file contents",
            )  # fmt: skip

    def read(self, *args: str, timeout: float = DEFAULT_CLONE_TIMEOUT) -> CommandResult:
        """A git command that may fetch missing blobs (``check=False``: the caller judges)."""
        return self._git.sandbox.run(
            git_argv(*args),
            cwd=self.path,
            env={**self._git.env, **self._git._auth_env},
            timeout=timeout,
            check=False,
        )


def clone_branch_history(
    sandbox: Sandbox,
    *,
    coordinate: RepoCoordinate | str,
    branch: str,
    credential: GitCredential | None,
    depth: int,
    clone_url_template: str | None = None,
    dest: str = "history",
    timeout: float = DEFAULT_CLONE_TIMEOUT,
    retry_delays: Sequence[float] = NETWORK_RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> BranchHistory:
    """Fetch the last ``depth`` commits of ``branch`` (commits and trees only, no tags, no
    checkout) into ``dest``. Validation and credential handling are ``clone_at``'s."""
    parsed = RepoCoordinate.parse(str(coordinate))
    validate_branch(branch)
    if depth < 1:
        raise InvalidInputError(f"history depth must be at least 1, got {depth}")
    url = clone_url_for(parsed, clone_url_template)
    scheme, host = urlsplit(url).scheme, urlsplit(url).hostname
    if credential is not None and scheme == "http" and not _is_loopback(host):
        raise InvalidInputError(
            f"refusing to send credentials over plain http to {host}: use an https clone URL"
        )
    git = _Git(
        sandbox,
        path=sandbox.path(_check_dest(dest)),
        url=url,
        credential=credential,
        deadline=time.monotonic() + timeout,
        retry_delays=retry_delays,
        sleep=sleep,
    )
    git.prepare(dest)
    git.fetch(f"+refs/heads/{branch}:refs/remotes/origin/{branch}", depth=depth)
    tip = git.local("rev-parse", "--verify", f"refs/remotes/origin/{branch}^{{commit}}")
    return BranchHistory(git, branch=branch, head_sha=tip.stdout.strip(), depth=depth)


# Matched against lower-cased stderr, in this order: the first family that matches wins.
_AUTH = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "returned error: 401",
    "returned error: 403",
    "http basic: access denied",
    "invalid username or password",
    "bad credentials",
    "permission denied (publickey)",
)
_REPOSITORY_MISSING = (
    "repository not found",
    "returned error: 404",
    "does not appear to be a git repository",
)
_REF_MISSING = (
    "not our ref",
    "unadvertised object",
    "couldn't find remote ref",
    "no such remote ref",
    "reference is not a tree",
)
_TRANSPORT = (
    "could not resolve host",
    "temporary failure in name resolution",
    "connection refused",
    "failed to connect",
    "couldn't connect",
    "could not connect",
    "network is unreachable",
    "connection timed out",
    "operation timed out",
    "connection reset",
    "the remote end hung up",
    "early eof",
    "unexpected disconnect",
    "rpc failed",
    "transfer closed",
    "returned error: 429",
    "returned error: 5",
    "gnutls",
    "ssl_",
    "ssl connect",
    "ssl routines",
)
_STDERR_CHARS = 400


def stderr_summary(stderr: str) -> str:
    """The last lines of git's stderr, redacted, on one line."""
    lines = [line.strip() for line in redact(stderr).strip().splitlines() if line.strip()]
    text = " | ".join(lines[-3:])
    return text if len(text) <= _STDERR_CHARS else "…" + text[-_STDERR_CHARS:]


def classify_git_failure(stderr: str, *, what: str, url: str, exit_code: int) -> CheckoutError:
    """The error for a failed network git command (``what``: e.g. "fetch commit abc…")."""
    lowered = stderr.lower()
    said = stderr_summary(stderr) or f"exit code {exit_code}"
    if any(marker in lowered for marker in _AUTH):
        return CheckoutAuthError(
            f"{what} from {url}: the remote refused the credentials (or needs some): check the "
            f"integration's token or GitHub App access to this repository ({said})"
        )
    if any(marker in lowered for marker in _REPOSITORY_MISSING):
        return CheckoutNotFoundError(
            f"{what} from {url}: repository not found, or the integration's credential has no "
            f"access to it ({said})"
        )
    if any(marker in lowered for marker in _REF_MISSING):
        return CheckoutRefNotFoundError(f"{what} from {url}: not found on the remote ({said})")
    if any(marker in lowered for marker in _TRANSPORT):
        return CheckoutTransportError(f"{what} from {url}: transport error ({said})")
    return CheckoutError(f"{what} from {url} failed ({said})")


GIT_QUICK_TIMEOUT_SECONDS = 60


def is_ancestor(sandbox: Sandbox, repo_path: str, ancestor: str, descendant: str) -> bool:
    """``git merge-base --is-ancestor`` on two commits the checkout holds (equal counts)."""
    if ancestor == descendant:
        return True
    result = sandbox.run(
        git_argv("merge-base", "--is-ancestor", validate_sha(ancestor), validate_sha(descendant)),
        cwd=repo_path,
        timeout=GIT_QUICK_TIMEOUT_SECONDS,
        check=False,
    )
    return result.exit_code == 0


def ancestry(
    sandbox: Sandbox,
    checkout: Checkout,
    *,
    event_base_sha: str | None,
    covered: CoveredRange | None,
    source_cursor_sha: str | None,
) -> Ancestry:
    """The facts ``decide_range`` needs. The clone was asked to find the event base, the covered
    range and the source cursor in the head's history (``ancestors``), and to fetch the event base
    and the covered head by id (``descendants``, ``present``); only commits it found are compared
    locally. A commit it did not find is an ancestor of nothing here, which never claims coverage
    that is not there."""
    in_head = checkout.ancestors

    def in_history(sha: str | None) -> bool:
        return sha is not None and (sha == checkout.head_sha or in_head.get(sha, False))

    def ancestor(a: str | None, b: str | None) -> bool:
        return (
            in_history(a)
            and in_history(b)
            and is_ancestor(sandbox, checkout.path, a or "", b or "")
        )

    base = event_base_sha if checkout.base_reachable else None
    base_present = event_base_sha is not None and (
        bool(base) or checkout.present.get(event_base_sha, False)
    )
    if covered is None:
        return Ancestry(
            event_base_reachable=bool(base),
            event_base_present=base_present,
            covered_head_in_head=False,
            head_in_covered_head=False,
            covered_head_present=False,
            covered_from_in_event_base=False,
            event_base_in_covered_from=False,
            covered_from_in_head=False,
            head_on_branch=checkout.on_branch.get(checkout.head_sha, True),
        )
    covered_from = covered.covered_from_sha
    # The newest processed commit still in the new history, if the old head is gone.
    merge_point = next(
        (sha for sha in (covered_from, source_cursor_sha) if sha and in_history(sha)), None
    )
    return Ancestry(
        event_base_reachable=bool(base),
        event_base_present=base_present,
        covered_head_in_head=in_history(covered.head_sha),
        head_in_covered_head=checkout.descendants.get(covered.head_sha, False),
        covered_head_present=in_history(covered.head_sha)
        or checkout.present.get(covered.head_sha, False),
        covered_from_in_event_base=covered_from is None or ancestor(covered_from, base),
        event_base_in_covered_from=ancestor(base, covered_from),
        covered_from_in_head=covered_from is None or in_history(covered_from),
        covered_from_anchored=covered_from is not None
        and source_cursor_sha is not None
        and (covered_from == source_cursor_sha or ancestor(covered_from, source_cursor_sha)),
        merge_point=merge_point,
        head_on_branch=checkout.on_branch.get(checkout.head_sha, True),
        covered_head_on_branch=checkout.on_branch.get(covered.head_sha, False),
    )


# --- Reading a branch's history (rules replay) -------------------------------------------

# Reads must not depend on the reader's git configuration, nor write anything (no optional
# index refresh, no background maintenance).
_READ_OPTIONS = (
    "-c",
    "log.showSignature=false",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
)
GIT_READ_TIMEOUT_SECONDS = 600.0
# Commits fetched at first for ``--since`` (``--last N`` fetches N + 1); each deepening doubles.


class LocalRepository:
    """A repository on this machine, read in place: git runs with a minimal environment (no
    ``GIT_DIR`` or similar from ours) and with ``GIT_OPTIONAL_LOCKS=0``, so it writes nothing."""

    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self._env = {
            "PATH": environ.get("PATH") or os.defpath,
            "HOME": environ.get("HOME") or str(path),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_TERMINAL_PROMPT": "0",
        }
        if not path.is_dir():
            raise InvalidInputError(f"--repo {str(path)!r} is not a directory")
        if self.read("rev-parse", "--git-dir").exit_code != 0:
            raise InvalidInputError(f"--repo {str(path)!r} is not a git repository")

    def read(self, *args: str, timeout: float = GIT_READ_TIMEOUT_SECONDS) -> CommandResult:
        outcome = run_in_process_group(
            ["git", *_READ_OPTIONS, *args], cwd=str(self.path), env=self._env, timeout=timeout
        )
        if outcome.timed_out:
            raise InvalidInputError(f"git {args[0]} in {self.path} took more than {timeout:.0f} s")
        return CommandResult(
            exit_code=outcome.exit_code,
            stdout=outcome.stdout.decode("utf-8", errors="replace"),
            stderr=outcome.stderr.decode("utf-8", errors="replace"),
            duration_seconds=outcome.duration_seconds,
        )

    def shallow_commits(self) -> set[str]:
        relative = self.read("rev-parse", "--git-path", "shallow").stdout.strip()
        shallow = self.path / relative
        return set(shallow.read_text().split()) if relative and shallow.is_file() else set()


class _ClonedRepository:
    def __init__(self, history: BranchHistory) -> None:
        self.history = history

    def read(self, *args: str, timeout: float = GIT_READ_TIMEOUT_SECONDS) -> CommandResult:
        return self.history.read(*_READ_OPTIONS, *args, timeout=timeout)

    def shallow_commits(self) -> set[str]:
        return self.history.shallow_commits()


class GitRepositories(Repositories):
    """The git adapter: clone URLs from a template (``file://`` ones get no credential), the
    integration's credential only to its host and the declared ``credential_hosts``."""

    def __init__(
        self,
        *,
        clone_url_template: str | None = None,
        credential_hosts: Sequence[str] = (),
        github_api_url: str | None = None,
        timeout_seconds: float = DEFAULT_CLONE_TIMEOUT,
        retry_delays: Sequence[float] = NETWORK_RETRY_DELAYS,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.clone_url_template = (
            validate_clone_url_template(clone_url_template) if clone_url_template else None
        )
        self.credential_hosts = [host.strip().lower() for host in credential_hosts if host.strip()]
        self.github_api_url = github_api_url
        self.timeout_seconds = timeout_seconds
        self.retry_delays = tuple(retry_delays)
        self._environ = environ

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] = os.environ, **settings: Any
    ) -> "GitRepositories":
        """Settings not given come from ``JRN_CLONE_URL_TEMPLATE``, ``JRN_CREDENTIAL_HOSTS``
        (comma-separated) and ``JRN_GITHUB_API_URL``."""
        defaults = {
            "clone_url_template": environ.get(CLONE_URL_TEMPLATE_ENV) or None,
            "credential_hosts": environ.get(CREDENTIAL_HOSTS_ENV, "").split(","),
            "github_api_url": environ.get(GITHUB_API_URL_ENV) or None,
        }
        for name, default in defaults.items():
            if not settings.get(name):
                settings[name] = default
        return cls(environ=environ, **settings)

    def _credential(
        self, coordinate: RepoCoordinate, integration: Integration | None
    ) -> GitCredential | None:
        url = clone_url_for(coordinate, self.clone_url_template, environ=self._environ)
        if url.startswith("file:") or integration is None:
            # A local path takes no credential, and a credential never goes where it is useless.
            return None
        return resolve_git_credential(
            integration, coordinate, environ=self._environ, api_base_url=self.github_api_url
        )

    def check_out(self, sandbox: Sandbox, request: CheckoutRequest) -> Checkout:
        return clone_at(
            sandbox,
            coordinate=request.coordinate,
            branch=request.branch,
            head_sha=request.head_sha,
            base_sha=request.base_sha,
            credential=self._credential(request.coordinate, request.integration),
            clone_url_template=self.clone_url_template,
            dest=request.dest,
            other_shas=request.find,
            descendant_shas=request.fetch,
            check_on_branch=request.check_on_branch,
            rewrite_check_sha=request.rewrite_check_sha,
            credential_hosts=self.credential_hosts,
            timeout=self.timeout_seconds,
            retry_delays=self.retry_delays,
        )

    def ancestry(
        self,
        sandbox: Sandbox,
        checkout: Checkout,
        *,
        event_base_sha: str | None,
        covered: CoveredRange | None,
        source_cursor_sha: str | None,
    ) -> Ancestry:
        return ancestry(
            sandbox,
            checkout,
            event_base_sha=event_base_sha,
            covered=covered,
            source_cursor_sha=source_cursor_sha,
        )

    @contextmanager
    def open_history(self, request: HistoryRequest) -> Iterator[OpenedHistory]:
        branch = request.branch or "HEAD"
        if request.coordinate is None:
            path = Path(request.repo).resolve()
            revisions = (branch, f"refs/remotes/origin/{branch}")
            reader = LocalRepository(path, self._environ)
            yield OpenedHistory(reader, str(path), branch, revisions, None)
            return
        credential = self._credential(request.coordinate, request.integration)
        with tempfile.TemporaryDirectory(prefix="jrn-replay-") as base:
            sandboxes = LocalSandboxes(base_dir=base)
            try:
                history = clone_branch_history(
                    sandboxes.open("rules-replay"),
                    coordinate=request.coordinate,
                    branch=branch,
                    credential=credential,
                    depth=request.depth,
                    clone_url_template=self.clone_url_template,
                )
                reader = _ClonedRepository(history)
                name = str(request.coordinate)
                yield OpenedHistory(reader, name, branch, (history.head_sha,), history)
            finally:
                sandboxes.release_all()
