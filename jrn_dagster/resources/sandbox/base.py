"""A live sandbox: where a run's commands execute. Same semantics in every implementation.

- ``run`` takes an argument list, never a shell string; ``run_script`` is the one way to run shell,
  and it quotes every interpolated value.
- Every command has an explicit timeout; when it expires the command and everything it started is
  stopped, and ``SandboxTimeoutError`` is raised.
- A command sees only the environment it is given, on top of a minimal base (``PATH``, ``HOME``,
  ``LANG``, ``TZ``, ``TMPDIR``): nothing leaks in from the process that drives the sandbox.
- ``run_untrusted`` runs a command we do not trust (the agent): it sees no credential, no
  process of the orchestrator and no file outside the sandbox (docs/sandboxes.md).
- Relative paths (for ``cwd`` and the file methods) are relative to ``root``.
- After ``release`` (idempotent) every method raises ``SandboxGoneError``.
"""

import math
import posixpath
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.resources.sandbox.errors import SandboxCommandError
from jrn_dagster.resources.sandbox.script import render_script

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
        if not _ENV_NAME.match(name):
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
    ) -> CommandResult:
        """``run`` for a command we do not trust (an agent): isolated from the orchestrator, its
        processes, files and secrets, and (``network=False``) from the network where the sandbox
        can do that. Everything it started is gone when it returns. Raises
        ``SandboxIsolationError`` when it cannot be isolated and the operator did not opt in."""
        return self._checked(
            self._execute_untrusted,
            argv,
            cwd=cwd,
            env=env,
            timeout=timeout,
            check=check,
            network=network,
        )

    def untrusted_isolation_warning(self) -> str | None:
        """A warning to show on every run when ``run_untrusted`` runs commands without isolation
        because the operator opted in; None when they are isolated. Raises
        ``SandboxIsolationError`` when they cannot be and nobody opted in."""
        return None

    def _execute_untrusted(
        self, argv: list[str], *, cwd: str, env: dict[str, str], timeout: float, network: bool
    ) -> CommandResult:
        """By default the sandbox itself is the boundary (a VM holds nothing of the
        orchestrator's): run as any command."""
        return self._execute(argv, cwd=cwd, env=env, timeout=timeout)

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
