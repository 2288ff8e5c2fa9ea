"""A run launcher whose run workers start warm: each run is ``dagster api execute_run`` in a
process forked from one that has already imported Dagster and the code location.

Dagster's default launcher asks the code server to start every run in a new interpreter, which
imports Dagster and the code location again: seconds per run before its first op (B3,
docs/benchmarks.md), against about one second for the whole run in process. This launcher keeps
one helper process per launcher process (the daemon's, or the webserver's): the **zygote**,
started on the first launch, imports ``dagster``, its run-execution CLI and the configured
modules, opens and closes the instance once and loads the run's job, then keeps one **spare**
child forked ahead, its instance open. A launch hands the spare the run's ``ExecuteRunArgs``
and the zygote forks the next spare. The spare does what the run worker of Dagster's own
launchers does (``dagster api execute_run``): it marks the run started, executes it and exits;
nothing about the run's execution differs.

Configured in ``dagster.yaml`` (docs/operations.md#warm-run-workers)::

    run_launcher:
      module: jrn_dagster.run_launcher
      class: ForkRunLauncher
      config:
        preload_modules: [jrn_dagster.definitions]

- Only a run of a module code location (``python_module``) named in ``preload_modules``, with
  this process's Python, is forked; any other run is launched the default way, by its code
  server. So is every run when the zygote cannot start (its import failed: the error is in the
  daemon's log and on the run as an engine event).
- A reloaded code location gets a new code server id: the next launch replaces the zygote, so
  a run never executes code older than its code location's.
- The run's arguments (with the instance reference) reach the child through a pipe, never a
  command line. The child inherits the zygote's environment: the launcher process's.
- ``terminate`` sends SIGTERM to the run worker, as a container stop does: Dagster's run worker
  turns it into a cancelled run. The worker is named by host, pid and start time in the run's
  ``jrn/run_worker`` tag, so a recycled pid or another host's process is never signalled; run
  monitoring learns from the same tag whether the worker is alive
  (``check_run_worker_health``).
"""

import contextlib
import importlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dagster import Array, Field, Noneable, StringSource
from dagster._core.launcher import (
    CheckRunHealthResult,
    DefaultRunLauncher,
    LaunchRunContext,
    WorkerStatus,
)
from dagster._core.origin import JobPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClassData, serialize_value

if TYPE_CHECKING:
    from dagster import DagsterInstance

logger = logging.getLogger(__name__)

RUN_WORKER_TAG = "jrn/run_worker"
# The tag of a run reserved for a warm worker and then launched by its code server instead.
NO_WARM_WORKER = json.dumps({"launched_by": "code server"})
# The zygote imports Dagster and the code location before it answers: a cold VM takes seconds.
ZYGOTE_READY_TIMEOUT_SECONDS = 120.0
_ALWAYS_PRELOADED = ("dagster", "dagster._cli.api")


class ZygoteError(RuntimeError):
    """The zygote could not start or fork: the run is launched the default way instead."""


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), None if there is no such process or it
    has exited (a zombie waiting to be reaped counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
    state, start = fields[0], fields[19]
    return None if state in ("Z", "X") else start


def worker_identity(pid: int) -> str:
    """The ``jrn/run_worker`` tag of a run worker: host, boot, pid and start time."""
    return json.dumps(
        {
            "host": socket.gethostname(),
            "boot": _boot_id(),
            "pid": pid,
            "start": _start_ticks(pid),
        },
        sort_keys=True,
    )


def _tag_fields(tag: str | None) -> dict[str, Any] | None:
    """The ``jrn/run_worker`` tag's JSON object; None when there is none (tags can be edited:
    malformed is none)."""
    if tag is None:
        return None
    try:
        fields = json.loads(tag)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) else None


def _names_a_worker(tag: str | None) -> bool:
    """The tag was written for a warm worker (whether it is valid is ``_local_worker``'s
    question)."""
    fields = _tag_fields(tag)
    return fields is not None and "pid" in fields


def _local_worker(tag: str) -> dict[str, Any] | None:
    """The tag's worker if the tag names one on this host; else None."""
    worker = _tag_fields(tag)
    if worker is None:
        return None
    if worker.get("host") != socket.gethostname() or worker.get("boot") != _boot_id():
        return None
    return worker


def _local_worker_pid(tag: str) -> int | None:
    """The pid of the run worker the tag names if it is alive on this host; else None."""
    worker = _local_worker(tag)
    if worker is None or not isinstance(worker.get("pid"), int) or worker.get("start") is None:
        return None
    pid: int = worker["pid"]
    return pid if pid > 0 and _start_ticks(pid) == worker["start"] else None


class _Zygote:
    """The launcher's side of one zygote process: start it, ask it to fork, stop it."""

    def __init__(
        self, modules: Sequence[str], server_id: str | None, instance_ref: str, job_origin: str
    ) -> None:
        self.server_id = server_id
        self._lock = threading.Lock()
        # stderr is inherited: the zygote's and its run workers' output goes where the
        # launcher's does (the daemon's log), as with Dagster's default launcher.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "jrn_dagster.run_launcher", *modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            text=True,
        )
        try:
            self._send({"instance_ref": instance_ref, "job_origin": job_origin})
            self._answer(timeout=ZYGOTE_READY_TIMEOUT_SECONDS, expect="ready")
        except ZygoteError:
            self.stop()
            raise

    def _answer(self, *, timeout: float, expect: str) -> Mapping[str, Any]:
        stdout = self._process.stdout
        if stdout is None:
            raise ZygoteError("the run worker zygote has no output pipe")
        # One request at a time (the lock), each answered by one whole line.
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            raise ZygoteError(f"the run worker zygote did not answer within {timeout:.0f} s")
        line = stdout.readline()
        if not line:
            code = self._process.poll()
            raise ZygoteError(f"the run worker zygote exited (code {code}) before {expect!r}")
        answer = json.loads(line)
        if "error" in answer:
            raise ZygoteError(f"the run worker zygote failed: {answer['error']}")
        return answer

    def alive(self) -> bool:
        return self._process.poll() is None

    def fork(self, execute_run_args: str, before_start: Callable[[int], None]) -> int:
        """The pid of the run worker executing ``execute_run_args`` (serialized
        ``ExecuteRunArgs``). ``before_start`` gets the pid before the worker gets the run."""
        with self._lock:
            self._send({"reserve": "next worker"})
            pid = int(self._answer(timeout=30.0, expect="pid")["pid"])
            before_start(pid)
            self._send({"execute_run_args": execute_run_args})
            started = int(self._answer(timeout=30.0, expect="pid")["pid"])
            if started != pid:
                raise ZygoteError(f"the zygote reserved worker {pid} but started {started}")
            return pid

    def _send(self, request: Mapping[str, str]) -> None:
        stdin = self._process.stdin
        if stdin is None:
            raise ZygoteError("the run worker zygote has no input pipe")
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        except OSError as error:
            raise ZygoteError(f"the run worker zygote is gone: {error}") from error

    def stop(self) -> None:
        # End of input: the zygote exits; run workers it forked keep running to their end.
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


class ForkRunLauncher(DefaultRunLauncher):
    """Launches each run of a preloaded module code location in a process forked from a warm
    zygote; any other run the way Dagster's ``DefaultRunLauncher`` does (module docstring)."""

    def __init__(
        self,
        preload_modules: Sequence[str] | None = None,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        super().__init__(inst_data=inst_data)
        self._preload = tuple(preload_modules or ())
        self._zygote: _Zygote | None = None
        self._zygote_lock = threading.Lock()
        # A zygote that failed to start for a code server is not retried until the location
        # reloads (a new server id): each attempt would cost the imports before falling back.
        self._failed: tuple[str | None, str] | None = None

    @classmethod
    def config_type(cls) -> Mapping[str, Field]:
        return {
            "preload_modules": Field(
                Noneable(Array(StringSource)),
                is_required=False,
                default_value=None,
                description="Code location modules the zygote imports; runs of other code "
                "locations are launched by their code server.",
            )
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> "ForkRunLauncher":
        return cls(inst_data=inst_data, **config_value)

    def _forkable_origin(self, run: DagsterRun) -> JobPythonOrigin | None:
        """The run's code origin if a warm worker can run it (a preloaded module, this
        process's Python); else None."""
        origin = run.job_code_origin
        if origin is None:
            return None
        module = getattr(origin.repository_origin.code_pointer, "module", None)
        same_python = Path(origin.repository_origin.executable_path) == Path(sys.executable)
        return origin if module in self._preload and same_python else None

    def _zygote_for(self, server_id: str | None, job_origin: JobPythonOrigin) -> _Zygote:
        with self._zygote_lock:
            current = self._zygote
            if current is not None and current.alive() and current.server_id == server_id:
                return current
            if current is not None:
                current.stop()
                self._zygote = None
            if self._failed is not None and self._failed[0] == server_id:
                raise ZygoteError(f"{self._failed[1]} (not retried until the location reloads)")
            try:
                self._zygote = _Zygote(
                    [*_ALWAYS_PRELOADED, *self._preload],
                    server_id,
                    serialize_value(self._instance.get_ref()),
                    serialize_value(job_origin),
                )
            except ZygoteError as error:
                self._failed = (server_id, str(error))
                raise
            return self._zygote

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        job_origin = self._forkable_origin(run)
        if job_origin is None or context.workspace is None:
            super().launch_run(context)
            return
        origin = run.remote_job_origin
        location = (
            context.workspace.get_code_location(
                origin.repository_origin.code_location_origin.location_name
            )
            if origin is not None
            else None
        )
        server_id = getattr(location, "server_id", None)
        from dagster._grpc.types import ExecuteRunArgs  # deferred, as Dagster does

        arguments = ExecuteRunArgs(
            job_origin=job_origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=None,
        )
        tagged = False

        def tag_worker(pid: int) -> None:
            # Before the worker has the run: Dagster's add_run_tags rewrites the run's whole
            # body from what it read, so a tag written while the worker adds its own (the clone
            # op labels the mode) could erase that one.
            nonlocal tagged
            self._instance.add_run_tags(run.run_id, {RUN_WORKER_TAG: worker_identity(pid)})
            tagged = True

        try:
            self._zygote_for(server_id, job_origin).fork(serialize_value(arguments), tag_worker)
        except ZygoteError as error:
            if tagged:  # no warm worker has the run: terminate and monitoring must not look
                self._instance.add_run_tags(run.run_id, {RUN_WORKER_TAG: NO_WARM_WORKER})
            logger.warning("run %s: %s; launching it through its code server", run.run_id, error)
            self._instance.report_engine_event(
                f"Warm run worker unavailable ({error}); launching through the code server.",
                run,
                cls=self.__class__,
            )
            super().launch_run(context)
            return
        self._run_ids.add(run.run_id)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or not _names_a_worker(run.tags.get(RUN_WORKER_TAG)):
            return super().terminate(run_id)  # launched by its code server
        if run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        pid = _local_worker_pid(run.tags[RUN_WORKER_TAG])
        if pid is None:
            self._instance.report_engine_event(
                "The run worker is not running on this host: no signal sent.",
                run,
                cls=self.__class__,
            )
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        tag = run.tags.get(RUN_WORKER_TAG)
        if tag is None or _local_worker(tag) is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "not a warm run worker of this host")
        if _local_worker_pid(tag) is not None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, "the run worker process has exited")

    def dispose(self) -> None:
        with self._zygote_lock:
            if self._zygote is not None:
                self._zygote.stop()
                self._zygote = None
        super().dispose()


# --- The zygote process --------------------------------------------------------------------


def _reap(_signum: int, _frame: object) -> None:
    # Run workers are the zygote's children: reap each as it exits, or it stays a zombie
    # (which a health check would take for alive).
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _warm_up(instance_ref: str, job_origin: str) -> None:
    """Do once, before any fork, what every run worker would otherwise do first: open (and
    close) the instance, which imports its storage, migration check and compute log manager,
    and load the job's definition, which Dagster caches by job (``ReconstructableJob.
    get_definition``). Nothing stays open: a fork must not share a connection."""
    from dagster import DagsterInstance  # preloaded by the zygote
    from dagster._core.definitions.reconstruct import ReconstructableJob
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.origin import JobPythonOrigin
    from dagster._serdes import deserialize_value
    from dagster._utils.hosted_user_process import recon_job_from_origin

    with DagsterInstance.from_ref(deserialize_value(instance_ref, InstanceRef)):
        pass
    job: ReconstructableJob = recon_job_from_origin(deserialize_value(job_origin, JobPythonOrigin))
    job.get_definition()


def _execute(instance_ref: str, instance: "DagsterInstance", execute_run_args: str) -> int:
    """What ``dagster api execute_run`` does, on an instance opened before the run was known;
    its exit code. The command's own body (``dagster._cli.api._execute_run_command_body``,
    private: ``dagster`` is pinned below 1.14, and the launcher tests run it) is called rather
    than the command, which would open the instance again: that is most of what the spare
    saves."""
    from dagster import DagsterInstance  # preloaded by the zygote
    from dagster._cli.api import _execute_run_command_body
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import deserialize_value
    from dagster._utils.interrupts import capture_interrupts

    try:
        with capture_interrupts():
            arguments = deserialize_value(execute_run_args, ExecuteRunArgs)
            ref = arguments.instance_ref
            if ref is not None and serialize_value(ref) != instance_ref:  # another instance
                instance.dispose()
                instance = DagsterInstance.from_ref(ref)
            return _execute_run_command_body(
                arguments.run_id,
                instance,
                lambda _event: None,
                set_exit_code_on_failure=bool(arguments.set_exit_code_on_failure),
            )
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # the worker's last word, then exit
        logger.exception("run worker failed")
        return 1
    finally:
        instance.dispose()


def _become_worker(protocol: IO[str]) -> None:
    """In a forked child: default signals, no part in the zygote's protocol."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the worker waits for its own children
    protocol.close()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the launcher's requests are the zygote's alone
    os.dup2(2, 1)  # and so are its answers: the worker's stdout goes to stderr
    sys.stdin = Path(os.devnull).open()  # noqa: SIM115 - the process ends with os._exit
    sys.stdout = sys.stderr


class _Spare:
    """A run worker forked before its run, its instance already open (the slowest part of a
    worker's start): a launch hands it the run's arguments through a pipe instead of forking
    then, and the zygote forks the next spare after answering. An idle spare holds no
    connection (Dagster's storages open one per use); when the zygote exits, the pipe's end of
    input ends the spare."""

    def __init__(self, protocol: IO[str], instance_ref: str) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid:
            os.close(read_fd)
            self.pid = pid
            self.write_fd = write_fd
            return
        code = 1
        try:
            os.close(write_fd)
            _become_worker(protocol)
            from dagster import DagsterInstance  # preloaded by the zygote
            from dagster._core.instance.ref import InstanceRef
            from dagster._serdes import deserialize_value

            instance = DagsterInstance.from_ref(deserialize_value(instance_ref, InstanceRef))
            with os.fdopen(read_fd) as requests:
                request = requests.readline()  # end of input: the zygote is gone, so go too
            code = _execute(instance_ref, instance, request.strip()) if request else 0
        finally:
            sys.stderr.flush()
            os._exit(code)

    def hand(self, execute_run_args: str) -> int:
        """Give the spare its run; its pid. A spare that is gone (its instance would not open)
        raises BrokenPipeError: the launcher then launches through the code server."""
        data = (execute_run_args + "\n").encode()
        try:
            while data:  # a signal (a worker exiting) can cut a write short
                data = data[os.write(self.write_fd, data) :]
        finally:
            os.close(self.write_fd)
        return self.pid


def zygote_main(modules: Sequence[str]) -> None:
    """Import ``modules``, say ready, then hand each request line to a spare run worker and
    fork the next spare."""
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything an import prints goes to stderr, not into the protocol
    sys.stdout = sys.stderr
    try:
        for module in modules:
            importlib.import_module(module)
        warm_up = json.loads(sys.stdin.readline())
        instance_ref = warm_up["instance_ref"]
        _warm_up(instance_ref, warm_up["job_origin"])
    except BaseException as error:  # reported to the launcher, which falls back
        protocol.write(json.dumps({"error": f"preparing run workers: {error!r}"}) + "\n")
        protocol.flush()
        raise SystemExit(1) from error
    signal.signal(signal.SIGCHLD, _reap)
    spare = _Spare(protocol, instance_ref)
    protocol.write(json.dumps({"ready": True}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        handed = False
        try:
            request = json.loads(line)
            if "reserve" in request:  # which worker takes the next run (the launcher tags it)
                answer: dict[str, object] = {"pid": spare.pid}
            else:
                handed = True  # used up, whether it takes the run or is gone
                answer = {"pid": spare.hand(request["execute_run_args"])}
        except (ValueError, KeyError, TypeError, OSError) as error:
            answer = {"error": repr(error)}
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()
        if handed:
            spare = _Spare(protocol, instance_ref)


if __name__ == "__main__":
    zygote_main(sys.argv[1:])
