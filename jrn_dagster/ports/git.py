"""The git port: how services check a source out in a sandbox and ask git about it, and how
pipeline code runs git there. The adapter is ``jrn_dagster.adapters.git``."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import Ancestry, CoveredRange
from jrn_dagster.domain.records import Integration
from jrn_dagster.ports.sandbox import CommandResult, Sandbox
from jrn_dagster.redaction import redact


class CheckoutError(RuntimeError):
    """A clone could not be made. ``retryable`` says whether running it again may succeed."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class CheckoutTransportError(CheckoutError):
    """Network trouble or a server error (connection refused, 5xx, timeout): retry with backoff."""

    retryable = True


class CheckoutAuthError(CheckoutError):
    """The remote refused our credentials, or wanted credentials we did not have."""


class CheckoutNotFoundError(CheckoutError):
    """The repository, branch or commit does not exist on the remote (or is hidden from us)."""


class CheckoutRefNotFoundError(CheckoutNotFoundError):
    """The remote has no such branch or will not serve that commit."""


class CredentialError(RuntimeError):
    """Credentials are missing, rejected or could not be obtained.

    ``retryable`` is False when only a human can fix it (a missing env var, a rejected key, an
    unknown installation) and True for transient failures (network, GitHub 5xx).
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(redact(message))
        self.retryable = retryable


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


@dataclass(frozen=True)
class CheckoutRequest:
    """One source branch to check out at ``head_sha`` (None: the branch head) into ``dest``.

    ``integration``: whose credential fetches it (None: anonymously). ``find``: commits to look for
    in the head's history; ``fetch``: commits to fetch by id (an old head a forced push
    replaced); ``check_on_branch``: also find out whether the head and ``rewrite_check_sha`` (a
    covered head) are still on the branch."""

    coordinate: RepoCoordinate
    branch: str
    head_sha: str | None
    base_sha: str | None
    dest: str
    integration: Integration | None = None
    find: Sequence[str | None] = ()
    fetch: Sequence[str | None] = ()
    check_on_branch: bool = False
    rewrite_check_sha: str | None = None


class Repositories(ABC):
    """Where sources are cloned from, with what credentials (the git adapter)."""

    @abstractmethod
    def check_out(self, sandbox: Sandbox, request: CheckoutRequest) -> Checkout:
        """Raises ``InvalidInputError`` for bad input before anything runs, a checkout error
        (``retryable`` set for transport errors) when git fails, a credential error when the
        integration's credential cannot be had."""

    @abstractmethod
    def ancestry(
        self,
        sandbox: Sandbox,
        checkout: Checkout,
        *,
        event_base_sha: str | None,
        covered: CoveredRange | None,
        source_cursor_sha: str | None,
    ) -> Ancestry:
        """The facts ``decide_range`` needs, from the checkout and git."""

    @abstractmethod
    def open_history(self, request: "HistoryRequest") -> AbstractContextManager["OpenedHistory"]:
        """A branch's history to read (``rules replay``): a local path read in place, or a
        coordinate cloned (blobless) with the integration's credential, released on exit."""


class GitReader(Protocol):
    """Runs read-only git commands in one repository (``check=False``: the caller judges)."""

    def read(self, *args: str, timeout: float = ...) -> CommandResult: ...

    def shallow_commits(self) -> set[str]: ...


class ClonedHistory(Protocol):
    """A blobless clone of a branch's recent history, deepened on demand."""

    def deepen(self) -> bool: ...

    def fetch_blobs(self, blob_ids: Sequence[str], *, batch: int = ...) -> None: ...


@dataclass(frozen=True)
class HistoryRequest:
    repo: str  # a local path, or a coordinate
    coordinate: RepoCoordinate | None  # set when ``repo`` is a coordinate
    branch: str | None
    integration: Integration | None
    depth: int


@dataclass(frozen=True)
class OpenedHistory:
    reader: GitReader
    name: str  # the coordinate cloned, or the local path
    branch: str
    revisions: tuple[str, ...]  # what git resolves to the branch's head: the first that exists
    history: ClonedHistory | None = None  # a clone, which can be deepened
