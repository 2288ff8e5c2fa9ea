"""``cli_impact`` with explicit resources, importable by name: what Dagster needs to re-execute a
run (``build_reconstructable_job``). The arguments are part of the reconstructable's identity,
so each test gets its own job."""

import shlex

from dagster import Definitions, JobDefinition

from jrn_dagster.jobs import cli_impact
from jrn_dagster.resources import with_run_sandbox
from jrn_dagster.resources.agent import CommandAgentResource
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import LocalSandboxResource


def cli_impact_with(
    database_url: str,
    clone_url_template: str,
    sandbox_dir: str,
    agent_command: str,
    agent_read_only_paths: tuple[str, ...] = (),
) -> JobDefinition:
    resources = {
        "database": DatabaseResource(url=database_url),
        "sandbox": LocalSandboxResource(
            base_dir=sandbox_dir, agent_read_only_paths=list(agent_read_only_paths)
        ),
        "repository_access": RepositoryAccessResource(clone_url_template=clone_url_template),
        "agent": CommandAgentResource(command=shlex.split(agent_command)),
    }
    return Definitions(jobs=[cli_impact], resources=with_run_sandbox(resources)).get_job_def(
        cli_impact.name
    )
