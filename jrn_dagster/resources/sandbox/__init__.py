"""Sandboxes: where a run clones, builds and runs the agent. See docs/sandboxes.md."""

from jrn_dagster.resources.sandbox.base import CommandResult, Sandbox
from jrn_dagster.resources.sandbox.e2b import E2BSandbox, E2BSandboxResource
from jrn_dagster.resources.sandbox.errors import (
    SandboxCommandError,
    SandboxError,
    SandboxFileNotFoundError,
    SandboxGoneError,
    SandboxIsolationError,
    SandboxPathError,
    SandboxTimeoutError,
    SandboxUnavailableError,
)
from jrn_dagster.resources.sandbox.factory import sandbox_resource_from_env
from jrn_dagster.resources.sandbox.local import LocalSandbox, LocalSandboxResource
from jrn_dagster.resources.sandbox.resource import SandboxResource

__all__ = [
    "CommandResult",
    "E2BSandbox",
    "E2BSandboxResource",
    "LocalSandbox",
    "LocalSandboxResource",
    "Sandbox",
    "SandboxCommandError",
    "SandboxError",
    "SandboxFileNotFoundError",
    "SandboxGoneError",
    "SandboxIsolationError",
    "SandboxPathError",
    "SandboxResource",
    "SandboxTimeoutError",
    "SandboxUnavailableError",
    "sandbox_resource_from_env",
]
