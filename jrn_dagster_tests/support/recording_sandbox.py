"""A sandbox spy: records every command (argv, cwd, env) and file operation, then delegates to a
real sandbox. Use it to prove what ran, with what environment, and that nothing ran at all."""

from dataclasses import dataclass, field

from jrn_dagster.ports.sandbox import CommandResult, Sandbox


@dataclass(frozen=True)
class RecordedCommand:
    argv: list[str]
    cwd: str
    env: dict[str, str]
    result: CommandResult | None


@dataclass
class RecordingSandbox(Sandbox):
    inner: Sandbox
    commands: list[RecordedCommand] = field(default_factory=list)
    file_operations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def root(self) -> str:
        return self.inner.root

    @property
    def released(self) -> bool:
        return self.inner.released

    @property
    def everything(self) -> list[object]:
        """Commands and file operations, in one list (empty when nothing touched the sandbox)."""
        return [*self.commands, *self.file_operations]

    def _execute(
        self, argv: list[str], *, cwd: str, env: dict[str, str], timeout: float
    ) -> CommandResult:
        try:
            result = self.inner._execute(argv, cwd=cwd, env=env, timeout=timeout)
        except BaseException:
            self.commands.append(RecordedCommand(list(argv), cwd, dict(env), None))
            raise
        self.commands.append(RecordedCommand(list(argv), cwd, dict(env), result))
        return result

    def write_file(self, path: str, data: bytes | str) -> None:
        self.file_operations.append(("write", path))
        self.inner.write_file(path, data)

    def read_file(self, path: str) -> bytes:
        self.file_operations.append(("read", path))
        return self.inner.read_file(path)

    def list_files(self, directory: str = ".") -> list[str]:
        self.file_operations.append(("list", directory))
        return self.inner.list_files(directory)

    def remove(self, path: str) -> None:
        self.file_operations.append(("remove", path))
        self.inner.remove(path)

    def release(self) -> None:
        self.file_operations.append(("release", ""))
        self.inner.release()
