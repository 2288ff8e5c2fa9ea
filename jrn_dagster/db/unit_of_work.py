"""One transaction, the repositories that work inside it, and the database they talk to."""

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jrn_dagster.db.engine import SQLITE_IMMEDIATE, create_database_engine, describe_url
from jrn_dagster.db.repositories.changesets import ChangesetRepository
from jrn_dagster.db.repositories.coverage import CoverageRepository
from jrn_dagster.db.repositories.docs import DocRepository
from jrn_dagster.db.repositories.events import WebhookEventRepository
from jrn_dagster.db.repositories.installations import InstallationRepository
from jrn_dagster.db.repositories.integrations import IntegrationRepository
from jrn_dagster.db.repositories.matching import MatchingRepository
from jrn_dagster.db.repositories.sources import SourceRepository
from jrn_dagster.db.repositories.spaces import SpaceRepository


class UnitOfWork:
    """``with db.unit_of_work() as uow: ...; uow.commit()``.

    Nothing is written unless ``commit()`` is called; leaving the block rolls back what was not
    committed, so an error half-way leaves nothing half-written.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.integrations = IntegrationRepository(session)
        self.sources = SourceRepository(session)
        self.spaces = SpaceRepository(session)
        self.docs = DocRepository(session)
        self.events = WebhookEventRepository(session)
        self.matching = MatchingRepository(session)
        self.coverage = CoverageRepository(session)
        self.changesets = ChangesetRepository(session)
        self.installations = InstallationRepository(session)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


class Database:
    """Engine and session factory for one database URL."""

    def __init__(self, url: str, *, timeout_seconds: float | None = None) -> None:
        """``timeout_seconds``: see ``create_database_engine`` (None keeps the defaults)."""
        self.url = url
        self.engine: Engine = create_database_engine(url, timeout_seconds=timeout_seconds)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            self.engine.execution_options(**{SQLITE_IMMEDIATE: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def describe(self) -> str:
        return describe_url(self.engine.url)

    def unit_of_work(self, *, serializable_write: bool = False) -> UnitOfWork:
        """``serializable_write``: on SQLite take the write lock at BEGIN, for read-then-write
        sections that must not interleave (on PostgreSQL those use row locks instead)."""
        factory = self._write_sessions if serializable_write else self._sessions
        return UnitOfWork(factory())

    def dispose(self) -> None:
        self.engine.dispose()
