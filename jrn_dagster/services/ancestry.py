"""Commit ancestry in a checkout, as the per-space base decision needs it."""

from jrn_dagster.domain.ranges import Ancestry
from jrn_dagster.domain.refs import validate_sha
from jrn_dagster.domain.run_plan import CoveredRange
from jrn_dagster.resources.sandbox.base import Sandbox

GIT_QUICK_TIMEOUT_SECONDS = 60


def is_ancestor(sandbox: Sandbox, repo_path: str, ancestor: str, descendant: str) -> bool:
    """``git merge-base --is-ancestor``: equal commits count; a commit missing from the fetched
    history (rewritten away, never pushed) is an ancestor of nothing."""
    if ancestor == descendant:
        return True
    result = sandbox.run(
        [
            "git",
            "merge-base",
            "--is-ancestor",
            validate_sha(ancestor),
            validate_sha(descendant),
        ],
        cwd=repo_path,
        timeout=GIT_QUICK_TIMEOUT_SECONDS,
        check=False,
    )
    return result.exit_code == 0


def ancestry(
    sandbox: Sandbox,
    repo_path: str,
    *,
    head_sha: str,
    event_base_sha: str | None,
    covered: CoveredRange | None,
) -> Ancestry:
    def ancestor(a: str | None, b: str | None) -> bool:
        return a is not None and b is not None and is_ancestor(sandbox, repo_path, a, b)

    covered_head = covered.head_sha if covered else None
    covered_from = covered.covered_from_sha if covered else None
    return Ancestry(
        event_base_reachable=ancestor(event_base_sha, head_sha),
        covered_head_in_head=ancestor(covered_head, head_sha),
        head_in_covered_head=ancestor(head_sha, covered_head),
        covered_from_in_event_base=covered is not None
        and (covered_from is None or ancestor(covered_from, event_base_sha)),
        event_base_in_covered_from=ancestor(event_base_sha, covered_from),
    )
