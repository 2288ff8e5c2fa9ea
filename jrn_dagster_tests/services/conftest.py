"""Checkout fixtures: a real remote repository and a real local sandbox."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jrn_dagster.adapters.local_sandbox import LocalSandbox
from jrn_dagster.redaction import clear_registered_secrets
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster_tests.resources.conftest import e2b_cloud  # noqa: F401 - shared fixture
from jrn_dagster_tests.support.git_repos import RemoteRepo, make_remote_repo
from jrn_dagster_tests.support.recording_sandbox import RecordingSandbox


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    clear_registered_secrets()


@pytest.fixture
def remote(tmp_path: Path) -> RemoteRepo:
    return make_remote_repo(tmp_path / "git", "github.com/acme/widgets")


@pytest.fixture
def local_sandbox(tmp_path: Path) -> Iterator[LocalSandbox]:
    resource = LocalSandboxResource(base_dir=str(tmp_path / "sandboxes"), kill_grace_seconds=1.0)
    sandbox = resource.open("checkout-test")
    assert isinstance(sandbox, LocalSandbox)
    try:
        yield sandbox
    finally:
        resource.release_all()


@pytest.fixture
def spy(local_sandbox: LocalSandbox) -> RecordingSandbox:
    return RecordingSandbox(local_sandbox)
