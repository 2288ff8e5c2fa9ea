"""Run the agent and collect what it proposes, trusting nothing it left in the sandbox.

The sandbox is digested (every entry listed, every file hashed) before and after the agent:
edits outside the docs directory are reported, never proposed; the docs directory's files are read
as proposals within the limits below. No git command runs in a checkout after the agent, so a
config, hook or index flag it planted there is never acted on (``services/tree_digest.py``).
"""

from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.proposals import doc_covers
from jrn_dagster.domain.steps import DOCS_DIR, Checkouts, Proposals, SyncedDocs
from jrn_dagster.ports.agent import Agent, AgentTask
from jrn_dagster.ports.sandbox import Sandbox
from jrn_dagster.services.commits import range_commits
from jrn_dagster.services.sync_docs import read_proposals
from jrn_dagster.services.tree_digest import changed_paths, digest_tree

MAX_REJECTED_PATHS_SHOWN = 20


def run_agent(
    agent: Agent,
    sandbox: Sandbox,
    checkouts: Checkouts,
    synced: SyncedDocs,
    report: ImpactReport,
) -> tuple[Proposals, list[str]]:
    """The agent's proposals (content, evidence and the range's commits included) and warnings
    for the reviewer."""
    if not report.impacted:
        return Proposals(agent=agent.name, docs=[]), []
    commits = range_commits(sandbox, checkouts)  # git runs before the agent, never after
    before = digest_tree(sandbox)
    outcome = agent.update_docs(AgentTask(sandbox, DOCS_DIR, report, checkouts, commits))
    warnings = list(outcome.warnings)
    after = digest_tree(sandbox)
    outside = changed_paths(before, after, ignore=(DOCS_DIR,))
    docs, refused = read_proposals(sandbox, synced, after)
    impacted = {doc.path: doc for doc in report.impacted}
    docs = [
        d.model_copy(update={"covers": doc_covers(impacted[d.path], report, checkouts)})
        if d.path in impacted
        else d
        for d in docs
    ]
    rejected = sorted(outside + refused)
    if rejected:
        warnings.append(
            f"{len(rejected)} edit(s) rejected (outside the docs directory, symlinks or special "
            "files, or not UTF-8 text): " + ", ".join(rejected[:MAX_REJECTED_PATHS_SHOWN])
        )
    evidence = {doc.path: doc.evidence for doc in report.impacted}
    docs = [d.model_copy(update={"evidence": evidence.get(d.path, [])}) for d in docs]
    for refused in outcome.refused:
        warnings.append(f"{refused.path}: answer refused: {refused.reason}")
    return (
        Proposals(
            agent=agent.name,
            docs=docs,
            rejected_paths=rejected,
            commits=commits,
            refused=outcome.refused,
        ),
        warnings,
    )
