"""Run the agent and collect what it proposes, refusing edits outside the docs directory."""

from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.workspace import DOCS_DIR, Proposals, SyncedDocs, Workspace
from jrn_dagster.resources.agent.base import AgentResource, AgentTask
from jrn_dagster.resources.sandbox.base import Sandbox
from jrn_dagster.services.docs_sync import read_proposals

GIT_STATUS_TIMEOUT_SECONDS = 120


def _edited_repo_files(sandbox: Sandbox, workspace: Workspace) -> list[str]:
    """Files the agent changed in the checkouts (they are never proposed)."""
    edited = []
    for checkout in workspace.checkouts:
        if not checkout.path:
            continue
        status = sandbox.run(
            ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
            cwd=checkout.path,
            timeout=GIT_STATUS_TIMEOUT_SECONDS,
        )
        for entry in status.stdout.split("\0"):
            if len(entry) > 3:
                edited.append(f"{checkout.path}/{entry[3:]}")
    return edited


def run_agent(
    agent: AgentResource,
    sandbox: Sandbox,
    workspace: Workspace,
    synced: SyncedDocs,
    report: ImpactReport,
) -> tuple[Proposals, list[str]]:
    """The agent's proposals (content included) and warnings for the reviewer."""
    if not report.impacted:
        return Proposals(agent=agent.name, docs=[]), []
    warnings = agent.update_docs(AgentTask(sandbox, DOCS_DIR, report, workspace))
    outside = _edited_repo_files(sandbox, workspace)
    docs, unreadable = read_proposals(sandbox, synced)
    rejected = sorted(outside + [f"{DOCS_DIR}/{path}" for path in unreadable])
    if rejected:
        warnings.append(
            f"{len(rejected)} edit(s) rejected (outside the docs directory, or not UTF-8 text): "
            + ", ".join(rejected[:20])
        )
    return Proposals(agent=agent.name, docs=docs, rejected_paths=rejected), warnings
