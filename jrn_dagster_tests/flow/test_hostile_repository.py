"""A hostile repository and a hostile agent, through a real ``cli_impact`` run: each attack is
refused or harmless, and each test says which (docs/sandboxes.md, "What the pipeline trusts
after the agent").

One push brings the repository's attacks: symlinks out of the checkout (in its ``docs/``
directory and elsewhere, one to a file only the orchestrator may read), a ``.gitattributes``
naming filter, diff and merge drivers, a submodule with a ``file://`` URL to a private
repository, and a 30 MiB file under a keyword rule. The agent then plants ``core.fsmonitor``, a
filter, a diff driver and a hook in the checkout's config, hides an edit with
``assume-unchanged`` and another with ``.git/info/exclude``, replaces the report file with a
symlink to the README, puts symlinks and a FIFO in the docs directory, reads the repository's
symlinks, and leaves two ``setsid`` daemons. The run is executed once per database; the
sandbox is kept so that what is left in it can be looked at.
"""

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance

from jrn_dagster.db.migrate import upgrade
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import run_git
from jrn_dagster.demo.scenario import API_SPACE, push_files
from jrn_dagster.resources.agent import CommandAgentResource
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster_tests.support.databases import (
    DATABASE_KINDS,
    database_text,
    sqlite_copy,
    temporary_postgres_database,
)
from jrn_dagster_tests.support.flow import demo_flow, run_request, space_request
from jrn_dagster_tests.support.liveness import processes_with

CANARY = f"orchestrator-only-{uuid.uuid4().hex}"
SUBMODULE_CANARY = f"private-submodule-{uuid.uuid4().hex}"
DAEMON = f"jrn-hostile-daemon-{uuid.uuid4().hex}"
HUGE_BYTES = 30 * 1024 * 1024


@dataclass
class HostileRun:
    success: bool
    proposed: dict[str, str]
    rejected: list[str]
    checkout: Path
    markers: Path
    database_text: str
    event_log: str


def _hostile_push(flow_world, database: Database, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    remote = flow_world.remote
    work = remote.work
    secret = tmp / "orchestrator-only.txt"
    secret.write_text(CANARY)
    # A private repository the submodule points at.
    private = tmp / "private.git"
    seed = tmp / "private-seed"
    seed.mkdir()
    run_git("init", "--quiet", str(seed), cwd=tmp, home=tmp)
    (seed / "secret.txt").write_text(SUBMODULE_CANARY)
    run_git("add", "secret.txt", cwd=seed, home=tmp)
    run_git("commit", "--quiet", "-m", "private", cwd=seed, home=tmp)
    run_git("clone", "--quiet", "--bare", str(seed), str(private), cwd=tmp, home=tmp)
    private_head = run_git("rev-parse", "HEAD", cwd=seed, home=tmp)

    (work / "docs").mkdir(exist_ok=True)
    (work / "docs" / "passwd.md").symlink_to("/etc/passwd")
    (work / "docs" / "secret.md").symlink_to(secret)
    (work / "src" / "api" / "escape.py").symlink_to("../../../../../../../../../..")
    (work / "src" / "api" / "canary.py").symlink_to(secret)
    (work / ".gitattributes").write_text("* filter=evil diff=evil merge=evil\n*.py text eol=crlf\n")
    (work / ".gitmodules").write_text(
        f'[submodule "vendor"]\n\tpath = vendor\n\turl = file://{private}\n'
    )
    remote.git("add", "-A")
    remote.git("update-index", "--add", "--cacheinfo", f"160000,{private_head},vendor")
    huge = "class Widget:  # padding to make a huge file\n" * (HUGE_BYTES // 46)
    push_files(database, flow_world, {"src/api/models.py": huge}, "a hostile push")


def _hostile_agent(markers: Path) -> list[str]:
    touch = f"touch {markers}"
    script = f"""
set -u
cd "$JRN_REPO_DIR"
# Hidden edits: an index flag, an exclude entry.
echo hidden >> README.md; git update-index --assume-unchanged README.md
echo x > excluded.txt; echo excluded.txt >> .git/info/exclude
# Programs the repository's config would make the orchestrator's git run.
git config core.fsmonitor "{touch}/fsmonitor-ran; echo"
git config filter.evil.clean "{touch}/filter-ran; cat"
git config filter.evil.smudge "{touch}/filter-ran; cat"
git config diff.evil.command "{touch}/diff-ran"
hook=.git/hooks/post-checkout; printf '#!/bin/sh\\n{touch}/hook-ran\\n' > $hook; chmod +x $hook
# The report file becomes a symlink to the README (its removal must not follow it).
ln -sf "$JRN_REPO_DIR/README.md" "$JRN_REPORT_PATH"
# Symlinks and a FIFO in the docs directory.
ln -s /etc/passwd "$JRN_DOCS_DIR/passwd-link.md"
ln -s "$JRN_REPO_DIR/README.md" "$JRN_DOCS_DIR/readme-link.md"
mkfifo "$JRN_DOCS_DIR/fifo.md"
# Read through the repository's symlinks, propose what was read.
cat docs/secret.md src/api/canary.py vendor/secret.txt > "$JRN_DOCS_DIR/stolen.md" 2>&1 || true
echo "Reviewed by the agent." >> "$JRN_DOCS_DIR/reference/routes.md"
# Daemons: one that lingers, one that would write a doc later.
setsid bash -c 'exec -a {DAEMON} sleep 600' > /dev/null 2>&1 &
setsid bash -c 'sleep 2; echo late > "$0/late.md"' "$JRN_DOCS_DIR" > /dev/null 2>&1 &
exit 0
"""
    return ["bash", "-c", script]


def _agent_metadata(instance: DagsterInstance, run_id: str) -> dict[str, object]:
    for record in instance.get_records_for_run(run_id, limit=10_000).records:
        event = record.event_log_entry.dagster_event
        if (
            event is not None
            and event.event_type_value == "STEP_OUTPUT"
            and event.step_key == "agent"
        ):
            metadata = event.event_specific_data.metadata  # type: ignore[union-attr]
            return {key: value.value for key, value in metadata.items()}
    raise AssertionError("no output of the agent step")


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def hostile(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[HostileRun]:
    tmp = tmp_path_factory.mktemp(f"hostile-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = sqlite_copy(sqlite_template, tmp)
        else:
            url = stack.enter_context(temporary_postgres_database("jrn_hostile"))
        database = Database(url)
        stack.callback(database.dispose)
        upgrade(database)
        flow = stack.enter_context(demo_flow(database, tmp))
        markers = tmp / "markers"
        markers.mkdir()
        _hostile_push(flow.world, database, tmp)
        sandboxes = LocalSandboxResource(base_dir=str(flow.sandbox_dir), release_on_teardown=False)
        flow.resources["sandbox"] = sandboxes
        flow.resources["agent"] = CommandAgentResource(
            command=_hostile_agent(markers), timeout_seconds=120
        )
        outcome = run_request(flow, space_request(flow, space=API_SPACE))
        assert outcome.run_id
        metadata = _agent_metadata(flow.instance, outcome.run_id)
        with database.unit_of_work() as uow:
            proposed = {d.path: d.proposed_content for c in uow.changesets.all() for d in c.docs}
        [sandbox_dir] = flow.sandbox_dir.iterdir()
        [checkout] = (sandbox_dir / "work" / "repos").iterdir()
        log = "\n".join(
            json.dumps(r.event_log_entry.to_json())
            for r in flow.instance.get_records_for_run(outcome.run_id, limit=10_000).records
        )
        yield HostileRun(
            success=outcome.success,
            proposed=proposed,
            rejected=list(metadata["rejected_paths"]),  # type: ignore[call-overload]
            checkout=checkout,
            markers=markers,
            database_text=database_text(database),
            event_log=log,
        )
        sandboxes.release_all()
        sandboxes.release_for_key(outcome.run_id)


def test_the_run_succeeds_and_proposes_only_the_real_doc_edit(hostile: HostileRun) -> None:
    assert hostile.success
    assert "Reviewed by the agent." in hostile.proposed["reference/routes.md"]


def test_symlinks_out_of_the_checkout_are_harmless(hostile: HostileRun) -> None:
    """Harmless: the agent cannot read their targets (not in its view); the pipeline never
    follows them (git shows a symlink's target path, the digest does not open them)."""
    assert CANARY not in hostile.proposed.get("stolen.md", "")
    assert "No such file or directory" in hostile.proposed.get("stolen.md", "")
    assert CANARY not in hostile.database_text and CANARY not in hostile.event_log


def test_a_gitattributes_filter_is_harmless(hostile: HostileRun) -> None:
    """Harmless: a driver is only a name until a config defines it, and no config the agent
    wrote is used by a pipeline git command."""
    assert not (hostile.markers / "filter-ran").exists()
    assert not (hostile.markers / "diff-ran").exists()


def test_a_file_url_submodule_is_never_fetched(hostile: HostileRun) -> None:
    """Harmless: submodules are never initialised, so the private repository is not read."""
    vendor = hostile.checkout / "vendor"
    assert not vendor.exists() or list(vendor.iterdir()) == []
    assert SUBMODULE_CANARY not in hostile.proposed.get("stolen.md", "")
    assert SUBMODULE_CANARY not in hostile.database_text


def test_a_huge_file_is_harmless(hostile: HostileRun) -> None:
    """Harmless: its diff is too large to read for keywords, so the rule fires on the path
    ("diff_unavailable"); nothing of it is stored."""
    assert (hostile.checkout / "src" / "api" / "models.py").stat().st_size >= HUGE_BYTES - 64
    assert "diff_unavailable" in hostile.database_text
    assert len(hostile.database_text) < HUGE_BYTES // 10


def test_a_planted_fsmonitor_hook_or_driver_never_runs_and_is_reported(
    hostile: HostileRun,
) -> None:
    """Refused: no git command runs in the checkout after the agent; the config edit is
    reported as an edit outside the docs directory."""
    assert list(hostile.markers.iterdir()) == []
    assert any(path.endswith("/.git/config") for path in hostile.rejected)
    assert any(path.endswith("/.git/hooks/post-checkout") for path in hostile.rejected)


def test_assume_unchanged_and_exclude_do_not_hide_edits(hostile: HostileRun) -> None:
    """Refused: edits are found by content, not by git's index flags or ignore lists."""
    assert any(path.endswith("/README.md") for path in hostile.rejected)
    assert any(path.endswith("/excluded.txt") for path in hostile.rejected)


def test_a_symlinked_report_file_is_removed_without_following_it(hostile: HostileRun) -> None:
    """Harmless: the link is removed, the README it pointed at is still there."""
    readme = hostile.checkout / "README.md"
    assert readme.is_file() and readme.read_text().endswith("hidden\n")
    assert not (hostile.checkout.parent.parent / "impact-report.json").exists()


def test_setsid_daemons_do_not_outlive_the_agent(hostile: HostileRun) -> None:
    """Refused: the agent's PID namespace ends with it; the kernel kills everything in it."""
    assert processes_with(DAEMON) == []
    assert "late.md" not in hostile.proposed


def test_symlinks_and_fifos_in_the_docs_directory_are_refused(hostile: HostileRun) -> None:
    """Refused: listed as rejected, never read, never proposed."""
    for name in ("passwd-link.md", "readme-link.md", "fifo.md"):
        assert f"docs/{name}" in hostile.rejected
        assert name not in hostile.proposed
