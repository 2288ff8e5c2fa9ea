"""The Dagster resource that hands out sandboxes and guarantees they are released.

Lifecycle: ``open(key)`` creates a sandbox (once per key: opening the same key again returns the
same live sandbox); ``attach(sandbox_id)`` reaches an existing one from another process;
``release(sandbox_id)`` destroys one. Every sandbox a resource instance opened is released in
``teardown_after_execution``, which Dagster calls when the resource's execution scope ends:
on success, on failure and when the run is cancelled (the run worker is interrupted and unwinds
through the resource's teardown).

With the in-process executor that scope is the whole run. With the multiprocess executor each step
process has its own resource instance, so a sandbox opened in one step would be released at the end
of that step: jobs that share one sandbox across ops use the in-process executor (or set
``release_on_teardown=False`` and release explicitly in their last op).
"""

import logging
import re
import threading
from abc import ABC, abstractmethod

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.redaction import redact
from jrn_dagster.resources.sandbox.base import Sandbox
from jrn_dagster.resources.sandbox.errors import SandboxError

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


def check_key(key: str) -> str:
    if not isinstance(key, str) or not _PRINTABLE.match(key) or len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"invalid sandbox key {key!r}: use 1 to {MAX_KEY_LENGTH} printable characters "
            "without spaces (a Dagster run id is a good key)"
        )
    return key


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

    _opened: dict[str, Sandbox] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def open(self, key: str) -> Sandbox:
        """A live sandbox for ``key`` (e.g. the run id): created on first use, the same one on every
        later call with the same key on this resource instance."""
        key = check_key(key)
        with self._lock:
            existing = self._opened.get(key)
            if existing is not None and not existing.released:
                return existing
            sandbox = self._create(key)
            self._opened[key] = sandbox
        logger.info("opened sandbox %s for key %s", sandbox.id, redact(key))
        return sandbox

    def attach(self, sandbox_id: str) -> Sandbox:
        """The live sandbox ``sandbox_id``, typically opened by another process of the same run.
        Raises ``SandboxGoneError`` when it no longer exists."""
        with self._lock:
            for sandbox in self._opened.values():
                if sandbox.id == sandbox_id and not sandbox.released:
                    return sandbox
        return self._attach(sandbox_id)

    def release(self, sandbox_id: str) -> None:
        """Destroy ``sandbox_id``; nothing happens when it is already gone."""
        with self._lock:
            held = [s for s in self._opened.values() if s.id == sandbox_id]
        for sandbox in held:
            sandbox.release()
        if not held:
            self._release(sandbox_id)
        logger.info("released sandbox %s", sandbox_id)

    def release_for_key(self, key: str) -> list[str]:
        """Release whatever sandbox was opened for ``key`` (a run id), from any process: how the
        failure and cancel sensors clean up after a run that died without its teardown.
        Returns the ids released (none when it was already gone)."""
        key = check_key(key)
        with self._lock:
            held = self._opened.pop(key, None)
        if held is not None and not held.released:
            held.release()
            logger.info("released sandbox %s of key %s", held.id, redact(key))
            return [held.id]
        released = self._release_key(key)
        for sandbox_id in released:
            logger.info("released sandbox %s of key %s", sandbox_id, redact(key))
        return released

    def release_all(self) -> list[SandboxError]:
        """Release every sandbox this instance opened; returns the failures instead of stopping
        at the first one, so one unreachable sandbox does not leak the others."""
        with self._lock:
            opened = list(self._opened.values())
            self._opened.clear()
        failures: list[SandboxError] = []
        for sandbox in opened:
            if sandbox.released:
                continue
            try:
                sandbox.release()
                logger.info("released sandbox %s", sandbox.id)
            except SandboxError as error:
                logger.error("could not release sandbox %s: %s", sandbox.id, error)
                failures.append(error)
        return failures

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self.release_on_teardown:
            self.release_all()

    @abstractmethod
    def _create(self, key: str) -> Sandbox: ...

    @abstractmethod
    def _attach(self, sandbox_id: str) -> Sandbox: ...

    @abstractmethod
    def _release(self, sandbox_id: str) -> None: ...

    @abstractmethod
    def _release_key(self, key: str) -> list[str]:
        """Find and destroy the sandboxes opened for ``key`` by any process."""
