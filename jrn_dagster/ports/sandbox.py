"""The sandbox port: where a run's commands execute, the same semantics in every implementation.

- ``run`` takes an argument list, never a shell string; ``run_script`` is the one way to run shell,
  and it quotes every interpolated value.
- Every command has an explicit timeout; when it expires the command and everything it started is
  stopped, and ``SandboxTimeoutError`` is raised.
- A command sees only the environment it is given, on top of a minimal base (``PATH``, ``HOME``,
  ``LANG``, ``TZ``, ``TMPDIR``): nothing leaks in from the process that drives the sandbox.
- Relative paths (for ``cwd`` and the file methods) are relative to ``root``.
- After ``release`` (idempotent) every method raises ``SandboxGoneError``.
"""

import logging
import math
import posixpath
import re
import shlex
import string
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.validation import is_env_var_name
from jrn_dagster.redaction import redact

# What a command may print: a runaway command must not exhaust the orchestrator's memory; the
# tail is what explains it. Implementations keep at most this much of each stream.
MAX_OUTPUT_BYTES = 64 * 1024 * 1024


class CommandResult(BaseModel):
    """What a finished command left behind. Output is decoded as UTF-8 (invalid bytes replaced)."""

    model_config = ConfigDict(frozen=True)

    exit_code: int
    stdout: str
    stderr: str
    duration_seconds: float


def check_argv(argv: Sequence[str]) -> list[str]:
    if isinstance(argv, str) or not argv:
        raise InvalidInputError("a command is a non-empty list of arguments, not a shell string")
    if not all(isinstance(arg, str) and "\x00" not in arg for arg in argv):
        raise InvalidInputError("command arguments must be strings without NUL bytes")
    return list(argv)


def check_env(env: Mapping[str, str] | None) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, value in (env or {}).items():
        if not is_env_var_name(name):
            raise InvalidInputError(f"invalid environment variable name {name!r}")
        if not isinstance(value, str) or "\x00" in value:
            raise InvalidInputError(f"environment variable {name} must be a string without NUL")
        checked[name] = value
    return checked


def check_timeout(timeout: float) -> float:
    if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
        raise InvalidInputError(
            f"a command timeout must be a positive number of seconds, got {timeout!r}"
        )
    return float(timeout)


class Sandbox(ABC):
    """A live sandbox. Obtain one from a ``SandboxResource`` (``open`` or ``attach``)."""

    @property
    @abstractmethod
    def id(self) -> str:
        """Stable identifier: ``SandboxResource.attach(id)`` reaches this sandbox from another
        process."""

    @property
    @abstractmethod
    def root(self) -> str:
        """Absolute working directory inside the sandbox."""

    @property
    @abstractmethod
    def released(self) -> bool: ...

    def path(self, path: str) -> str:
        """``path`` made absolute: relative paths are taken from ``root``."""
        if not isinstance(path, str) or not path or "\x00" in path:
            raise InvalidInputError(f"invalid sandbox path {path!r}")
        return posixpath.normpath(posixpath.join(self.root, path))

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv`` (no shell) in ``cwd`` (default ``root``) with ``env`` added to the minimal
        base environment. Raises ``SandboxCommandError`` on a non-zero exit when ``check``,
        ``SandboxTimeoutError`` when ``timeout`` seconds pass first."""
        return self._checked(self._execute, argv, cwd=cwd, env=env, timeout=timeout, check=check)

    def _checked(
        self,
        execute: Callable[..., CommandResult],
        argv: Sequence[str],
        *,
        cwd: str | None,
        env: Mapping[str, str] | None,
        timeout: float,
        check: bool,
        **options: object,
    ) -> CommandResult:
        """Validate the command, run it with ``execute``, raise on a failure when ``check``."""
        checked_argv = check_argv(argv)
        result = execute(
            checked_argv,
            cwd=self.path(cwd) if cwd is not None else self.root,
            env=check_env(env),
            timeout=check_timeout(timeout),
            **options,
        )
        if check and result.exit_code != 0:
            raise SandboxCommandError(checked_argv, result.exit_code, result.stdout, result.stderr)
        return result

    def run_untrusted(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float,
        check: bool = True,
        network: bool = False,
        secret_env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """``run`` for a command we do not trust (an agent): isolated from the orchestrator, its
        processes, files and secrets, and (``network=False``) from the network where the sandbox
        can do that. Everything it started is gone when it returns. Raises
        ``SandboxIsolationError`` when it cannot be isolated and the operator did not opt in.
        ``secret_env``: variables given to this command only, never on a command line; refused
        where ``untrusted_secrets_refusal`` says so."""
        if secret_env:
            refusal = self.untrusted_secrets_refusal()
            if refusal is not None:
                raise SandboxIsolationError(refusal)
        return self._checked(
            self._execute_untrusted,
            argv,
            cwd=cwd,
            env=env,
            timeout=timeout,
            check=check,
            network=network,
            secret_env=check_env(secret_env),
        )

    def untrusted_isolation_warning(self) -> str | None:
        """A warning to show on every run when ``run_untrusted`` runs commands without isolation
        because the operator opted in; None when they are isolated. Raises
        ``SandboxIsolationError`` when they cannot be and nobody opted in."""
        return None

    def untrusted_secrets_refusal(self) -> str | None:
        """Why an untrusted command may not be given secrets (``JRN_AGENT_ENV_ALLOWLIST``) in its
        environment here; None when it may: by default the sandbox is a VM that holds nothing of
        the orchestrator, and the environment reaches the command only (docs/agents.md)."""
        return None

    def _execute_untrusted(
        self,
        argv: list[str],
        *,
        cwd: str,
        env: dict[str, str],
        timeout: float,
        network: bool,
        secret_env: dict[str, str],
    ) -> CommandResult:
        """By default the sandbox itself is the boundary (a VM holds nothing of the
        orchestrator's): run as any command."""
        return self._execute(argv, cwd=cwd, env={**env, **secret_env}, timeout=timeout)

    def run_script(
        self,
        template: str,
        values: Mapping[str, str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float,
        check: bool = True,
    ) -> CommandResult:
        """Run a bash script; ``{name}`` placeholders take ``values[name]``, shell-quoted."""
        script = render_script(template, values)
        return self.run(["bash", "-c", script], cwd=cwd, env=env, timeout=timeout, check=check)

    @abstractmethod
    def _execute(
        self, argv: list[str], *, cwd: str, env: dict[str, str], timeout: float
    ) -> CommandResult:
        """Run a validated command; stop it (and its children) when ``timeout`` passes."""

    @abstractmethod
    def write_file(self, path: str, data: bytes | str) -> None:
        """Create or replace a file (parent directories are created). ``str`` is UTF-8 encoded."""

    @abstractmethod
    def read_file(self, path: str) -> bytes:
        """A file's content; ``SandboxFileNotFoundError`` when it does not exist."""

    @abstractmethod
    def list_files(self, directory: str = ".") -> list[str]:
        """Every file under ``directory``, recursively: paths relative to it, sorted."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Delete a file or a directory tree; nothing happens when it does not exist."""

    @abstractmethod
    def release(self) -> None:
        """Destroy the sandbox and everything in it. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


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


def render_script(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``shlex.quote(values[name])``.

    Only bare names are accepted: a positional ``{}``, an attribute or index (``{a.b}``,
    ``{a[0]}``), a conversion or a format spec would bypass the quoting, and an unknown name is
    a bug in the caller. Literal braces are written ``{{`` and ``}}``.
    """
    parts: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise InvalidInputError(f"invalid script template: {error}") from None
    for literal, field, spec, conversion in parsed:
        parts.append(literal)
        if field is None:
            continue
        if not field.isidentifier():
            raise InvalidInputError(
                f"invalid script placeholder {{{field}}}: use a plain name such as {{path}}"
            )
        if spec or conversion:
            raise InvalidInputError(
                f"invalid script placeholder {{{field}}}: format specs and conversions "
                "are not allowed (every value is shell-quoted as it is)"
            )
        if field not in values:
            raise InvalidInputError(
                f"unknown script placeholder {{{field}}}: known names are "
                f"{', '.join(sorted(values)) or '(none)'}"
            )
        value = values[field]
        if not isinstance(value, str):
            raise InvalidInputError(f"script value {field!r} must be a string")
        parts.append(shlex.quote(value))
    return "".join(parts)


# --- Providers: where sandboxes come from ------------------------------------------------------


logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


def check_key(key: str) -> str:
    if not isinstance(key, str) or not _PRINTABLE.match(key) or len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"invalid sandbox key {key!r}: use 1 to {MAX_KEY_LENGTH} printable characters "
            "without spaces (a Dagster run id is a good key)"
        )
    return key


class SandboxProvider(ABC):
    """Hands out sandboxes: ``open(key)`` creates one (once per key: opening the same key again
    returns the same live sandbox); ``attach(sandbox_id)`` reaches an existing one from another
    process; ``release`` and ``release_for_key`` destroy them; ``release_all`` destroys every one
    this provider opened. Implementations: ``adapters.local_sandbox.LocalSandboxes`` and
    ``adapters.e2b_sandbox.E2BSandboxes``."""

    def __init__(self) -> None:
        self._opened: dict[str, Sandbox] = {}
        self._lock = threading.Lock()

    def open(self, key: str) -> Sandbox:
        """A live sandbox for ``key`` (e.g. the run id): created on first use, the same one on every
        later call with the same key on this resource instance."""
        key = check_key(key)
        with self._lock:
            existing = self._opened.get(key)
            if existing is not None and not existing.released:
                return existing
            sandbox = self._create(key)
            self._opened[key] = sandbox
        logger.info("opened sandbox %s for key %s", sandbox.id, redact(key))
        return sandbox

    def attach(self, sandbox_id: str) -> Sandbox:
        """The live sandbox ``sandbox_id``, typically opened by another process of the same run.
        Raises ``SandboxGoneError`` when it no longer exists."""
        with self._lock:
            for sandbox in self._opened.values():
                if sandbox.id == sandbox_id and not sandbox.released:
                    return sandbox
        return self._attach(sandbox_id)

    def release(self, sandbox_id: str) -> None:
        """Destroy ``sandbox_id``; nothing happens when it is already gone."""
        with self._lock:
            held = [s for s in self._opened.values() if s.id == sandbox_id]
        for sandbox in held:
            sandbox.release()
        if not held:
            self._release(sandbox_id)
        logger.info("released sandbox %s", sandbox_id)

    def release_for_key(self, key: str) -> list[str]:
        """Release whatever sandbox was opened for ``key`` (a run id), from any process: how the
        failure and cancel sensors clean up after a run that died without its teardown.
        Returns the ids released (none when it was already gone)."""
        key = check_key(key)
        with self._lock:
            held = self._opened.pop(key, None)
        if held is not None and not held.released:
            held.release()
            logger.info("released sandbox %s of key %s", held.id, redact(key))
            return [held.id]
        released = self._release_key(key)
        for sandbox_id in released:
            logger.info("released sandbox %s of key %s", sandbox_id, redact(key))
        return released

    def release_all(self) -> list[SandboxError]:
        """Release every sandbox this instance opened; returns the failures instead of stopping
        at the first one, so one unreachable sandbox does not leak the others."""
        with self._lock:
            opened = list(self._opened.values())
            self._opened.clear()
        failures: list[SandboxError] = []
        for sandbox in opened:
            if sandbox.released:
                continue
            try:
                sandbox.release()
                logger.info("released sandbox %s", sandbox.id)
            except SandboxError as error:
                logger.error("could not release sandbox %s: %s", sandbox.id, error)
                failures.append(error)
        return failures

    @abstractmethod
    def _create(self, key: str) -> Sandbox: ...

    @abstractmethod
    def _attach(self, sandbox_id: str) -> Sandbox: ...

    @abstractmethod
    def _release(self, sandbox_id: str) -> None: ...

    @abstractmethod
    def _release_key(self, key: str) -> list[str]:
        """Find and destroy the sandboxes opened for ``key`` by any process."""
