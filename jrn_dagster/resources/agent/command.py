import json

from pydantic import Field

from jrn_dagster.domain.workspace import REPOS_DIR
from jrn_dagster.resources.agent.base import AgentResource, AgentTask

REPORT_FILE = "impact-report.json"


class CommandAgent(AgentResource):
    """Runs a command in the sandbox: how any command-line coding agent is plugged in.

    The command gets ``JRN_REPORT_PATH`` (the impact report as JSON), ``JRN_DOCS_DIR`` (edit the
    docs there), ``JRN_REPO_DIR`` (the first checkout) and ``JRN_REPO_DIRS`` (all, ':'-separated),
    plus ``env``. It never gets git credentials: the sandbox gives a command only the environment
    it is handed, and no clone credential is stored in a checkout. Edits anywhere but the docs
    directory are discarded and reported.
    """

    command: list[str] = Field(description="argument list, e.g. ['my-agent', '--apply']")
    timeout_seconds: float = Field(default=900, gt=0)
    env: dict[str, str] = Field(
        default_factory=dict, description="extra, non-secret environment for the command"
    )

    def update_docs(self, task: AgentTask) -> list[str]:
        sandbox = task.sandbox
        sandbox.write_file(REPORT_FILE, json.dumps(task.report.to_json_dict(), indent=2))
        repo_dirs = [sandbox.path(c.path) for c in task.workspace.checkouts if c.path]
        result = sandbox.run(
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
            check=True,
        )
        sandbox.remove(REPORT_FILE)
        tail = result.stderr.strip().splitlines()[-5:]
        return [f"agent stderr: {line}" for line in tail if line]
