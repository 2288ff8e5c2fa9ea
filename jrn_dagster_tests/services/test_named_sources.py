"""Which credential a source the rules name is read with (docs/attention-rules.md, "Sources the
rules name")."""

from datetime import UTC, datetime

from jrn_dagster.domain.records import Integration, IntegrationKind, IntegrationStatus, Source
from jrn_dagster.services.named_sources import integration_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def integration(id_: int, host: str, status: IntegrationStatus) -> Integration:
    return Integration(
        id=id_, name=f"i{id_}", kind=IntegrationKind.TOKEN, host=host, status=status,
        token_env="T", app_id=None, installation_id=None, private_key_env=None,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def source(repo: str, integration_id: int | None = None) -> Source:
    return Source(
        id=1, name="s", type="git", repo=repo, branch="main", integration_id=integration_id,
        enabled=True, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def test_own_integration_else_an_active_one_of_the_same_host_else_anonymous() -> None:
    suspended = integration(1, "github.com", IntegrationStatus.SUSPENDED)
    ghes = integration(2, "ghes.example.com", IntegrationStatus.ACTIVE)
    active = integration(3, "github.com", IntegrationStatus.ACTIVE)
    other = integration(4, "github.com", IntegrationStatus.ACTIVE)
    every = [suspended, ghes, active, other]
    assert integration_for(source("github.com/a/b", integration_id=4), every) == other
    assert integration_for(source("github.com/a/b"), every) == active  # the oldest active
    assert integration_for(source("github.com/a/b", integration_id=1), every) == active
    assert integration_for(source("GHES.example.com/a/b"), every) == ghes
    assert integration_for(source("gitlab.com/a/b"), every) is None  # anonymous
    assert integration_for(source("github.com/a/b"), [suspended]) is None
