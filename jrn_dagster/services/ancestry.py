"""Commit ancestry in a checkout, as the per-space base decision needs it."""

from jrn_dagster.domain.ranges import Ancestry
from jrn_dagster.domain.refs import validate_sha
from jrn_dagster.domain.run_plan import CoveredRange
from jrn_dagster.resources.sandbox.base import Sandbox
from jrn_dagster.services.checkout import Checkout, git_argv

GIT_QUICK_TIMEOUT_SECONDS = 60


def is_ancestor(sandbox: Sandbox, repo_path: str, ancestor: str, descendant: str) -> bool:
    """``git merge-base --is-ancestor`` on two commits the checkout holds (equal counts)."""
    if ancestor == descendant:
        return True
    result = sandbox.run(
        git_argv("merge-base", "--is-ancestor", validate_sha(ancestor), validate_sha(descendant)),
        cwd=repo_path,
        timeout=GIT_QUICK_TIMEOUT_SECONDS,
        check=False,
    )
    return result.exit_code == 0


def ancestry(
    sandbox: Sandbox,
    checkout: Checkout,
    *,
    event_base_sha: str | None,
    covered: CoveredRange | None,
) -> Ancestry:
    """The facts ``decide_range`` needs. The clone was asked to find the event base and the
    covered range in the head's history (``ancestors``) and to look for the head in the covered
    head's (``descendants``); only commits it found are compared locally. A commit it did not
    find is an ancestor of nothing here, which never claims coverage that is not there."""
    in_head = checkout.ancestors

    def present(sha: str | None) -> bool:
        return sha is not None and (sha == checkout.head_sha or in_head.get(sha, False))

    def ancestor(a: str | None, b: str | None) -> bool:
        return present(a) and present(b) and is_ancestor(sandbox, checkout.path, a or "", b or "")

    base = event_base_sha if checkout.base_reachable else None
    if covered is None:
        return Ancestry(bool(base), False, False, False, False)
    covered_from = covered.covered_from_sha
    return Ancestry(
        event_base_reachable=bool(base),
        covered_head_in_head=present(covered.head_sha),
        head_in_covered_head=checkout.descendants.get(covered.head_sha, False),
        covered_from_in_event_base=covered_from is None or ancestor(covered_from, base),
        event_base_in_covered_from=ancestor(base, covered_from),
    )
