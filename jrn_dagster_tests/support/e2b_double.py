"""The e2b SDK, autospec'd, with its command and file APIs acting on this machine.

Every SDK call goes through a mock built with ``create_autospec`` from the real classes (or is
checked against the real method's signature where autospec cannot follow the SDK's
``class_method_variant`` descriptors), so a call shape the SDK would reject fails here too. Behind
the mocks, commands really run (``bash -c`` of the command string, as envd runs ``bash -l -c``)
and files really live in a directory: the E2B wrapper's quoting, timeouts, environment handling
and error mapping are exercised for real, only the VM is missing.
"""

import inspect
import itertools
import os
import signal
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, create_autospec

import e2b
from e2b.sandbox.commands.command_handle import CommandResult as SdkCommandResult
from e2b.sandbox.filesystem.filesystem import EntryInfo, FileType, WriteInfo
from e2b.sandbox_sync.commands.command import Commands
from e2b.sandbox_sync.filesystem.filesystem import Filesystem

# Signatures autospec cannot see through `class_method_variant`.
INSTANCE_KILL = inspect.signature(e2b.Sandbox.__dict__["kill"].method)
CLASS_KILL = inspect.signature(e2b.Sandbox._cls_kill)
CLASS_CONNECT = inspect.signature(e2b.Sandbox._cls_connect_sandbox)
CLASS_LIST = inspect.signature(e2b.Sandbox.list)


def checked(
    signature: inspect.Signature, effect: Callable[..., Any], *, self_arg: bool
) -> MagicMock:
    """A mock that refuses calls ``signature`` would refuse, then runs ``effect``."""

    def call(*args: Any, **kwargs: Any) -> Any:
        signature.bind(*(("self",) if self_arg else ()), *args, **kwargs)
        return effect(*args, **kwargs)

    return MagicMock(side_effect=call)


class FakeE2BCloud:
    """What the E2B control plane knows: live sandboxes by id."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.sandboxes: dict[str, MagicMock] = {}
        self.killed: set[str] = set()
        self.directories: dict[str, list[Path]] = {}
        self._ids = (f"sbx{n:04d}" for n in itertools.count(1))
        self.sdk_class = create_autospec(e2b.Sandbox)
        self.sdk_class.create.side_effect = self._create
        self.sdk_class.connect = checked(CLASS_CONNECT, self._connect, self_arg=False)
        self.sdk_class.kill = checked(CLASS_KILL, self._kill_by_id, self_arg=False)
        self.sdk_class.list = checked(CLASS_LIST, self._list_sandboxes, self_arg=False)
        self.metadata: dict[str, dict[str, str]] = {}

    # control plane -------------------------------------------------------------------------
    def _create(self, *args: Any, **kwargs: Any) -> MagicMock:
        sandbox_id = next(self._ids)
        self.metadata[sandbox_id] = dict(kwargs.get("metadata") or {})
        sandbox = create_autospec(e2b.Sandbox, instance=True)
        sandbox.sandbox_id = sandbox_id
        sandbox.commands = create_autospec(Commands, instance=True)
        sandbox.commands.run.side_effect = lambda *a, **k: self._run(sandbox_id, *a, **k)
        sandbox.files = create_autospec(Filesystem, instance=True)
        sandbox.files.write.side_effect = lambda *a, **k: self._write(sandbox_id, *a, **k)
        sandbox.files.read.side_effect = lambda *a, **k: self._read(sandbox_id, *a, **k)
        sandbox.files.list.side_effect = lambda *a, **k: self._list(sandbox_id, *a, **k)
        sandbox.files.remove.side_effect = lambda *a, **k: self._remove(sandbox_id, *a, **k)
        sandbox.files.make_dir.side_effect = lambda *a, **k: self._make_dir(sandbox_id, *a, **k)
        sandbox.kill = checked(
            INSTANCE_KILL, lambda **_: self._kill_by_id(sandbox_id), self_arg=True
        )
        self.sandboxes[sandbox_id] = sandbox
        return sandbox

    def _connect(self, sandbox_id: str, *args: Any, **kwargs: Any) -> MagicMock:
        if sandbox_id not in self.sandboxes or sandbox_id in self.killed:
            raise e2b.SandboxNotFoundException(f"Paused sandbox {sandbox_id} not found")
        return self.sandboxes[sandbox_id]

    def _list_sandboxes(self, query: Any = None, *args: Any, **kwargs: Any) -> MagicMock:
        """One page of the live sandboxes whose metadata contains ``query.metadata``."""
        wanted = dict(getattr(query, "metadata", None) or {})
        infos = []
        for sandbox_id, metadata in self.metadata.items():
            if sandbox_id in self.killed or not wanted.items() <= metadata.items():
                continue
            info = create_autospec(e2b.SandboxInfo, instance=True)
            info.sandbox_id, info.metadata = sandbox_id, metadata
            infos.append(info)
        paginator = create_autospec(e2b.SandboxPaginator, instance=True)
        paginator.next_items.side_effect = [infos]
        paginator.has_next = False
        return paginator

    def _kill_by_id(self, sandbox_id: str, **_: Any) -> bool:
        if sandbox_id not in self.sandboxes or sandbox_id in self.killed:
            return False
        self.killed.add(sandbox_id)
        # A killed VM takes its disk with it.
        for directory in self.directories.pop(sandbox_id, []):
            subprocess.run(["rm", "-rf", "--", str(directory)], check=True)
        return True

    def _alive(self, sandbox_id: str) -> None:
        if sandbox_id in self.killed:
            raise e2b.SandboxNotRunningException(
                "The sandbox was killed or reached its timeout", status_code=502
            )

    # envd: commands ------------------------------------------------------------------------
    def _run(
        self,
        sandbox_id: str,
        cmd: str,
        *,
        envs: dict[str, str] | None = None,
        cwd: str | None = None,
        timeout: float | None = 60,
        **_: Any,
    ) -> SdkCommandResult:
        self._alive(sandbox_id)
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.home), "USER": "user"}
        env.update(envs or {})
        process = subprocess.Popen(
            ["bash", "-c", cmd],
            cwd=cwd or str(self.home),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=timeout or None)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise e2b.TimeoutException("context deadline exceeded") from None
        stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
        if process.returncode != 0:
            raise e2b.CommandExitException(
                stderr=stderr, stdout=stdout, exit_code=process.returncode, error=None
            )
        return SdkCommandResult(stderr=stderr, stdout=stdout, exit_code=0, error=None)

    # envd: files ---------------------------------------------------------------------------
    def _write(self, sandbox_id: str, path: str, data: bytes | str, **_: Any) -> WriteInfo:
        self._alive(sandbox_id)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        return WriteInfo(name=target.name, type=FileType.FILE, path=path)

    def _read(self, sandbox_id: str, path: str, format: str = "text", **_: Any) -> Any:
        self._alive(sandbox_id)
        try:
            content = Path(path).read_bytes()
        except FileNotFoundError:
            raise e2b.FileNotFoundException(f"Path not found: {path}") from None
        return bytearray(content) if format == "bytes" else content.decode()

    def _entry(self, path: Path) -> EntryInfo:
        kind = (
            FileType.SYMLINK
            if path.is_symlink()
            else FileType.DIR
            if path.is_dir()
            else FileType.FILE
        )
        info = path.lstat()
        return EntryInfo(
            name=path.name,
            type=kind,
            path=str(path),
            size=info.st_size,
            mode=info.st_mode,
            permissions="",
            owner="user",
            group="user",
            modified_time=datetime.fromtimestamp(info.st_mtime, UTC),
        )

    def _list(self, sandbox_id: str, path: str, depth: int | None = 1, **_: Any) -> list[EntryInfo]:
        self._alive(sandbox_id)
        top = Path(path)
        if not top.is_dir():
            raise e2b.FileNotFoundException(f"Path not found: {path}")
        entries: list[EntryInfo] = []
        for current, dirnames, filenames in os.walk(top):
            level = len(Path(current).relative_to(top).parts) + 1
            if depth is not None and level > depth:
                continue
            entries.extend(self._entry(Path(current) / name) for name in dirnames + filenames)
        return entries

    def _remove(self, sandbox_id: str, path: str, **_: Any) -> None:
        self._alive(sandbox_id)
        target = Path(path)
        if not target.exists() and not target.is_symlink():
            raise e2b.FileNotFoundException(f"Path not found: {path}")
        if target.is_dir() and not target.is_symlink():
            subprocess.run(["rm", "-rf", "--", str(target)], check=True)
        else:
            target.unlink()

    def _make_dir(self, sandbox_id: str, path: str, **_: Any) -> bool:
        self._alive(sandbox_id)
        Path(path).mkdir(parents=True, exist_ok=True)
        self.directories.setdefault(sandbox_id, []).append(Path(path))
        return True
