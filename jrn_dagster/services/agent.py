"""Run the agent and collect what it proposes, trusting nothing it left in the sandbox.

The sandbox is digested (every entry listed, every file hashed) before and after the agent:
edits outside the docs directory are reported, never proposed; the docs directory's files are read
as proposals within the limits below. No git command runs in a checkout after the agent, so a
config, hook or index flag it planted there is never acted on (``services/tree_digest.py``).

The docs directory holds the impacted docs only, written here at the versions ``sync_docs``
recorded (docs/architecture.md#what-the-ops-hand-to-each-other): the agent works on what the
impact report names, and a space of 50,000 docs is not copied into every run's sandbox.
"""

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.impact import ImpactReport
from jrn_dagster.domain.proposals import doc_covers
from jrn_dagster.domain.steps import DOCS_DIR, Checkouts, Proposals, SyncedDocs
from jrn_dagster.ports.agent import Agent, AgentTask
from jrn_dagster.ports.sandbox import Sandbox
from jrn_dagster.services.commits import range_commits
from jrn_dagster.services.sync_docs import read_proposals, write_docs
from jrn_dagster.services.tree_digest import changed_paths, digest_tree

MAX_REJECTED_PATHS_SHOWN = 20


def run_agent(
    database: Database,
    agent: Agent,
    sandbox: Sandbox,
    checkouts: Checkouts,
    *,
    synced: SyncedDocs,
    report: ImpactReport,
) -> tuple[Proposals, list[str]]:
    """The agent's proposals (content, evidence and the range's commits included) and warnings
    for the reviewer."""
    if not report.impacted:
        return Proposals(agent=agent.name, docs=[]), []
    sandbox.remove(DOCS_DIR)  # a re-executed step starts from the synced docs again
    impacted = [doc.path for doc in report.impacted]
    skipped = write_docs(database, sandbox, checkouts.plan.space_id, synced, impacted)
    left_out = (
        [
            f"{len(skipped)} impacted doc(s) not given to the agent: "
            + ", ".join(skipped[:MAX_REJECTED_PATHS_SHOWN])
        ]
        if skipped
        else []
    )
    if len(skipped) == len(impacted):
        return Proposals(agent=agent.name, docs=[]), left_out
    commits = range_commits(sandbox, checkouts)  # git runs before the agent, never after
    before = digest_tree(sandbox)
    outcome = agent.update_docs(AgentTask(sandbox, DOCS_DIR, report, checkouts, commits))
    warnings = list(outcome.warnings) + left_out
    after = digest_tree(sandbox)
    outside = changed_paths(before, after, ignore=(DOCS_DIR,))
    docs, refused = read_proposals(sandbox, synced, after)
    by_path = {doc.path: doc for doc in report.impacted}
    docs = [
        d.model_copy(
            update={
                "covers": doc_covers(by_path[d.path], report, checkouts),
                "evidence": by_path[d.path].evidence,
            }
        )
        if d.path in by_path
        else d
        for d in docs
    ]
    rejected = sorted(outside + refused)
    if rejected:
        warnings.append(
            f"{len(rejected)} edit(s) rejected (outside the docs directory, symlinks or special "
            "files, or not UTF-8 text): " + ", ".join(rejected[:MAX_REJECTED_PATHS_SHOWN])
        )
    for answer in outcome.refused:
        warnings.append(f"{answer.path}: answer refused: {answer.reason}")
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
