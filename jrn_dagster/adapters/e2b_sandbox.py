"""Sandboxes in E2B (production): one cloud VM per run, on the e2b SDK.

Nothing is left to the SDK's defaults, which do not fit a run: the sandbox lifetime (SDK default
300 s), every command's timeout (SDK default 60 s), the request timeout, the behaviour at the end
of the lifetime (kill) and internet access are all set explicitly.

A command's timeout is enforced inside the sandbox by a small supervisor script that signals the
command's whole process group (SIGTERM, then SIGKILL after a grace period); the SDK's own command
timeout is set a little longer, as a backstop for a sandbox that stops answering.
"""

import contextlib
import hashlib
import logging
import posixpath
import re
import shlex
import time
from collections.abc import Iterator, Sequence
from typing import NoReturn

import httpx
from e2b import (
    AuthenticationException,
    CommandExitException,
    FileNotFoundException,
    RateLimitException,
    SandboxException,
    SandboxNotFoundException,
    SandboxNotRunningException,
    SandboxQuery,
    SandboxUnreachableException,
    ServiceBusyException,
    TimeoutException,
)
from e2b import Sandbox as E2BSdkSandbox
from e2b.connection_config import ApiParams
from e2b.sandbox.filesystem.filesystem import FileType

from jrn_dagster.ports.sandbox import (
    CommandResult,
    Sandbox,
    SandboxError,
    SandboxFileNotFoundError,
    SandboxGoneError,
    SandboxProvider,
    SandboxTimeoutError,
    SandboxUnavailableError,
)

logger = logging.getLogger(__name__)

# Extra seconds the SDK waits beyond our own timeout before it gives up on the stream.
_SDK_TIMEOUT_MARGIN = 15.0
_LIST_DEPTH = 256
_SANDBOX_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")
_IDEMPOTENCY_KEY = re.compile(r"^[a-z0-9-]{1,200}$")
_COMMAND_ENVIRONMENT = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}


def idempotency_key_for(key: str) -> str:
    """E2B accepts 1-255 lowercase letters, digits and hyphens; a run id already is one."""
    if _IDEMPOTENCY_KEY.match(key):
        return f"jrn-{key}"
    return "jrn-" + hashlib.sha256(key.encode()).hexdigest()[:48]


def unavailable(action: str, error: BaseException) -> SandboxUnavailableError:
    """The control plane or the sandbox could not be reached or refused us."""
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error, AuthenticationException):
        return SandboxUnavailableError(
            f"{action}: E2B rejected the API key ({detail}); check E2B_API_KEY", retryable=False
        )
    if isinstance(error, httpx.TransportError):
        return SandboxUnavailableError(f"{action}: cannot reach E2B ({detail})", retryable=True)
    if isinstance(error, RateLimitException | ServiceBusyException):
        return SandboxUnavailableError(f"{action}: E2B is busy ({detail})", retryable=True)
    status = getattr(error, "status_code", None)
    retryable = status is None or status >= 500 or isinstance(error, TimeoutException)
    return SandboxUnavailableError(f"{action}: {detail}", retryable=retryable)


_UNAVAILABLE = (
    AuthenticationException,
    ServiceBusyException,
    httpx.TransportError,
    SandboxException,
)


class E2BSandbox(Sandbox):
    def __init__(
        self, sdk: E2BSdkSandbox, *, root: str, request_timeout: float, kill_grace: float
    ) -> None:
        self._sdk = sdk
        self._root = posixpath.normpath(root)
        self._request_timeout = request_timeout
        self._kill_grace = kill_grace
        self._released = False

    @property
    def id(self) -> str:
        return self._sdk.sandbox_id

    @property
    def root(self) -> str:
        return self._root

    @property
    def released(self) -> bool:
        return self._released

    @contextlib.contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """SDK exceptions become ours; a sandbox that is gone says so."""
        if self._released:
            raise SandboxGoneError(f"sandbox {self.id} was released")
        try:
            yield
        except SandboxError:
            raise
        except (SandboxNotRunningException, SandboxNotFoundException) as error:
            raise SandboxGoneError(f"sandbox {self.id} no longer exists ({error})") from None
        except _UNAVAILABLE as error:
            raise unavailable(f"{action} in sandbox {self.id}", error) from None

    def _execute(
        self, argv: list[str], *, cwd: str, env: dict[str, str], timeout: float
    ) -> CommandResult:
        command = supervised_command(argv, timeout=timeout, grace=self._kill_grace)
        started = time.monotonic()
        with self._translate(f"running {argv[0]}"):
            try:
                finished = self._sdk.commands.run(
                    command,
                    envs={**_COMMAND_ENVIRONMENT, **env},
                    cwd=cwd,
                    timeout=timeout + self._kill_grace + _SDK_TIMEOUT_MARGIN,
                )
                exit_code, stdout, stderr = finished.exit_code, finished.stdout, finished.stderr
            except CommandExitException as error:
                exit_code, stdout, stderr = error.exit_code, error.stdout, error.stderr
            except (
                SandboxNotRunningException,
                SandboxNotFoundException,
                SandboxUnreachableException,
            ):
                raise
            except TimeoutException:
                # The backstop fired: the sandbox stopped answering while the command ran.
                raise SandboxTimeoutError(argv, timeout) from None
        duration = time.monotonic() - started
        stdout, stderr = stdout or "", stderr or ""
        if exit_code == TIMED_OUT_EXIT_CODE and duration >= timeout:
            raise SandboxTimeoutError(argv, timeout, stdout, stderr)
        return CommandResult(
            exit_code=exit_code, stdout=stdout, stderr=stderr, duration_seconds=duration
        )

    def write_file(self, path: str, data: bytes | str) -> None:
        with self._translate(f"writing {path}"):
            self._sdk.files.write(self.path(path), data, request_timeout=self._request_timeout)

    def read_file(self, path: str) -> bytes:
        with self._translate(f"reading {path}"):
            try:
                content = self._sdk.files.read(
                    self.path(path), format="bytes", request_timeout=self._request_timeout
                )
            except FileNotFoundException:
                raise SandboxFileNotFoundError(path) from None
        return bytes(content)

    def list_files(self, directory: str = ".") -> list[str]:
        top = self.path(directory)
        with self._translate(f"listing {directory}"):
            try:
                entries = self._sdk.files.list(
                    top, depth=_LIST_DEPTH, request_timeout=self._request_timeout
                )
            except FileNotFoundException:
                raise SandboxFileNotFoundError(directory) from None
        return sorted(
            posixpath.relpath(entry.path, top)
            for entry in entries
            if entry.type in (FileType.FILE, FileType.SYMLINK)
        )

    def remove(self, path: str) -> None:
        with self._translate(f"removing {path}"), contextlib.suppress(FileNotFoundException):
            self._sdk.files.remove(self.path(path), request_timeout=self._request_timeout)

    def release(self) -> None:
        if self._released:
            return
        try:
            self._sdk.kill(request_timeout=self._request_timeout)
        except (SandboxNotFoundException, SandboxNotRunningException):
            pass
        except _UNAVAILABLE as error:
            raise unavailable(f"killing sandbox {self.id}", error) from None
        self._released = True


class E2BSandboxes(SandboxProvider):
    """Sandboxes in E2B, one per key, created with an idempotency key and metadata naming it."""

    def __init__(
        self,
        *,
        api_key: str,
        template: str,
        lifetime_seconds: int = 3600,
        request_timeout_seconds: float = 30.0,
        kill_grace_seconds: float = 5.0,
        workdir: str = "/home/user/work",
        domain: str | None = None,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.template = template
        self.lifetime_seconds = lifetime_seconds
        self.request_timeout_seconds = request_timeout_seconds
        self.kill_grace_seconds = kill_grace_seconds
        self.workdir = workdir
        self.domain = domain

    def _api_params(self) -> ApiParams:
        params = ApiParams(api_key=self.api_key, request_timeout=self.request_timeout_seconds)
        if self.domain:
            params["domain"] = self.domain
        return params

    def _wrap(self, sdk: E2BSdkSandbox) -> E2BSandbox:
        return E2BSandbox(
            sdk,
            root=self.workdir,
            request_timeout=self.request_timeout_seconds,
            kill_grace=self.kill_grace_seconds,
        )

    def _fail(self, action: str, error: BaseException) -> NoReturn:
        raise unavailable(action, error) from None

    def _create(self, key: str) -> E2BSandbox:
        if not posixpath.isabs(self.workdir):
            raise SandboxUnavailableError(
                f"E2B workdir must be an absolute path, got {self.workdir!r}", retryable=False
            )
        try:
            sdk = E2BSdkSandbox.create(
                template=self.template,
                timeout=self.lifetime_seconds,
                metadata={"app": "jrn-dagster", "key": key},
                allow_internet_access=True,
                lifecycle={"on_timeout": "kill"},
                idempotency_key=idempotency_key_for(key),
                **self._api_params(),
            )
        except _UNAVAILABLE as error:
            self._fail(f"creating an E2B sandbox from template {self.template!r}", error)
        sandbox = self._wrap(sdk)
        try:
            with sandbox._translate("creating the working directory"):
                sdk.files.make_dir(self.workdir, request_timeout=self.request_timeout_seconds)
        except SandboxError:
            # A sandbox we cannot use is a sandbox we must not leak.
            with contextlib.suppress(SandboxError):
                sandbox.release()
            raise
        return sandbox

    def _attach(self, sandbox_id: str) -> E2BSandbox:
        if not isinstance(sandbox_id, str) or not _SANDBOX_ID.match(sandbox_id):
            raise SandboxGoneError(f"{sandbox_id!r} is not an E2B sandbox id")
        try:
            sdk = E2BSdkSandbox.connect(
                sandbox_id,
                timeout=self.lifetime_seconds,
                **self._api_params(),
            )
        except (SandboxNotFoundException, SandboxNotRunningException) as error:
            raise SandboxGoneError(f"sandbox {sandbox_id} no longer exists ({error})") from None
        except _UNAVAILABLE as error:
            self._fail(f"reconnecting to E2B sandbox {sandbox_id}", error)
        return self._wrap(sdk)

    def _release_key(self, key: str) -> list[str]:
        """Sandboxes are created with ``metadata={"app": "jrn-dagster", "key": key}``."""
        query = SandboxQuery(metadata={"app": "jrn-dagster", "key": key})
        try:
            paginator = E2BSdkSandbox.list(query=query, **self._api_params())
            found = list(paginator.next_items())
            while paginator.has_next:
                found.extend(paginator.next_items())
        except _UNAVAILABLE as error:
            self._fail(f"listing the E2B sandboxes of key {key}", error)
        released = []
        for info in found:
            self._release(info.sandbox_id)
            released.append(info.sandbox_id)
        return released

    def _release(self, sandbox_id: str) -> None:
        if not isinstance(sandbox_id, str) or not _SANDBOX_ID.match(sandbox_id):
            return
        try:
            E2BSdkSandbox.kill(sandbox_id, **self._api_params())
        except (SandboxNotFoundException, SandboxNotRunningException):
            pass
        except _UNAVAILABLE as error:
            self._fail(f"killing E2B sandbox {sandbox_id}", error)


TIMED_OUT_EXIT_CODE = 124

SUPERVISOR_SCRIPT = r"""timed_out=0
trap 'timed_out=1' USR1
limit=$1 grace=$2
shift 2
setsid "$@" &
pid=$!
setsid bash -c 'sleep "$1"; kill -USR1 "$2"; kill -TERM -- "-$3"; sleep "$4"; kill -KILL -- "-$3"' \
  watchdog "$limit" "$$" "$pid" "$grace" >/dev/null 2>&1 </dev/null &
watchdog=$!
disown "$watchdog"
while :; do
  wait "$pid" 2>/dev/null
  code=$?
  kill -0 "$pid" 2>/dev/null || break
done
kill -KILL -- "-$pid" "-$watchdog" 2>/dev/null
[ "$timed_out" = 1 ] && exit 124
exit "$code"
"""


def supervised_command(argv: Sequence[str], *, timeout: float, grace: float) -> str:
    """The shell command line (for ``bash -c``) that runs ``argv`` under the supervisor. Every
    argument is quoted: nothing in ``argv`` is interpreted by a shell."""
    return shlex.join(
        ["bash", "-c", SUPERVISOR_SCRIPT, "jrn-supervisor", f"{timeout:.3f}", f"{grace:.3f}", *argv]
    )
