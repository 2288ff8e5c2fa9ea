"""Every way a run can fail releases its sandbox: the local directory is gone, the E2B sandbox
is killed (the E2B SDK autospec'd, its commands run on this machine)."""

from pathlib import Path

import pytest

from jrn_dagster.adapters import e2b_sandbox as e2b_module
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import push_change
from jrn_dagster.resources.agent import CommandAgentResource
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import E2BSandboxResource
from jrn_dagster_tests.support.e2b_double import FakeE2BCloud
from jrn_dagster_tests.support.flow import Flow, demo_flow, run_request, space_request

FAILURES = {
    # the pushed commit is not in the repository the template points to
    "clone": lambda flow, tmp: RepositoryAccessResource(
        clone_url_template=f"file://{tmp}/nowhere/{{host}}/{{owner}}/{{repo}}.git"
    ),
    "agent": lambda flow, tmp: CommandAgentResource(command=["bash", "-c", "exit 3"]),
}


def _break(flow: Flow, tmp_path: Path, step: str) -> None:
    key = "repository_access" if step == "clone" else "agent"
    flow.resources[key] = FAILURES[step](flow, tmp_path)


def _run_api_space(flow: Flow) -> bool:
    push_change(flow.database, flow.world)
    return run_request(flow, space_request(flow)).success


@pytest.mark.parametrize("step", ["agent", "clone"])
def test_local_sandbox_is_removed_when_a_step_fails(
    database: Database, tmp_path: Path, step: str
) -> None:
    with demo_flow(database, tmp_path) as flow:
        _break(flow, tmp_path, step)
        assert not _run_api_space(flow)
    assert list((tmp_path / "sandboxes").iterdir()) == []


@pytest.mark.parametrize("step", ["agent", "clone", None])
def test_e2b_sandbox_is_killed_whatever_happens(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str | None
) -> None:
    (tmp_path / "e2b-home").mkdir()
    cloud = FakeE2BCloud(tmp_path / "e2b-home")
    monkeypatch.setattr(e2b_module, "E2BSdkSandbox", cloud.sdk_class)
    with demo_flow(database, tmp_path) as flow:
        flow.resources["sandbox"] = E2BSandboxResource(
            api_key="e2b_test_key_0123456789",
            template="jrn-test-template",
            workdir=str(tmp_path / "e2b-work"),
        )
        if step is not None:
            _break(flow, tmp_path, step)
        assert _run_api_space(flow) is (step is None)
    assert cloud.sandboxes, "the run created an E2B sandbox"
    assert set(cloud.sandboxes) == cloud.killed
    create = cloud.sdk_class.create.call_args.kwargs
    assert create["template"] == "jrn-test-template"
    assert create["timeout"] == 3600 and create["metadata"]["app"] == "jrn-dagster"
