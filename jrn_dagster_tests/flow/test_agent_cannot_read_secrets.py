"""A command agent cannot find the git token, whatever it tries (docs/sandboxes.md, "Isolation
of the agent").

The orchestrator is a separate process (``support/orchestrator.py``) with the token, and a GitHub
App private key, in its environment from process start; a token also sits in its home directory
(``~/.git-credentials``) and in a file under its ``$TMPDIR``. It runs a real ``cli_impact`` run
that clones over HTTP with the token (the server requires it) and then runs a spy agent, which
tries every place a secret could be: ``/proc/*/environ`` and ``cmdline``, its parents'
environments, ``ps e``, ``env``, the checkouts' ``.git/config``, ``~/.git-credentials``, its and
the orchestrator's ``$TMPDIR``, the sandbox's other directories and ``$DAGSTER_HOME``, and writes
all it saw into a doc, which becomes a proposal. The token (raw, as a Basic header, URL-encoded)
and the key are then looked for everywhere: in what the agent saw, in every table of the
database, in every file of the Dagster instance (event log included) and in the orchestrator's
output.

The second test is the control: with isolation unavailable and the operator's opt-in, the same
agent finds the token at once. That is what the opt-in gives up, and it shows the first test
would notice a leak.

The fourth gives the orchestrator the LLM agent, its API key in the environment from process
start, and a hostile API that repeats the key in its error: the key is sent in the request's
header and found nowhere else.

The third runs on E2B (the autospec'd SDK of ``resources/e2b_double.py``, whose "VM" is a
directory and local processes, so probing this machine's ``/proc`` would prove nothing): the
sandbox is the boundary, so what matters is that no credential is in the sandbox's environment,
files or git config when the agent starts. The agent dumps its environment and the checkouts'
git config; afterwards every file of the sandbox is searched, and every command sent to E2B is
checked: only git's network commands carried the credential.
"""

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from dagster import DagsterInstance

from jrn_dagster.adapters.local_sandbox import UNISOLATED_WARNING
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, TOKEN_ENV, ensure_world, push_change
from jrn_dagster_tests.support.chat_server import Reply, chat_server
from jrn_dagster_tests.support.databases import database_text
from jrn_dagster_tests.support.http_git import GitHttpServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "jrn-isolation/T0k3n+with=special&chars_0123456789"
APP_KEY_ENV = "JRN_TEST_APP_PRIVATE_KEY"
APP_KEY_BODY = "MIIEowIBAAKCAQEAisolationTestKeyBody0123456789abcdefABCDEF"
APP_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{APP_KEY_BODY}\n-----END RSA PRIVATE KEY-----\n"
LLM_KEY_ENV = "JRN_TEST_LLM_API_KEY"
LLM_KEY = "sk-isolation-llm-key-0123456789abcdefXYZ"
ORCHESTRATOR_SECONDS = 300
PROBES = (
    "env",
    "proc-environ",
    "proc-cmdline",
    "parents",
    "ps",
    "git-config",
    "git-credentials",
    "tmpdir",
    "sandbox-directories",
    "dagster-home",
)


def secret_forms() -> dict[str, str]:
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    return {
        "token": TOKEN,
        "basic": basic,
        "url-encoded": quote(TOKEN, safe=""),
        "form-encoded": quote_plus(TOKEN),
        "private key": APP_KEY_BODY,
        "LLM API key": LLM_KEY,
    }


def spy_agent(orchestrator_home: Path, orchestrator_tmp: Path, dagster_home: Path) -> list[str]:
    """Writes everything it can find into ``spy.md``, one capped section per probe. It knows
    where the orchestrator keeps things (the worst case): the paths are in the script."""
    script = f"""
out="$JRN_DOCS_DIR/spy.md"
section() {{ printf '\\n== %s ==\\n' "$1" >> "$out"; }}
cap() {{ head -c 60000 >> "$out"; }}
section env; env | cap
section proc-environ
for f in /proc/[0-9]*/environ; do echo "-- $f"; tr '\\0' '\\n' < "$f"; done 2>&1 | cap
section proc-cmdline
for f in /proc/[0-9]*/cmdline; do echo "-- $f"; tr '\\0' ' ' < "$f"; echo; done 2>&1 | cap
section parents
p=$$; while [ "$p" -gt 0 ] 2>/dev/null; do
  echo "-- $p"; tr '\\0' '\\n' < /proc/$p/environ
  p=$(awk '/^PPid:/ {{print $2}}' /proc/$p/status)
done 2>&1 | cap
section ps; ps -eo pid,args e 2>&1 | cap
section git-config
for d in $(echo "$JRN_REPO_DIRS" | tr : ' '); do cat "$d/.git/config"; done 2>&1 | cap
section git-credentials; cat ~/.git-credentials '{orchestrator_home}/.git-credentials' 2>&1 | cap
section tmpdir; grep -r -a . "$TMPDIR" '{orchestrator_tmp}' 2>&1 | cap
section sandbox-directories
{{ ls -la "$JRN_DOCS_DIR/../.." "$JRN_DOCS_DIR/../../.."; grep -r -a . "$JRN_DOCS_DIR/../../home" "$JRN_DOCS_DIR/../../tmp"; }} 2>&1 | cap
section dagster-home; grep -r -a -l . '{dagster_home}' 2>&1 | cap
# Whatever it found goes to stderr too, raw, as a Basic header and URL-encoded: the agent's
# output must be redacted before it is shown anywhere.
tok=$(grep -a -h -o '^{TOKEN_ENV}=.*' "$out" | head -1 | cut -d= -f2-)
if [ -n "$tok" ]; then
  echo "found $tok" >&2
  printf 'x-access-token:%s' "$tok" | base64 -w0 >&2; echo >&2
  python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$tok" >&2
fi
"""  # noqa: E501
    return ["bash", "-c", script]


@dataclass
class OrchestratorRun:
    success: bool
    seen_by_agent: str
    database_text: str
    event_log: str
    dagster_files: str  # the instance's storage: op outputs (proposals included) and logs
    output: str


def _files_text(directory: Path) -> str:
    return "\n".join(
        path.read_bytes().decode("latin-1") for path in directory.rglob("*") if path.is_file()
    )


def _event_log_text(dagster_home: Path) -> str:
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return "\n".join(
            json.dumps(record.event_log_entry.to_json())
            for run in instance.get_run_records()
            for record in instance.get_records_for_run(
                run.dagster_run.run_id, limit=100_000
            ).records
        )


def e2b_spy_agent() -> list[str]:
    script = """
out="$JRN_DOCS_DIR/spy.md"
section() { printf '\\n== %s ==\\n' "$1" >> "$out"; }
cap() { head -c 60000 >> "$out"; }
section env; env | cap
section git-config
for d in $(echo "$JRN_REPO_DIRS" | tr : ' '); do
  cat "$d/.git/config"; git -C "$d" config --list --show-origin
done 2>&1 | cap
section files; find "$HOME" "$JRN_DOCS_DIR/.." -type f 2>&1 | cap
"""
    return ["bash", "-c", script]


def run_orchestrator(
    database: Database, tmp_path: Path, agent: list[str] | None = None, **options: object
) -> OrchestratorRun:
    git_root = tmp_path / "git"
    home, orchestrator_tmp, dagster_home, sandboxes = (
        tmp_path / name for name in ("orchestrator-home", "orchestrator-tmp", "dagster", "sb")
    )
    for directory in (git_root, home, orchestrator_tmp, dagster_home, sandboxes):
        directory.mkdir()
    # Secrets lying around on the orchestrator's machine, as they do.
    (home / ".git-credentials").write_text(f"https://x-access-token:{TOKEN}@github.com\n")
    (orchestrator_tmp / "token.txt").write_text(TOKEN)
    world = ensure_world(database, git_root)
    push_change(database, world)
    config_path, outcome_path = tmp_path / "config.json", tmp_path / "outcome.json"
    with GitHttpServer(git_root, token=TOKEN) as git:
        config_path.write_text(
            json.dumps(
                {
                    "database_url": database.url,
                    "sandbox_dir": str(sandboxes),
                    "clone_url_template": git.url_template,
                    "credential_hosts": [git.host],
                    "agent_command": agent or spy_agent(home, orchestrator_tmp, dagster_home),
                    "space": API_SPACE,
                    "outcome_path": str(outcome_path),
                    **options,
                }
            )
        )
        environment = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home),
            "TMPDIR": str(orchestrator_tmp),
            "DAGSTER_HOME": str(dagster_home),
            "LANG": "C.UTF-8",
            TOKEN_ENV: TOKEN,
            APP_KEY_ENV: APP_KEY,
            LLM_KEY_ENV: LLM_KEY,
        }
        done = subprocess.run(
            [sys.executable, "-m", "jrn_dagster_tests.support.orchestrator", str(config_path)],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            timeout=ORCHESTRATOR_SECONDS,
            check=False,
        )
        output = (done.stdout + done.stderr).decode(errors="replace")
        assert done.returncode == 0, output[-5000:]
        # The token was really in use in that process: git needed it for every request.
        assert git.requests and all(r.status == 200 for r in git.requests)
    [outcome] = json.loads(outcome_path.read_text())
    with database.unit_of_work() as uow:
        proposed = {d.path: d.proposed_content for c in uow.changesets.all() for d in c.docs}
    return OrchestratorRun(
        success=outcome["success"],
        seen_by_agent=proposed.get("spy.md", ""),
        database_text=database_text(database),
        event_log=_event_log_text(dagster_home),
        dagster_files=_files_text(dagster_home),
        output=output,
    )


def test_the_agent_finds_no_secret_anywhere_and_none_leaks(
    database: Database, tmp_path: Path
) -> None:
    run = run_orchestrator(database, tmp_path)

    assert run.success, run.output[-5000:]
    seen = run.seen_by_agent
    # Every probe ran, and saw something: its own environment, its own processes.
    for probe in PROBES:
        assert f"\n== {probe} ==\n" in seen, probe
    assert "JRN_DOCS_DIR=" in seen and '[remote "origin"]' in seen
    for name, form in secret_forms().items():
        assert form not in seen, f"the agent found the {name}"
        assert form not in run.database_text, f"the {name} is in the database"
        assert form not in run.event_log, f"the {name} is in the Dagster event log"
        assert form not in run.dagster_files, f"the {name} is in the Dagster instance's files"
        assert form not in run.output, f"the {name} is in the orchestrator's output"
    assert UNISOLATED_WARNING not in run.event_log


def test_with_the_opt_in_and_no_isolation_the_same_agent_finds_the_token(
    database: Database, tmp_path: Path
) -> None:
    run = run_orchestrator(
        database,
        tmp_path,
        bubblewrap_path=str(tmp_path / "no-bwrap-here"),
        allow_unisolated_agent=True,
    )

    assert run.success, run.output[-5000:]
    assert f"{TOKEN_ENV}={TOKEN}" in run.seen_by_agent  # in the orchestrator's environment
    assert APP_KEY_BODY in run.seen_by_agent
    assert UNISOLATED_WARNING in run.event_log  # said on every run
    # It printed the token in three forms: its warning lines reach the event log redacted.
    assert "agent stderr: found [REDACTED]" in run.event_log
    for name in ("token", "basic", "url-encoded"):
        assert secret_forms()[name] not in run.event_log, f"the agent's stderr leaked the {name}"
        assert secret_forms()[name] not in run.output


def test_on_e2b_no_credential_is_in_the_sandbox_when_the_agent_starts(
    database: Database, tmp_path: Path
) -> None:
    vm_home, vm_work, commands_path = (
        tmp_path / "e2b-home",
        tmp_path / "e2b-work",
        tmp_path / "commands.json",
    )
    vm_home.mkdir()
    run = run_orchestrator(
        database,
        tmp_path,
        agent=e2b_spy_agent(),
        e2b_home=str(vm_home),
        e2b_workdir=str(vm_work),
        commands_path=str(commands_path),
    )

    assert run.success, run.output[-5000:]
    assert "JRN_DOCS_DIR=" in run.seen_by_agent and '[remote "origin"]' in run.seen_by_agent
    sandbox_files = _files_text(vm_home) + _files_text(vm_work)  # kept: never released
    assert '[remote "origin"]' in sandbox_files  # the checkout is still there
    commands = json.loads(commands_path.read_text())
    basic = secret_forms()["basic"]

    def carries_credential(command: dict[str, object]) -> bool:
        return any(form in json.dumps(command["envs"]) for form in secret_forms().values())

    network = [c for c in commands if any(f" {verb} " in str(c["cmd"]) for verb in
                                          ("fetch", "checkout", "diff"))]  # fmt: skip
    assert any(basic in json.dumps(c["envs"]) for c in network)  # the clone used it
    assert not any(carries_credential(c) for c in commands if c not in network)
    [agent_call] = [c for c in commands if "spy.md" in str(c["cmd"])]
    assert not carries_credential(agent_call)
    for name, form in secret_forms().items():
        assert form not in run.seen_by_agent, f"the agent found the {name}"
        assert form not in sandbox_files, f"the {name} is in a file of the sandbox"
        assert form not in run.database_text, f"the {name} is in the database"
        assert form not in run.event_log, f"the {name} is in the Dagster event log"
        assert form not in run.dagster_files, f"the {name} is in the Dagster instance's files"


def test_the_llm_key_from_process_start_reaches_the_api_alone_even_when_echoed(
    database: Database, tmp_path: Path
) -> None:
    # A hostile API: it refuses the key and repeats it in its error message.
    with chat_server([Reply(status=401, echo_authorization=True)]) as server:
        run = run_orchestrator(
            database,
            tmp_path,
            llm={"base_url": server.url, "model": "test-model", "api_key_env": LLM_KEY_ENV},
        )
    # The key was in use: the API received it, from the variable, in the header alone.
    assert [r.headers.get("authorization") for r in server.requests] == [f"Bearer {LLM_KEY}"]
    assert LLM_KEY not in json.dumps([r.body for r in server.requests])
    # The refusal is reported, with the key it repeated redacted.
    assert "invalid credential" in run.event_log and "[REDACTED]" in run.event_log
    for name, form in secret_forms().items():
        assert form not in run.database_text, f"the {name} is in the database"
        assert form not in run.event_log, f"the {name} is in the Dagster event log"
        assert form not in run.dagster_files, f"the {name} is in the Dagster instance's files"
        assert form not in run.output, f"the {name} is in the orchestrator's output"
