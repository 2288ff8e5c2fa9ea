"""Run a local command in its own process group, and make sure nothing it started outlives it.

The command runs in a new session (so in a new process group, without a controlling terminal:
nothing can prompt). When the timeout passes the whole group gets SIGTERM, then SIGKILL after a
grace period; when the command exits by itself, whatever it left running in its group is killed
too. The leader is reaped only after its group has been signalled, so its process-group id cannot
be reused by an unrelated process in between.
"""

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from jrn_dagster.ports.sandbox import MAX_OUTPUT_BYTES

KILL_GRACE_SECONDS = 2.0
_READ_CHUNK = 65536


@dataclass(frozen=True)
class ProcessOutcome:
    exit_code: int
    stdout: bytes
    stderr: bytes
    duration_seconds: float
    timed_out: bool


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping at most ``MAX_OUTPUT_BYTES`` (the latest)."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self.data = bytearray()

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(self._stream.fileno(), _READ_CHUNK):
                self.data += chunk
                if len(self.data) > MAX_OUTPUT_BYTES:
                    del self.data[: len(self.data) - MAX_OUTPUT_BYTES]


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _wait_without_reaping(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """True when the process exited within ``timeout``; the zombie keeps its pid (and so its
    process-group id) reserved until ``process.wait()`` reaps it."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(process.pid)
        except OSError:
            fd = None
        if fd is not None:
            try:
                ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
                return bool(ready)
            finally:
                os.close(fd)
    # Portable fallback: poll with waitid(WNOWAIT), which also leaves the zombie in place.
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.1)


def _close_pipes(process: subprocess.Popen[bytes], drains: list[_Drain], wait: float) -> None:
    for drain, stream in zip(drains, (process.stdout, process.stderr), strict=True):
        # A process that left the group (setsid) may still hold a pipe: do not wait for it, and
        # leave that pipe to its reader rather than close it under it.
        drain.join(timeout=wait)
        if stream is not None and not drain.is_alive():
            stream.close()


def run_in_process_group(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout: float,
    kill_grace: float = KILL_GRACE_SECONDS,
    pass_fds: Sequence[int] = (),
) -> ProcessOutcome:
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
            pass_fds=tuple(pass_fds),
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as error:
        # The shell's conventions, so a missing program looks the same here and in E2B.
        code = 127 if isinstance(error, FileNotFoundError) else 126
        message = f"{argv[0]}: {error.strerror}\n".encode()
        return ProcessOutcome(code, b"", message, time.monotonic() - started, False)

    if process.stdout is None or process.stderr is None:  # pragma: no cover - PIPE was asked for
        raise RuntimeError("subprocess pipes were not created")
    drains = [_Drain(process.stdout), _Drain(process.stderr)]
    for drain in drains:
        drain.start()
    pgid = process.pid  # start_new_session: the leader's pid is the group id
    timed_out = False
    try:
        if not _wait_without_reaping(process, timeout):
            timed_out = True
            _signal_group(pgid, signal.SIGTERM)
            _wait_without_reaping(process, kill_grace)
    except BaseException:
        # Interrupted (a cancelled run): the command must not outlive us.
        _signal_group(pgid, signal.SIGKILL)
        process.wait()
        _close_pipes(process, drains, kill_grace)
        raise
    # SIGKILL the group in every case: after a timeout it catches children that ignored SIGTERM;
    # after a normal exit it ends whatever the command left running.
    _signal_group(pgid, signal.SIGKILL)
    returncode = process.wait()
    # A signal death is reported the way a shell reports it (128 + signal), as in E2B.
    exit_code = 128 - returncode if returncode < 0 else returncode
    _close_pipes(process, drains, kill_grace)
    return ProcessOutcome(
        exit_code=exit_code,
        stdout=bytes(drains[0].data),
        stderr=bytes(drains[1].data),
        duration_seconds=time.monotonic() - started,
        timed_out=timed_out,
    )
