"""Pick the sandbox implementation from the environment (``JRN_SANDBOX``)."""

import os
from collections.abc import Mapping

from dagster import EnvVar

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.resources.sandbox.e2b import E2BSandboxResource
from jrn_dagster.resources.sandbox.local import ALLOW_UNISOLATED_AGENT_ENV, LocalSandboxResource
from jrn_dagster.resources.sandbox.resource import SandboxResource

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
