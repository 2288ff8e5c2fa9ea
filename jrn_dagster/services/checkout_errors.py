"""Why a clone failed, read from git's stderr, and whether trying again can help."""

from jrn_dagster.redaction import redact

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
