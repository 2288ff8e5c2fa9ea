"""Commit ancestry in a checkout, as the range decision needs it (docs/cursors.md)."""

from jrn_dagster.domain.coverage import Ancestry, CoveredRange
from jrn_dagster.domain.refs import validate_sha
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
    source_cursor_sha: str | None,
) -> Ancestry:
    """The facts ``decide_range`` needs. The clone was asked to find the event base, the covered
    range and the source cursor in the head's history (``ancestors``), and to fetch the event base
    and the covered head by id (``descendants``, ``present``); only commits it found are compared
    locally. A commit it did not find is an ancestor of nothing here, which never claims coverage
    that is not there."""
    in_head = checkout.ancestors

    def in_history(sha: str | None) -> bool:
        return sha is not None and (sha == checkout.head_sha or in_head.get(sha, False))

    def ancestor(a: str | None, b: str | None) -> bool:
        return (
            in_history(a)
            and in_history(b)
            and is_ancestor(sandbox, checkout.path, a or "", b or "")
        )

    base = event_base_sha if checkout.base_reachable else None
    base_present = event_base_sha is not None and (
        bool(base) or checkout.present.get(event_base_sha, False)
    )
    if covered is None:
        return Ancestry(
            event_base_reachable=bool(base),
            event_base_present=base_present,
            covered_head_in_head=False,
            head_in_covered_head=False,
            covered_head_present=False,
            covered_from_in_event_base=False,
            event_base_in_covered_from=False,
            covered_from_in_head=False,
            head_on_branch=checkout.on_branch.get(checkout.head_sha, True),
        )
    covered_from = covered.covered_from_sha
    # The newest processed commit still in the new history, if the old head is gone.
    merge_point = next(
        (sha for sha in (covered_from, source_cursor_sha) if sha and in_history(sha)), None
    )
    return Ancestry(
        event_base_reachable=bool(base),
        event_base_present=base_present,
        covered_head_in_head=in_history(covered.head_sha),
        head_in_covered_head=checkout.descendants.get(covered.head_sha, False),
        covered_head_present=in_history(covered.head_sha)
        or checkout.present.get(covered.head_sha, False),
        covered_from_in_event_base=covered_from is None or ancestor(covered_from, base),
        event_base_in_covered_from=ancestor(base, covered_from),
        covered_from_in_head=covered_from is None or in_history(covered_from),
        covered_from_anchored=covered_from is not None
        and source_cursor_sha is not None
        and (covered_from == source_cursor_sha or ancestor(covered_from, source_cursor_sha)),
        merge_point=merge_point,
        head_on_branch=checkout.on_branch.get(checkout.head_sha, True),
        covered_head_on_branch=checkout.on_branch.get(covered.head_sha, False),
    )
