"""Long-lived processes for end-to-end tests: started in a session of their own with default
signal handling, logs to a file, stopped by their process group (never by name)."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE_SECONDS = 30
KILL_WAIT_SECONDS = 10
TAIL_LINES = 80
# Dispositions a parent may have left ignored (a shell's `&`, `nohup`, a test runner's worker)
# and that exec would keep: `dagster dev` started with SIGINT/SIGTERM ignored never stops.
_RESET_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def free_port() -> int:
    """A loopback port nobody listens on right now (for programs without ``--port 0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _default_signals() -> None:  # pragma: no cover - runs in the child before exec
    for number in _RESET_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def group_members(group_id: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == group_id:
            members.append(int(entry.name))
    return members


@dataclass
class ManagedProcess:
    """A process we started, leader of its own session and process group."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = TAIL_LINES) -> str:
        text = self.log_text().splitlines()[-lines:]
        return f"--- last {len(text)} lines of {self.name} ({self.log_path}) ---\n" + "\n".join(
            text
        )

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> list[int]:
        """SIGTERM to the whole group, wait for every member, then SIGKILL what is left.

        Returns the pids that had to be killed (empty: everything stopped on SIGTERM).
        """
        group = self.pid  # start_new_session: the leader's pid is the group id
        self._signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline:
            self.process.poll()  # reap the leader, or it stays a zombie member
            if not group_members(group):
                break
            time.sleep(0.2)
        killed = group_members(group)
        if killed:
            self._signal_group(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=KILL_WAIT_SECONDS)
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while group_members(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        return killed

    @staticmethod
    def _signal_group(group: int, number: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, number)


def start_process(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
) -> ManagedProcess:
    """Start ``argv`` in a new session (its own process group), signals at their defaults,
    stdout and stderr appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_signals,  # noqa: PLW1509 - only resets signal dispositions
        )
    return ManagedProcess(name=name, process=process, log_path=log_path)


def wait_for_log_line(process: ManagedProcess, marker: str, *, timeout_seconds: float) -> str:
    """The first log line containing ``marker``; raises if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        for line in process.log_text().splitlines():
            if marker in line:
                return line
        if not process.running():
            raise RuntimeError(
                f"{process.name} exited with {process.process.returncode} before logging "
                f"{marker!r}\n{process.tail()}"
            )
        time.sleep(0.1)
    raise TimeoutError(
        f"{process.name} did not log {marker!r} in {timeout_seconds} s\n{process.tail()}"
    )
