"""The agents that propose doc updates: ``NoticeAgent`` (the default, no LLM) and
``CommandAgent`` (any command-line coding agent, run isolated in the sandbox). See
docs/agents.md.
"""

import json
import posixpath

from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import RangeDecision
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.notice import apply_notice
from jrn_dagster.domain.proposals import checkout_of, doc_unions
from jrn_dagster.domain.steps import REPOS_DIR
from jrn_dagster.ports.agent import Agent, AgentOutcome, AgentTask
from jrn_dagster.ports.sandbox import SandboxIsolationError
from jrn_dagster.redaction import redact


def _said(commits: RangeDecision) -> str | None:
    """A rewritten history is worth telling the reader about."""
    if commits.comparison.rewrites:
        return commits.comparison.describe(commits.base_sha)
    return None


class NoticeAgent(Agent):
    """The default agent; needs no LLM. Adds or refreshes one delimited "source changed" notice
    per source in each impacted doc: the changed files, the commit range, its commits and a
    compare link. Idempotent: the same range twice changes nothing more."""

    def update_docs(self, task: AgentTask) -> AgentOutcome:
        commits = {c.source_name: c for c in task.commits}
        warnings = []
        for doc in task.report.impacted:
            said: dict[str, str | None] = {}
            for evidence in doc.evidence:
                checkout = checkout_of(evidence.source_id, task.report, task.checkouts)
                if checkout is not None:
                    said[evidence.source_name] = _said(checkout.range)
            path = posixpath.join(task.docs_dir, doc.path)
            content = task.sandbox.read_file(path).decode("utf-8")
            updated = content
            # One block per source (a virtual source seen through a true checkout included),
            # spanning the ranges of the open proposal this one takes over.
            for union in doc_unions(doc, task.report, task.checkouts):
                base, head = union.base_sha, union.head_sha
                try:
                    compare = (
                        RepoCoordinate.parse(union.repo).compare_url(base, head)
                        if base and union.repo
                        else None
                    )
                    updated = apply_notice(
                        updated,
                        source_name=union.source_name,
                        changed_files=union.changed_files,
                        base_sha=base,
                        head_sha=head,
                        compare_url=compare,
                        # A rewrite in this run's range is worth telling, union or not.
                        comparison=said.get(union.source_name),
                        commits=commits.get(union.source_name),
                    )
                except InvalidInputError as error:
                    warnings.append(f"{doc.path}: no notice added: {error}")
            if updated != content:
                task.sandbox.write_file(path, updated)
        return AgentOutcome(warnings=warnings)


REPORT_FILE = "impact-report.json"
STDERR_LINES_SHOWN = 5
MAX_WARNING_CHARS = 500


class CommandAgent(Agent):
    """Runs a command in the sandbox: how any command-line coding agent is plugged in.

    The command gets ``JRN_REPORT_PATH`` (the impact report as JSON), ``JRN_DOCS_DIR`` (edit the
    docs there), ``JRN_REPO_DIR`` (the first checkout) and ``JRN_REPO_DIRS`` (all, ':'-separated),
    plus ``env``, plus ``secret_env`` (the values of the variables ``JRN_AGENT_ENV_ALLOWLIST``
    names, e.g. an LLM API key) where the sandbox may give them (E2B: the VM holds nothing else;
    the local sandbox only to an agent bubblewrap isolates, through a pipe, never on a command
    line; ``Sandbox.untrusted_secrets_refusal``). It runs as an untrusted
    command (``Sandbox.run_untrusted``): on the local sandbox isolated with bubblewrap, on E2B in
    the VM, which holds no credential. Edits anywhere but the docs directory are discarded and
    reported. What it prints is redacted before it is shown anywhere.
    """

    def __init__(
        self,
        command: list[str],
        *,
        timeout_seconds: float = 900,
        env: dict[str, str] | None = None,
        network: bool = False,
        secret_env: dict[str, str] | None = None,
    ) -> None:
        self.command = list(command)
        self.timeout_seconds = timeout_seconds
        self.env = dict(env or {})
        self.network = network
        self.secret_env = dict(secret_env or {})

    def update_docs(self, task: AgentTask) -> AgentOutcome:
        sandbox = task.sandbox
        # Refuses before anything is written when the agent cannot be isolated, or would have
        # to be given secrets where they cannot be kept to it.
        if self.secret_env:
            refusal = sandbox.untrusted_secrets_refusal()
            if refusal is not None:
                raise SandboxIsolationError(refusal)
        unisolated = sandbox.untrusted_isolation_warning()
        sandbox.write_file(REPORT_FILE, json.dumps(task.report.to_json_dict(), indent=2))
        repo_dirs = [sandbox.path(c.path) for c in task.checkouts.sources if c.path]
        # The sources the rules name, checked out read-only for it to read (never proposed).
        repo_dirs += [sandbox.path(c.path) for c in task.report.context_sources]
        try:
            result = sandbox.run_untrusted(
                self.command,
                cwd=".",
                env={
                    **self.env,
                    "JRN_REPORT_PATH": sandbox.path(REPORT_FILE),
                    "JRN_DOCS_DIR": sandbox.path(task.docs_dir),
                    "JRN_REPO_DIR": repo_dirs[0] if repo_dirs else sandbox.path(REPOS_DIR),
                    "JRN_REPO_DIRS": ":".join(repo_dirs),
                },
                timeout=self.timeout_seconds,
                network=self.network,
                check=True,
                secret_env=self.secret_env,
            )
        finally:
            sandbox.remove(REPORT_FILE)  # the entry itself, should the agent make it a symlink
        tail = result.stderr.strip().splitlines()[-STDERR_LINES_SHOWN:]
        warnings = [unisolated] if unisolated else []
        # Redacted before it is cut: a cut could leave a secret's first half unrecognised.
        return AgentOutcome(
            warnings=warnings
            + [f"agent stderr: {redact(line)[:MAX_WARNING_CHARS]}" for line in tail if line.strip()]
        )
