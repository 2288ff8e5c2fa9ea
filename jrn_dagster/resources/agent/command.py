import json

from pydantic import Field

from jrn_dagster.domain.steps import REPOS_DIR
from jrn_dagster.redaction import redact
from jrn_dagster.resources.agent.base import AgentResource, AgentTask

REPORT_FILE = "impact-report.json"
STDERR_LINES_SHOWN = 5
MAX_WARNING_CHARS = 500


class CommandAgent(AgentResource):
    """Runs a command in the sandbox: how any command-line coding agent is plugged in.

    The command gets ``JRN_REPORT_PATH`` (the impact report as JSON), ``JRN_DOCS_DIR`` (edit the
    docs there), ``JRN_REPO_DIR`` (the first checkout) and ``JRN_REPO_DIRS`` (all, ':'-separated),
    plus ``env``. It runs as an untrusted command (``Sandbox.run_untrusted``): on the local
    sandbox isolated with bubblewrap, on E2B in the VM, which holds no credential. Edits anywhere
    but the docs directory are discarded and reported. What it prints is redacted before it is
    shown anywhere.
    """

    command: list[str] = Field(description="argument list, e.g. ['my-agent', '--apply']")
    timeout_seconds: float = Field(default=900, gt=0)
    env: dict[str, str] = Field(
        default_factory=dict, description="extra, non-secret environment for the command"
    )
    network: bool = Field(
        default=False,
        description="Let the command use the network (an agent that calls an LLM API). On the "
        "local sandbox it then also reaches services on this machine's loopback interface.",
    )

    def update_docs(self, task: AgentTask) -> list[str]:
        sandbox = task.sandbox
        # Refuses before anything is written when the agent cannot be isolated.
        unisolated = sandbox.untrusted_isolation_warning()
        sandbox.write_file(REPORT_FILE, json.dumps(task.report.to_json_dict(), indent=2))
        repo_dirs = [sandbox.path(c.path) for c in task.workspace.sources if c.path]
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
            )
        finally:
            sandbox.remove(REPORT_FILE)  # the entry itself, should the agent make it a symlink
        tail = result.stderr.strip().splitlines()[-STDERR_LINES_SHOWN:]
        warnings = [unisolated] if unisolated else []
        # Redacted before it is cut: a cut could leave a secret's first half unrecognised.
        return warnings + [
            f"agent stderr: {redact(line)[:MAX_WARNING_CHARS]}" for line in tail if line.strip()
        ]
