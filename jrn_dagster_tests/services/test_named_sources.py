"""Which credential a source the rules name is read with (docs/attention-rules.md, "Sources the
rules name")."""

from datetime import UTC, datetime
from pathlib import Path

from jrn_dagster.adapters.git import GitRepositories
from jrn_dagster.adapters.local_sandbox import LocalSandbox
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.impact import ImpactReport, ReportCode
from jrn_dagster.domain.records import Integration, IntegrationKind, IntegrationStatus, Source
from jrn_dagster.domain.steps import Checkouts, PlanMode, SpacePlan
from jrn_dagster.services.impact import empty_report
from jrn_dagster.services.named_sources import integration_for, resolve_named_sources
from jrn_dagster_tests.support.git_repos import RemoteRepo
from jrn_dagster_tests.support.http_git import GitHttpServer, basic_authorization

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "ghp_NamedSourceToken0123456789abcdefgh"


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


DOC = "---\nattention:\n  - op: file\n    path: lib/**\n    source: gadgets\n---\n# Gadgets\n"


def _resolve(database: Database, sandbox: LocalSandbox, server: GitHttpServer) -> ImpactReport:
    with database.unit_of_work() as uow:
        space = uow.spaces.add("platform")
        uow.spaces.bind("platform", "gadgets")
        checkouts = Checkouts(
            plan=SpacePlan(
                mode=PlanMode.CATCH_UP,
                space_id=space.id,
                space_slug=space.slug,
                bound_source_names=["gadgets"],
                works=[],
            ),
            sandbox_id=sandbox.id,
            sources=[],
        )
        bound = uow.sources.bound_to(space.id)
        uow.docs.put(space.id, "gadgets.md", DOC)  # its rules are stored with it
        uow.commit()
    repositories = GitRepositories(
        clone_url_template=server.url_template,
        credential_hosts=[server.host],
        retry_delays=(0.0,),
        environ={"ACME_GIT_TOKEN": TOKEN},
    )
    return resolve_named_sources(
        database,
        sandbox,
        repositories,
        checkouts,
        empty_report(strict=False),
        bound=bound,
    )


def test_another_repository_is_read_with_the_hosts_integration_and_the_token_stays_out(
    database: Database, local_sandbox: LocalSandbox, remote: RemoteRepo
) -> None:
    """A virtual source of another repository, on a host with an active token integration: the
    clone sends the token (the server requires it), and nothing under the checkout keeps it."""
    with database.unit_of_work() as uow:
        uow.integrations.add_token("acme", token_env="ACME_GIT_TOKEN", host="github.com")
        uow.sources.add("gadgets", repo=str(remote.coordinate), branch="main")
        uow.commit()
    with GitHttpServer(remote.root, token=TOKEN) as server:
        report = _resolve(database, local_sandbox, server)
        [context] = report.context_sources
        assert (context.name, context.head_sha, context.credential) == (
            "gadgets",
            remote.head(),
            "integration acme",
        )
        assert {r.authorization for r in server.requests if r.status == 200} == {
            basic_authorization(TOKEN)
        }
    assert report.warnings == []
    git_dir = Path(local_sandbox.path(context.path)) / ".git"
    for path in git_dir.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_bytes().decode("latin-1"), path


def test_a_source_that_cannot_be_had_is_a_named_warning(
    database: Database, local_sandbox: LocalSandbox, remote: RemoteRepo
) -> None:
    """No active integration for the host: anonymous, which the server refuses."""
    with database.unit_of_work() as uow:
        uow.sources.add("gadgets", repo=str(remote.coordinate), branch="main")
        uow.commit()
    with GitHttpServer(remote.root, token=TOKEN) as server:
        report = _resolve(database, local_sandbox, server)
    assert report.context_sources == []
    [warning] = report.warnings
    assert (warning.code, warning.source_name, warning.doc_path) == (
        ReportCode.UNRESOLVED_SOURCE,
        "gadgets",
        "gadgets.md",
    )
    assert f"{remote.coordinate} main cannot be had" in warning.message
    assert TOKEN not in warning.message
