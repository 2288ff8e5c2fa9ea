"""Repository behaviour and constraints, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import inspect, select

from jrn_dagster.db.models import BindingRow, SourceRow
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.errors import ConflictError, InvalidInputError, NotFoundError
from jrn_dagster.domain.records import IntegrationStatus


def _seed(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.integrations.add_token("gh", token_env="GH_TOKEN")
        uow.integrations.add_github_app(
            "app", app_id=11, installation_id=22, private_key_env="APP_KEY"
        )
        uow.sources.add("widgets", repo="github.com/Acme/Widgets", branch="main", integration="gh")
        uow.sources.add("widgets-local", repo="github.com/acme/widgets")
        uow.spaces.add("docs-a", name="Docs A")
        uow.spaces.add("docs-b")
        uow.spaces.bind("docs-a", "widgets")
        uow.spaces.bind("docs-b", "widgets", jrn_pattern="jrn::path:/**/main")
        uow.spaces.bind("docs-a", "widgets-local")
        uow.commit()


def test_true_and_virtual_sources(database: Database) -> None:
    _seed(database)
    with database.unit_of_work() as uow:
        true_source = uow.sources.get_by_name("widgets")
        virtual = uow.sources.get_by_name("widgets-local")
        assert true_source.is_true and true_source.kind == "true"
        assert true_source.repo == "github.com/Acme/Widgets"
        assert not virtual.is_true and virtual.kind == "virtual"
        assert virtual.integration_id is None
        spaces = {space.slug: space for space in uow.spaces.all()}
        assert [b.source_name for b in spaces["docs-a"].bindings] == ["widgets", "widgets-local"]
        assert spaces["docs-b"].bindings[0].jrn_pattern == "jrn::path:/**/main"
        assert spaces["docs-a"].name == "Docs A"
        # the matching query's columns are stored case-folded
        row = uow.session.scalar(select(SourceRow).where(SourceRow.name == "widgets"))
        assert row is not None
        assert row.repo_key == "github.com/acme/widgets"


def test_nothing_is_written_without_commit(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.spaces.add("draft")
    with database.unit_of_work() as uow:
        assert uow.spaces.all() == []


def test_an_error_half_way_leaves_nothing(database: Database) -> None:
    with pytest.raises(NotFoundError), database.unit_of_work() as uow:
        uow.spaces.add("first")
        uow.spaces.bind("first", "missing-source")
        uow.commit()
    with database.unit_of_work() as uow:
        assert uow.spaces.all() == []


@pytest.mark.parametrize(
    ("action", "error", "message"),
    [
        (lambda uow: uow.sources.add("widgets"), ConflictError, "already exists"),
        (lambda uow: uow.integrations.add_token("gh", token_env="X"), ConflictError, "already"),
        (lambda uow: uow.spaces.add("docs-a"), ConflictError, "already exists"),
        (lambda uow: uow.sources.add("s", repo="github.com/acme"), InvalidInputError, "coordinate"),
        (lambda uow: uow.sources.add("s", branch="a..b"), InvalidInputError, "branch"),
        (lambda uow: uow.sources.add("bad name"), InvalidInputError, "source name"),
        (lambda uow: uow.spaces.add("Docs"), InvalidInputError, "slug"),
        (lambda uow: uow.spaces.add("-docs"), InvalidInputError, "slug"),
        (lambda uow: uow.spaces.add("a" * 64), InvalidInputError, "slug"),
        (
            lambda uow: uow.sources.add("s", repo="github.com/a/b", integration="nope"),
            NotFoundError,
            "integration 'nope' does not exist",
        ),
        (
            lambda uow: uow.sources.add("s", integration="gh"),
            InvalidInputError,
            "needs a repo coordinate",
        ),
        (
            lambda uow: uow.sources.add("s", repo="ghe.corp/a/b", integration="gh"),
            InvalidInputError,
            "is for host 'github.com'",
        ),
        (
            lambda uow: uow.integrations.add_token("t", token_env="NOT-A-VAR"),
            InvalidInputError,
            "environment variable",
        ),
        (
            lambda uow: uow.spaces.bind("docs-a", "widgets", jrn_pattern="a/b*"),
            InvalidInputError,
            "JRN pattern",
        ),
        (lambda uow: uow.spaces.bind("nope", "widgets"), NotFoundError, "space 'nope'"),
        (lambda uow: uow.spaces.unbind("docs-b", "widgets-local"), NotFoundError, "not bound"),
        (lambda uow: uow.docs.put(1, "../escape.md", "x"), InvalidInputError, "'..'"),
    ],
)
def test_failure_paths(database: Database, action, error: type[Exception], message: str) -> None:
    _seed(database)
    with pytest.raises(error, match=message), database.unit_of_work() as uow:
        action(uow)
        uow.commit()


def test_deleting_an_integration_makes_its_sources_virtual(database: Database) -> None:
    _seed(database)
    with database.unit_of_work() as uow:
        uow.integrations.remove("gh")
        uow.commit()
    with database.unit_of_work() as uow:
        source = uow.sources.get_by_name("widgets")
        assert source.integration_id is None
        assert source.kind == "virtual"
        # bindings stay: the space still documents the repository, locally
        assert [b.source_name for b in uow.spaces.get_by_slug("docs-a").bindings] == [
            "widgets",
            "widgets-local",
        ]


def test_deleting_a_source_removes_its_bindings(database: Database) -> None:
    _seed(database)
    with database.unit_of_work() as uow:
        uow.sources.remove("widgets")
        uow.commit()
    with database.unit_of_work() as uow:
        rows = uow.session.scalars(select(BindingRow)).all()
        assert [(r.space.slug, r.source.name) for r in rows] == [("docs-a", "widgets-local")]


def test_binding_upsert(database: Database) -> None:
    _seed(database)
    with database.unit_of_work() as uow:
        disabled = uow.spaces.bind("docs-b", "widgets", enabled=False)
        assert not disabled.enabled
        assert disabled.jrn_pattern == "jrn::path:/**/main"  # kept: no pattern given
        again = uow.spaces.bind("docs-b", "widgets")
        assert not again.enabled  # only what is given changes
        assert again.jrn_pattern == "jrn::path:/**/main"
        enabled = uow.spaces.bind("docs-b", "widgets", enabled=True)
        assert enabled.enabled
        replaced = uow.spaces.bind("docs-b", "widgets", jrn_pattern="jrn::path:/**/Widgets/main")
        assert replaced.jrn_pattern == "jrn::path:/**/Widgets/main"
        assert replaced.enabled
        cleared = uow.spaces.bind("docs-b", "widgets", clear_pattern=True)
        assert cleared.jrn_pattern is None
        uow.commit()
    with database.unit_of_work() as uow:
        assert len(uow.spaces.get_by_slug("docs-b").bindings) == 1


def test_link_promotes_a_virtual_source(database: Database) -> None:
    _seed(database)
    with database.unit_of_work() as uow:
        linked = uow.sources.link("widgets-local", "gh")
        assert linked.kind == "true"
        with pytest.raises(InvalidInputError, match="needs a repo coordinate"):
            uow.sources.add("no-repo")
            uow.sources.link("no-repo", "gh")


def test_integration_status_and_listing(database: Database) -> None:
    _seed(database)
    with database.unit_of_work() as uow:
        uow.integrations.set_status("app", IntegrationStatus.SUSPENDED)
        uow.commit()
    with database.unit_of_work() as uow:
        listed = {i.name: i for i in uow.integrations.all()}
        assert listed["app"].status == IntegrationStatus.SUSPENDED
        assert listed["app"].installation_id == 22
        assert listed["gh"].token_env == "GH_TOKEN"


def test_docs_are_versioned(database: Database) -> None:
    _seed(database)
    with database.unit_of_work() as uow:
        space = uow.spaces.get_by_slug("docs-a")
        first = uow.docs.put(space.id, "./guide\\intro.md", "# one\n")
        assert (first.path, first.version) == ("guide/intro.md", 1)
        same = uow.docs.put(space.id, "guide/intro.md", "# one\n")
        assert same.version == 1
        second = uow.docs.put(space.id, "/guide/intro.md", "# two\n")
        assert second.version == 2
        uow.commit()
    with database.unit_of_work() as uow:
        docs = uow.docs.all(uow.spaces.get_by_slug("docs-a").id)
        assert [(d.path, d.version, d.content) for d in docs] == [("guide/intro.md", 2, "# two\n")]


def test_schema_has_the_matching_indexes(database: Database) -> None:
    indexes = {ix["name"] for ix in inspect(database.engine).get_indexes("sources")}
    assert "ix_sources_true_enabled_repo_key" in indexes
    binding_indexes = {ix["name"] for ix in inspect(database.engine).get_indexes("space_sources")}
    assert "ix_space_sources_source_id_enabled" in binding_indexes
