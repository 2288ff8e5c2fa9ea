"""Sandbox resources for tests: the local sandbox, and the E2B sandbox on the autospec'd SDK
(``e2b_double``)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jrn_dagster.resources.sandbox import E2BSandboxResource, SandboxResource
from jrn_dagster_tests.support.e2b_double import FakeE2BCloud


@dataclass
class Backend:
    kind: str
    make_resource: Callable[[], SandboxResource]
    cloud: FakeE2BCloud | None = None


def make_e2b_resource(tmp_path: Path) -> E2BSandboxResource:
    return E2BSandboxResource(
        api_key="e2b_test_key_0123456789",
        template="jrn-test-template",
        workdir=str(tmp_path / "e2b-work"),
        kill_grace_seconds=1.0,
    )
