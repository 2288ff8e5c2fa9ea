"""The commits of each range a run processes, read with ``git log`` in the sandbox before the
agent runs (no git command runs in a checkout after it: docs/sandboxes.md, "What the pipeline
trusts after the agent")."""

from jrn_dagster.domain.commits import LOG_FORMAT, MAX_COMMITS, SourceCommits, parse_log
from jrn_dagster.domain.steps import Checkouts, SourceCheckout
from jrn_dagster.ports.git import git_argv
from jrn_dagster.ports.sandbox import Sandbox, SandboxError
from jrn_dagster.redaction import redact

GIT_LOG_TIMEOUT_SECONDS = 60
MAX_REASON_CHARS = 300
# A commit missing from a partial or shallow clone is not fetched: the checkout holds no
# credential any more, and a log that stops early is reported, not retried.
_NO_FETCH_ENV = {"GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0"}


def log_argv(base_sha: str | None, head_sha: str, *, limit: int = MAX_COMMITS) -> list[str]:
    """``git log`` of ``base..head`` (all of ``head``'s history without a base), newest first,
    one past ``limit`` (to know some were left out)."""
    revisions = [f"{base_sha}..{head_sha}"] if base_sha else [head_sha]
    return git_argv(
        "log", "-z", f"--format={LOG_FORMAT}", "--no-color", "--no-show-signature",
        f"--max-count={limit + 1}", *revisions, "--",
    )  # fmt: skip


def source_commits(sandbox: Sandbox, checkout: SourceCheckout) -> SourceCommits:
    """One checkout's range with its commits; a log git cannot read gives the range with the
    reason instead (the proposal is still worth reviewing)."""
    base, head = checkout.range.base_sha, checkout.range.head_sha
    commits = SourceCommits(source_name=checkout.plan.source_name, base_sha=base, head_sha=head)
    try:
        result = sandbox.run(
            log_argv(base, head),
            cwd=checkout.path,
            env=_NO_FETCH_ENV,
            timeout=GIT_LOG_TIMEOUT_SECONDS,
            check=False,
        )
    except SandboxError as error:  # a timeout: the range stays, without its commits
        return commits.model_copy(update={"unavailable": str(error)[:MAX_REASON_CHARS]})
    if result.exit_code != 0:
        reason = redact(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "")
        said = f"git log exited {result.exit_code}: {reason}"
        return commits.model_copy(update={"unavailable": said[:MAX_REASON_CHARS]})
    found, omitted = parse_log(result.stdout)
    return commits.model_copy(update={"commits": found, "omitted": omitted})


def range_commits(sandbox: Sandbox, checkouts: Checkouts) -> list[SourceCommits]:
    """The commits of every true source the run works on, in the order of the checkouts."""
    return [
        source_commits(sandbox, checkout)
        for checkout in checkouts.true_sources
        if checkout.needs_work and checkout.path
    ]
