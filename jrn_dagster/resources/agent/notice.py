import posixpath
from collections import defaultdict

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import RangeDecision
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.notice import apply_notice
from jrn_dagster.resources.agent.base import AgentResource, AgentTask


def _said(commits: RangeDecision) -> str | None:
    """A rewritten history is worth telling the reader about."""
    if commits.comparison.rewrites:
        return commits.comparison.describe(commits.base_sha)
    return None


class NoticeAgent(AgentResource):
    """The default agent; needs no LLM. Adds or refreshes one delimited "source changed" notice
    per source in each impacted doc: the changed files, the commit range and a compare link.
    Idempotent: the same range twice changes nothing more."""

    def update_docs(self, task: AgentTask) -> list[str]:
        checkouts = {c.plan.source_id: c for c in task.workspace.true_sources}
        warnings = []
        for doc in task.report.impacted:
            changed_by_source: dict[int, list[str]] = defaultdict(list)
            for evidence in doc.evidence:
                if evidence.changed_file not in changed_by_source[evidence.source_id]:
                    changed_by_source[evidence.source_id].append(evidence.changed_file)
            path = posixpath.join(task.docs_dir, doc.path)
            content = task.sandbox.read_file(path).decode("utf-8")
            updated = content
            for source_id, changed_files in sorted(changed_by_source.items()):
                checkout = checkouts.get(source_id)
                if checkout is None:  # evidence from a virtual view of a true checkout
                    continue
                base, head = checkout.range.base_sha, checkout.range.head_sha
                coordinate = RepoCoordinate.parse(checkout.plan.repo)
                try:
                    updated = apply_notice(
                        updated,
                        source_name=checkout.plan.source_name,
                        changed_files=changed_files,
                        base_sha=base,
                        head_sha=head,
                        compare_url=coordinate.compare_url(base, head) if base else None,
                        comparison=_said(checkout.range),
                    )
                except InvalidInputError as error:
                    warnings.append(f"{doc.path}: no notice added: {error}")
            if updated != content:
                task.sandbox.write_file(path, updated)
        return warnings
