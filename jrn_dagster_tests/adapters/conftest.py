"""Sandbox fixtures: the local sandbox, and the E2B sandbox on the autospec'd SDK. Every sandbox
contract test runs against both (``backend``)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jrn_dagster.adapters import e2b_sandbox as e2b_module
from jrn_dagster.ports.sandbox import Sandbox
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster_tests.support.e2b_double import FakeE2BCloud
from jrn_dagster_tests.support.sandboxes import Backend, make_e2b_resource


@pytest.fixture
def e2b_cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeE2BCloud:
    home = tmp_path / "e2b-home"
    home.mkdir()
    cloud = FakeE2BCloud(home)
    monkeypatch.setattr(e2b_module, "E2BSdkSandbox", cloud.sdk_class)
    return cloud


@pytest.fixture
def resource(tmp_path: Path) -> LocalSandboxResource:
    """A local sandbox resource in the test's own directory."""
    return LocalSandboxResource(base_dir=str(tmp_path / "sandboxes"), kill_grace_seconds=1.0)


@pytest.fixture(params=["local", "e2b"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        base = tmp_path / "sandboxes"
        return Backend(
            "local", lambda: LocalSandboxResource(base_dir=str(base), kill_grace_seconds=1.0)
        )
    cloud: FakeE2BCloud = request.getfixturevalue("e2b_cloud")
    return Backend("e2b", lambda: make_e2b_resource(tmp_path), cloud)


@pytest.fixture
def sandbox(backend: Backend) -> Iterator[Sandbox]:
    resource = backend.make_resource()
    opened = resource.open("contract-test-run")
    try:
        yield opened
    finally:
        resource.release_all()
