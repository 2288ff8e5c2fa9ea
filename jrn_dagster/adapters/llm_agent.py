"""``LLMAgent``: asks an LLM (``ChatCompletionsClient``) to update each impacted doc.

It runs in the orchestrator, not in the sandbox: what it reads there (the docs, the matched
files' diffs with git) it reads before it writes anything, and what it writes is only the docs
whose answer passed ``domain.llm_prompt.accepted_content``. The model never runs a command and
never sees a credential; the API key is the client's alone. See docs/agents.md.
"""

import posixpath

from jrn_dagster.adapters.llm_client import ChatCompletionsClient
from jrn_dagster.domain.impact import ImpactedDoc
from jrn_dagster.domain.llm_prompt import (
    MAX_DIFF_CHARS,
    MAX_DIFF_FILES,
    MAX_PROMPT_DOC_BYTES,
    FileDiff,
    RefusedAnswerError,
    accepted_content,
    bounded_diff,
    doc_request,
    messages_for,
)
from jrn_dagster.domain.steps import RefusedDoc, SourceCheckout
from jrn_dagster.ports.agent import Agent, AgentOutcome, AgentTask
from jrn_dagster.ports.git import git_argv
from jrn_dagster.ports.sandbox import Sandbox

GIT_DIFF_TIMEOUT_SECONDS = 60
MAX_DOCS_PER_RUN = 50  # one request each; the rest are refused, named


def file_diff(sandbox: Sandbox, checkout: SourceCheckout, path: str, budget: int) -> FileDiff:
    """The diff of one changed file over the checkout's range, bounded; ``diff=None`` when git
    cannot give a text diff (no base, binary, an error)."""
    base, head = checkout.range.base_sha, checkout.range.head_sha
    name = checkout.plan.source_name
    if base is None:
        return FileDiff(source_name=name, path=path, diff=None)
    result = sandbox.run(
        git_argv(
            "--literal-pathspecs",
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--no-color",
            "-M",
            base,
            head,
            "--",
            path,
        ),
        cwd=checkout.path,
        env={"GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0"},
        timeout=GIT_DIFF_TIMEOUT_SECONDS,
        check=False,
    )
    if result.exit_code != 0 or "Binary files" in result.stdout:
        return FileDiff(source_name=name, path=path, diff=None)
    text, truncated = bounded_diff(result.stdout, budget)
    return FileDiff(source_name=name, path=path, diff=text, truncated=truncated)


class LLMAgent(Agent):
    """One chat completion per impacted doc (at most ``MAX_DOCS_PER_RUN`` per run)."""

    def __init__(self, client: ChatCompletionsClient) -> None:
        self.client = client

    def _diffs(self, task: AgentTask, doc: ImpactedDoc) -> list[FileDiff]:
        checkouts = {c.plan.source_name: c for c in task.checkouts.true_sources if c.path}
        by_id = {c.plan.source_id: c for c in checkouts.values()}
        diffs: list[FileDiff] = []
        budget = MAX_DIFF_CHARS
        seen: set[tuple[str, str]] = set()
        for evidence in doc.evidence:
            # A virtual source's evidence comes from a true checkout of the same repository.
            checkout = checkouts.get(evidence.source_name) or by_id.get(evidence.source_id)
            if checkout is None and len(checkouts) == 1:
                checkout = next(iter(checkouts.values()))
            key = (evidence.source_name, evidence.changed_file)
            if checkout is None or key in seen or len(diffs) >= MAX_DIFF_FILES or budget <= 0:
                continue
            seen.add(key)
            found = file_diff(task.sandbox, checkout, evidence.changed_file, budget)
            budget -= len(found.diff or "")
            diffs.append(found.model_copy(update={"source_name": evidence.source_name}))
        return diffs

    def update_docs(self, task: AgentTask) -> AgentOutcome:
        outcome = AgentOutcome()
        impacted = {doc.path for doc in task.report.impacted}
        # Everything is read from the sandbox (git included) before the first doc is written.
        asks = []
        for doc in task.report.impacted[:MAX_DOCS_PER_RUN]:
            path = posixpath.join(task.docs_dir, doc.path)
            data = task.sandbox.read_file(path)
            if len(data) > MAX_PROMPT_DOC_BYTES:
                outcome.refused.append(
                    RefusedDoc(
                        path=doc.path,
                        reason=f"the doc is {len(data):,} bytes: over the {MAX_PROMPT_DOC_BYTES:,} "
                        "bytes sent to the LLM",
                    )
                )
                continue
            content = data.decode("utf-8", errors="replace")
            asks.append((doc, path, content, self._diffs(task, doc)))
        for doc in task.report.impacted[MAX_DOCS_PER_RUN:]:
            outcome.refused.append(
                RefusedDoc(
                    path=doc.path,
                    reason=f"over the limit of {MAX_DOCS_PER_RUN} docs per run sent to the LLM",
                )
            )
        for doc, path, content, diffs in asks:
            request = doc_request(doc, content, task.commits, diffs)
            answer = self.client.complete(messages_for(request))
            try:
                updated = accepted_content(
                    answer.content,
                    asked_path=doc.path,
                    impacted_paths=impacted,
                    original=content,
                    finish_reason=answer.finish_reason,
                )
            except RefusedAnswerError as refused:
                outcome.refused.append(RefusedDoc(path=doc.path, reason=str(refused)))
                continue
            if updated != content:
                task.sandbox.write_file(path, updated)
        return outcome
