"""What can go wrong in a sandbox, the same for every implementation.

Every message is redacted and kept to a bounded size: these errors end up in Dagster's event log.
``retryable`` says whether running the same step again may succeed.
"""

import shlex
from collections.abc import Sequence

from jrn_dagster.redaction import redact

OUTPUT_TAIL_CHARS = 2000


def output_tail(text: str, limit: int = OUTPUT_TAIL_CHARS) -> str:
    """The redacted end of a command's output: the last lines are where the reason is."""
    text = redact(text)
    if len(text) <= limit:
        return text
    return "…" + text[-limit:]


def display_argv(argv: Sequence[str]) -> str:
    return redact(shlex.join(argv))


class SandboxError(RuntimeError):
    """Base class of every sandbox failure."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class SandboxCommandError(SandboxError):
    """A command exited with a non-zero code while ``check=True``."""

    def __init__(self, argv: Sequence[str], exit_code: int, stdout: str, stderr: str) -> None:
        self.argv = display_argv(argv)
        self.exit_code = exit_code
        self.stdout_tail = output_tail(stdout)
        self.stderr_tail = output_tail(stderr)
        detail = self.stderr_tail.strip() or self.stdout_tail.strip() or "no output"
        super().__init__(f"command `{self.argv}` exited with code {exit_code}: {detail}")


class SandboxTimeoutError(SandboxError):
    """A command ran longer than its timeout and was stopped (with everything it started)."""

    retryable = True

    def __init__(
        self, argv: Sequence[str], timeout: float, stdout: str = "", stderr: str = ""
    ) -> None:
        self.argv = display_argv(argv)
        self.timeout = timeout
        self.stdout_tail = output_tail(stdout)
        self.stderr_tail = output_tail(stderr)
        super().__init__(
            f"command `{self.argv}` did not finish within {timeout:g} s and was killed"
        )


class SandboxGoneError(SandboxError):
    """The sandbox no longer exists: released, expired, or killed from outside."""


class SandboxUnavailableError(SandboxError):
    """A sandbox cannot be created or reached: network, authentication, capacity."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SandboxIsolationError(SandboxError):
    """An untrusted command cannot be isolated here, and the operator did not opt in to running
    it without isolation. Not retryable: the machine has to change."""


class SandboxFileNotFoundError(SandboxError, FileNotFoundError):
    """A path read from the sandbox does not exist."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"no such file in the sandbox: {path}")

    def __str__(self) -> str:
        # FileNotFoundError would format (errno, strerror); we want the sentence.
        return str(self.args[0])


class SandboxPathError(SandboxError, ValueError):
    """A path that would leave the sandbox."""
