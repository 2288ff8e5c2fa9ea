"""Re-execute from failure: the steps after the failed one run in a new run, whose sandbox is
rebuilt from the step inputs (the first run released its own)."""

from pathlib import Path

from dagster import ReexecutionOptions, build_reconstructable_job, execute_job

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import clone_url_template
from jrn_dagster.demo.scenario import API_SPACE, push_change
from jrn_dagster.domain.records import SpacePushStatus
from jrn_dagster_tests.support.flow import demo_flow, space_request


def test_reexecuting_from_the_failed_agent_step_rebuilds_the_sandbox(
    database: Database, tmp_path: Path
) -> None:
    # The agent fails until the test lets it succeed: it can read the flag's directory (given
    # to it read-only), never write outside its sandbox.
    flags = tmp_path / "flags"
    flags.mkdir()
    flag = flags / "agent-may-succeed"
    agent_command = (
        f"bash -c 'test -f {flag} || exit 7;"
        ' echo reviewed >> "$JRN_DOCS_DIR/reference/routes.md"\''
    )
    with demo_flow(database, tmp_path) as flow:
        push_change(database, flow.world)
        request = space_request(flow)
        recon = build_reconstructable_job(
            "jrn_dagster_tests.support.env_job",
            "cli_impact_with",
            reconstructable_kwargs={
                "database_url": database.url,
                "clone_url_template": clone_url_template(tmp_path / "git"),
                "sandbox_dir": str(flow.sandbox_dir),
                "agent_command": agent_command,
                "agent_read_only_paths": (str(flags),),
            },
        )
        tags = {**request.tags, "dagster/partition": API_SPACE}
        with execute_job(
            recon, flow.instance, run_config=request.run_config, tags=tags, raise_on_error=False
        ) as first:
            assert not first.success
            failed_steps = [e.step_key for e in first.get_step_failure_events()]
            assert failed_steps == ["agent"]
        assert list(flow.sandbox_dir.iterdir()) == []  # released with the failed run
        flag.touch()
        options = ReexecutionOptions.from_failure(first.run_id, flow.instance)
        with execute_job(
            recon, flow.instance, reexecution_options=options, raise_on_error=False
        ) as second:
            assert second.success
            executed = {e.step_key for e in second.get_step_success_events()}
            assert executed == {"agent", "sync_back", "advance_cursor"}
            second_run = second.run_id
    assert list(flow.sandbox_dir.iterdir()) == []
    with database.unit_of_work() as uow:
        [record] = uow.coverage.pushes_by_run(second_run)
        assert record.status is SpacePushStatus.SUCCEEDED
        [changeset] = uow.changesets.all()
        [doc] = changeset.docs
        assert doc.path == "reference/routes.md" and doc.proposed_content.endswith("reviewed\n")
