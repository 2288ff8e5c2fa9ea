"""The embedded default sandbox: a private directory on this machine and subprocesses.

Layout of one sandbox, ``{base_dir}/{id}/`` (mode 0700)::

    .jrn-sandbox   marker (key, creation time): only marked directories can be attached
    work/          ``root``: commands start here, relative paths are taken from here
    home/          ``$HOME`` of every command, so no user-level git config or credential
                   helper of the machine applies
    tmp/           ``$TMPDIR``

Commands of the pipeline (git) run as the Dagster user with a minimal environment. The agent
runs through ``run_untrusted``, isolated with bubblewrap (``isolation.py``): it sees only the work
directory, no process of the orchestrator and no network. Where bubblewrap cannot work, the agent
is refused unless the operator opted in to running it unisolated (docs/sandboxes.md).
"""

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jrn_dagster.adapters.bubblewrap import (
    AGENT_HOME,
    SCRATCH_DIR,
    bubblewrap_argv,
    check_bubblewrap,
    default_bubblewrap,
)
from jrn_dagster.adapters.process_group import KILL_GRACE_SECONDS, run_in_process_group
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.ports.sandbox import (
    CommandResult,
    Sandbox,
    SandboxError,
    SandboxFileNotFoundError,
    SandboxGoneError,
    SandboxIsolationError,
    SandboxPathError,
    SandboxProvider,
    SandboxTimeoutError,
    SandboxUnavailableError,
)

logger = logging.getLogger(__name__)

MARKER = ".jrn-sandbox"
_ID = re.compile(r"^local-[0-9a-f]{24}$")
ALLOW_UNISOLATED_AGENT_ENV = "JRN_ALLOW_UNISOLATED_AGENT"
UNISOLATED_WARNING = (
    "the agent runs WITHOUT isolation on the local sandbox ("
    + ALLOW_UNISOLATED_AGENT_ENV
    + " is set): it can read every file and process environment of the user running Dagster, "
    "the git credentials included (docs/sandboxes.md)"
)


# A pipe's buffer holds this much without a reader (Linux: 64 KiB): the options are written
# whole before bwrap starts.
MAX_SECRET_OPTIONS_BYTES = 60_000


@contextmanager
def _options_pipe(secret_env: Mapping[str, str]) -> Iterator[int | None]:
    """The read end of a pipe holding ``--setenv NAME VALUE`` for each secret, NUL-separated, as
    ``bwrap --args FD`` reads them; None without secrets. Closed when the command is done."""
    if not secret_env:
        yield None
        return
    payload = b"".join(
        b"\0".join([b"--setenv", name.encode(), value.encode()]) + b"\0"
        for name, value in secret_env.items()
    )
    if len(payload) > MAX_SECRET_OPTIONS_BYTES:
        raise InvalidInputError(
            f"the agent's secret variables add up to {len(payload):,} bytes: over the limit of "
            f"{MAX_SECRET_OPTIONS_BYTES:,}"
        )
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, payload)
        os.close(write_fd)
        write_fd = -1
        yield read_fd
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)


@dataclass(frozen=True)
class AgentIsolation:
    """How the local sandbox isolates untrusted commands (see ``LocalSandboxResource``)."""

    bubblewrap: str | None
    allow_unisolated: bool = False
    read_only_paths: tuple[str, ...] = field(default=())


def default_base_dir() -> str:
    return str(Path(tempfile.gettempdir()) / "jrn-sandboxes")


def sandbox_id_for(key: str) -> str:
    """Derived from the key, so opening the same key from another process finds the same sandbox
    (as E2B's idempotency key does)."""
    return "local-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def minimal_environment(home: str, tmp: str) -> dict[str, str]:
    """What every command starts from. Only PATH comes from this process: never its secrets."""
    return {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    }


def _check_private_dir(path: Path) -> None:
    """Refuse a base directory another user controls: it could redirect our sandboxes."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise SandboxUnavailableError(
            f"sandbox base directory {path} is not a directory (or is a symlink)", retryable=False
        )
    if info.st_uid != os.geteuid():
        raise SandboxUnavailableError(
            f"sandbox base directory {path} belongs to uid {info.st_uid}, not to this user; "
            "choose another base_dir",
            retryable=False,
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SandboxUnavailableError(
            f"sandbox base directory {path} is writable by other users; chmod it 0700",
            retryable=False,
        )


def _remove_tree(path: Path) -> None:
    def make_writable_and_retry(function, failed_path, _exc_info) -> None:  # type: ignore[no-untyped-def]
        # A command may leave read-only directories behind; the sandbox owns them, so force.
        with contextlib.suppress(OSError):
            Path(failed_path).parent.chmod(0o700)
            Path(failed_path).chmod(0o700)
        function(failed_path)

    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, onerror=make_writable_and_retry)


def _release_directory(directory: Path) -> None:
    """The marker goes first: from then on every process sees the sandbox as gone, even if the
    removal of the rest is interrupted."""
    (directory / MARKER).unlink(missing_ok=True)
    _remove_tree(directory)


class LocalSandbox(Sandbox):
    def __init__(
        self,
        sandbox_id: str,
        directory: Path,
        *,
        kill_grace: float,
        isolation: AgentIsolation | None = None,
    ) -> None:
        self._id = sandbox_id
        self._directory = directory
        self._real_directory = directory.resolve()
        self._kill_grace = kill_grace
        self._isolation = isolation or AgentIsolation(bubblewrap=default_bubblewrap())
        self._released = False

    @property
    def id(self) -> str:
        return self._id

    @property
    def root(self) -> str:
        return str(self._directory / "work")

    @property
    def released(self) -> bool:
        return self._released or not (self._directory / MARKER).exists()

    def _alive(self) -> None:
        if self.released:
            raise SandboxGoneError(f"sandbox {self._id} no longer exists")

    def _local(self, path: str) -> Path:
        """``path`` inside this sandbox's directory (symlinks resolved), or ``SandboxPathError``."""
        self._alive()
        resolved = Path(self.path(path)).resolve()
        if resolved != self._real_directory and self._real_directory not in resolved.parents:
            raise SandboxPathError(f"path {path!r} is outside sandbox {self._id}")
        return resolved

    def _local_entry(self, path: str) -> Path:
        """Like ``_local``, but a symlink as the last step is the entry itself, not its target:
        what a command in the sandbox planted there must not redirect a write or a removal."""
        self._alive()
        absolute = Path(self.path(path))
        parent = absolute.parent.resolve()
        if parent != self._real_directory and self._real_directory not in parent.parents:
            raise SandboxPathError(f"path {path!r} is outside sandbox {self._id}")
        return parent / absolute.name

    def _execute(
        self, argv: list[str], *, cwd: str, env: dict[str, str], timeout: float
    ) -> CommandResult:
        directory = self._local(cwd)
        if not directory.is_dir():
            raise SandboxFileNotFoundError(cwd)
        environment = minimal_environment(
            str(self._directory / "home"), str(self._directory / "tmp")
        )
        environment.update(env)
        return self._outcome(argv, argv, cwd=directory, env=environment, timeout=timeout)

    def untrusted_isolation_warning(self) -> str | None:
        isolation = self._isolation
        check = check_bubblewrap(isolation.bubblewrap, isolation.read_only_paths)
        if check.available:
            return None
        if isolation.allow_unisolated:
            return UNISOLATED_WARNING
        raise SandboxIsolationError(
            f"cannot isolate the agent on the local sandbox: {check.reason}. Run agents on E2B "
            f"(JRN_SANDBOX=e2b), make bubblewrap work here (it needs unprivileged user "
            f"namespaces, or root), or set {ALLOW_UNISOLATED_AGENT_ENV}=1 to run the agent "
            "unisolated, able to read this machine's secrets (docs/sandboxes.md)"
        )

    def untrusted_secrets_refusal(self) -> str | None:
        # Isolated, secrets reach the agent through a pipe bubblewrap reads its options from
        # (``--args FD``): never on a command line, never in the orchestrator's /proc. Unisolated,
        # the agent can read everything anyway: no secret is handed to it as well.
        if check_bubblewrap(self._isolation.bubblewrap, self._isolation.read_only_paths).available:
            return None
        return (
            "the local sandbox gives secrets (JRN_AGENT_ENV_ALLOWLIST) only to an agent it "
            "isolates with bubblewrap, which cannot work here. Run the agent on E2B "
            "(JRN_SANDBOX=e2b), make bubblewrap work, or empty JRN_AGENT_ENV_ALLOWLIST "
            "(docs/agents.md)"
        )

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
        if self.untrusted_isolation_warning() is not None:
            if secret_env:  # run_untrusted refuses first; never hand secrets to it unisolated
                raise SandboxIsolationError(self.untrusted_secrets_refusal() or "unisolated")
            logger.warning("%s", UNISOLATED_WARNING)
            return self._execute(argv, cwd=cwd, env=env, timeout=timeout)
        directory = self._local(cwd)
        if not directory.is_dir():
            raise SandboxFileNotFoundError(cwd)
        environment = minimal_environment(AGENT_HOME, SCRATCH_DIR)
        environment.update(env)
        for name in secret_env:
            environment.pop(name, None)  # the secret's own --setenv comes after, from the pipe
        with _options_pipe(secret_env) as args_fd:
            isolated = bubblewrap_argv(
                self._isolation.bubblewrap or "bwrap",
                argv,
                writable=(str(Path(self.root).resolve()), self.root),
                cwd=cwd,
                env=environment,
                network=network,
                read_only=self._isolation.read_only_paths,
                args_fd=args_fd,
            )
            # bwrap starts from an empty environment: inside, /proc/1/environ is bwrap's own.
            return self._outcome(
                argv,
                isolated,
                cwd=directory,
                env={},
                timeout=timeout,
                pass_fds=() if args_fd is None else (args_fd,),
            )

    def _outcome(
        self,
        argv: list[str],
        command: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        timeout: float,
        pass_fds: tuple[int, ...] = (),
    ) -> CommandResult:
        outcome = run_in_process_group(
            command,
            cwd=str(cwd),
            env=env,
            timeout=timeout,
            kill_grace=self._kill_grace,
            pass_fds=pass_fds,
        )
        stdout = outcome.stdout.decode("utf-8", errors="replace")
        stderr = outcome.stderr.decode("utf-8", errors="replace")
        if outcome.timed_out:
            raise SandboxTimeoutError(argv, timeout, stdout, stderr)
        return CommandResult(
            exit_code=outcome.exit_code,
            stdout=stdout,
            stderr=stderr,
            duration_seconds=outcome.duration_seconds,
        )

    def write_file(self, path: str, data: bytes | str) -> None:
        target = self._local_entry(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()  # replaced, never written through
        target.write_bytes(data.encode() if isinstance(data, str) else data)

    def read_file(self, path: str) -> bytes:
        target = self._local(path)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise SandboxFileNotFoundError(path) from None
        except IsADirectoryError:
            raise SandboxError(f"{path} is a directory, not a file") from None

    def list_files(self, directory: str = ".") -> list[str]:
        top = self._local(directory)
        if not top.is_dir():
            raise SandboxFileNotFoundError(directory)
        found: list[str] = []
        for current, dirnames, filenames in os.walk(top):
            here = Path(current)
            # A symlink to a directory is listed as an entry, never followed.
            leaves = filenames + [d for d in dirnames if (here / d).is_symlink()]
            found.extend((here / name).relative_to(top).as_posix() for name in leaves)
        return sorted(found)

    def remove(self, path: str) -> None:
        target = self._local_entry(path)
        if target == self._real_directory or target == Path(self.root).resolve():
            raise SandboxPathError(f"refusing to remove the sandbox itself ({path!r})")
        _remove_tree(target)  # a symlink is unlinked, its target left alone

    def release(self) -> None:
        if self._released:
            return
        try:
            _release_directory(self._directory)
        except OSError as error:
            raise SandboxError(f"could not remove sandbox {self._id}: {error}") from None
        self._released = True


class LocalSandboxes(SandboxProvider):
    """Sandboxes as private temporary directories on the machine running the op."""

    def __init__(
        self,
        *,
        base_dir: str | None = None,
        kill_grace_seconds: float = KILL_GRACE_SECONDS,
        bubblewrap_path: str | None = None,
        allow_unisolated_agent: bool = False,
        agent_read_only_paths: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.base_dir = base_dir
        self.kill_grace_seconds = kill_grace_seconds
        self.bubblewrap_path = bubblewrap_path
        self.allow_unisolated_agent = allow_unisolated_agent
        self.agent_read_only_paths = list(agent_read_only_paths or [])

    def _base(self) -> Path:
        base = Path(self.base_dir or default_base_dir())
        try:
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise SandboxUnavailableError(
                f"cannot create sandbox base directory {base}: {error.strerror}", retryable=False
            ) from None
        _check_private_dir(base)
        return base

    def _sandbox(self, sandbox_id: str, directory: Path) -> LocalSandbox:
        for path in self.agent_read_only_paths:
            if not Path(path).is_absolute():
                raise SandboxUnavailableError(
                    f"agent_read_only_paths must be absolute, got {path!r}", retryable=False
                )
        isolation = AgentIsolation(
            bubblewrap=self.bubblewrap_path or default_bubblewrap(),
            allow_unisolated=self.allow_unisolated_agent,
            read_only_paths=tuple(self.agent_read_only_paths),
        )
        return LocalSandbox(
            sandbox_id, directory, kill_grace=self.kill_grace_seconds, isolation=isolation
        )

    def _create(self, key: str) -> LocalSandbox:
        sandbox_id = sandbox_id_for(key)
        directory = self._base() / sandbox_id
        if (directory / MARKER).exists():
            return self._sandbox(sandbox_id, directory)
        try:
            # Left over from an interrupted release: start from nothing.
            _remove_tree(directory)
            directory.mkdir(mode=0o700)
            for part in ("work", "home", "tmp"):
                (directory / part).mkdir(mode=0o700, exist_ok=True)
            marker = {"key": key, "created_at": datetime.now(UTC).isoformat()}
            (directory / MARKER).write_text(json.dumps(marker))
        except OSError as error:
            raise SandboxUnavailableError(
                f"cannot create sandbox {sandbox_id} in {directory.parent}: {error.strerror}",
                retryable=False,
            ) from None
        return self._sandbox(sandbox_id, directory)

    def _directory_of(self, sandbox_id: str) -> Path:
        if not isinstance(sandbox_id, str) or not _ID.match(sandbox_id):
            raise SandboxGoneError(f"{sandbox_id!r} is not a local sandbox id")
        return self._base() / sandbox_id

    def _attach(self, sandbox_id: str) -> LocalSandbox:
        directory = self._directory_of(sandbox_id)
        if not (directory / MARKER).exists():
            raise SandboxGoneError(f"sandbox {sandbox_id} no longer exists")
        return self._sandbox(sandbox_id, directory)

    def _release(self, sandbox_id: str) -> None:
        try:
            _release_directory(self._directory_of(sandbox_id))
        except OSError as error:
            raise SandboxError(f"could not remove sandbox {sandbox_id}: {error}") from None

    def _release_key(self, key: str) -> list[str]:
        sandbox_id = sandbox_id_for(key)
        directory = self._base() / sandbox_id
        if not directory.exists():
            return []
        _remove_tree(directory)
        return [sandbox_id]

    def release_stale(self, older_than_seconds: float) -> list[str]:
        """Release sandboxes created more than ``older_than_seconds`` ago (a backstop for
        processes killed with SIGKILL, which run no teardown). Returns the released ids."""
        cutoff = time.time() - older_than_seconds
        released: list[str] = []
        for directory in sorted(self._base().iterdir()):
            marker = directory / MARKER
            if _ID.match(directory.name) and marker.exists() and marker.stat().st_mtime < cutoff:
                _release_directory(directory)
                released.append(directory.name)
        return released
