"""Dagster resources: thin wrappers that build the adapters a run uses (the database, sandboxes,
repository access, the agent) and the run-sandbox resource the ops of ``cli_impact`` take."""

from collections.abc import Mapping
from typing import Any

from jrn_dagster.resources.sandbox import RunSandboxResource

RESOURCE_KEYS = ("database", "sandbox", "repository_access", "agent")


def with_run_sandbox(resources: Mapping[str, Any]) -> dict[str, Any]:
    """``resources`` (``database``, ``sandbox``, ``repository_access``, ``agent``) and the
    ``run_sandbox`` the ops take, built from them."""
    missing = [key for key in RESOURCE_KEYS if key not in resources]
    if missing:
        raise ValueError(f"resources for cli_impact lack {', '.join(missing)}")
    return {
        **resources,
        "run_sandbox": RunSandboxResource(
            sandboxes=resources["sandbox"],
            repositories=resources["repository_access"],
            database=resources["database"],
        ),
    }
