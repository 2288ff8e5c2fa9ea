"""Clone exactly the pushed commit into a sandbox, fetching no more than needed.

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
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.coordinates import RepoCoordinate, validate_clone_url_template
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.refs import is_zero_sha, validate_branch, validate_sha
from jrn_dagster.redaction import redact
from jrn_dagster.resources.sandbox.base import CommandResult, Sandbox
from jrn_dagster.resources.sandbox.errors import SandboxFileNotFoundError, SandboxTimeoutError
from jrn_dagster.services.checkout_errors import (
    CheckoutAuthError,
    CheckoutError,
    CheckoutNotFoundError,
    CheckoutRefNotFoundError,
    CheckoutTransportError,
    classify_git_failure,
)
from jrn_dagster.services.credentials import GitCredential, git_auth_environment

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
# Settings for every git command of the pipeline: no credential helper or askpass from the
# machine or the image, no file-system monitor or hook (programs a repository's config could
# name), no background maintenance, no detached-HEAD advice.
GIT_OPTIONS = (
    "-c",
    "credential.helper=",
    "-c",
    "core.askPass=",
    "-c",
    "core.fsmonitor=",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
    "-c",
    "advice.detachedHead=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "protocol.version=2",
)

__all__ = [
    "BranchHistory",
    "Checkout",
    "CheckoutError",
    "clone_at",
    "clone_branch_history",
    "clone_url_for",
    "git_argv",
]


def git_argv(*args: str) -> list[str]:
    """A git command line with the pipeline's settings (``GIT_OPTIONS``)."""
    return ["git", *GIT_OPTIONS, *args]


class Checkout(BaseModel):
    """Where the clone is and what it holds. Small and serialisable: ops pass it along."""

    model_config = ConfigDict(frozen=True)

    sandbox_id: str
    path: str
    coordinate: str
    clone_url: str
    branch: str
    head_sha: str
    base_sha: str | None
    base_reachable: bool
    # Every SHA asked about (the base and ``other_shas``): is it the head or one of its ancestors?
    ancestors: dict[str, bool]
    # Every SHA of ``descendant_shas``: is the head one of its ancestors (or the SHA itself)?
    descendants: dict[str, bool] = {}
    # Every SHA of ``descendant_shas``: is it in the clone (its tree can be diffed)?
    present: dict[str, bool] = {}
    # Whether the head and ``rewrite_check_sha`` are in the branch's current history (asked
    # only when the covered head is not in the head's history).
    on_branch: dict[str, bool] = {}
    shallow: bool
    partial: bool
    fetched_bytes: int | None


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
