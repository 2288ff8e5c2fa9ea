"""The matching query (docs/contract.md#matching): indexed SQL, true sources only."""

from collections.abc import Sequence

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from jrn_dagster.db.models import (
    BindingRow,
    GitHubInstallationRepositoryRow,
    GitHubInstallationRow,
    IntegrationRow,
    SourceCursorRow,
    SourceRow,
    SpaceRow,
)
from jrn_dagster.db.row_parameters import BIG_INTEGER, TEXT, row_parameters
from jrn_dagster.domain.matching import (
    BindingCandidate,
    InstallationNews,
    PushTarget,
    RepositoryBinding,
    RepositorySource,
)
from jrn_dagster.domain.records import IntegrationKind, IntegrationStatus


class MatchingRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def true_source_bindings(
        self, *, repo_key: str, host: str, branch: str, installation_id: int | None
    ) -> list[BindingCandidate]:
        """One push's candidates: ``true_source_bindings_for`` with a single target."""
        target = PushTarget(repo_key, host, branch, installation_id)
        return self.true_source_bindings_for([target]).get(target, [])

    def true_source_bindings_for(
        self, targets: Sequence[PushTarget]
    ) -> dict[PushTarget, list[BindingCandidate]]:
        """For every target (the repository, host, branch and installation of a push): the
        enabled bindings of non-archived spaces to enabled true sources of that repository and
        branch whose integration is active for the host (and installation, for apps).

        One statement, whatever the number of targets: the targets are a table (one bound
        parameter per column, ``db/row_parameters.py``) joined to the sources
        (docs/contract.md#matching).
        Virtual sources are excluded by the query itself (``integration_id IS NOT NULL`` is
        implied by the inner join and stated for the partial index), so they never reach code.
        """
        unique = list(dict.fromkeys(targets))
        found: dict[PushTarget, list[BindingCandidate]] = {target: [] for target in unique}
        if unique:
            for target, candidate in self._candidates(unique):
                found[target].append(candidate)
        return found

    def _candidates(self, targets: list[PushTarget]) -> list[tuple[PushTarget, BindingCandidate]]:
        pushed = row_parameters(
            self._session,
            "pushed",
            [
                ("repo_key", TEXT),
                ("host", TEXT),
                ("branch", TEXT),
                ("installation_id", BIG_INTEGER),
            ],
            [(t.repo_key, t.host, t.branch, t.installation_id) for t in targets],
        )
        integration_matches = and_(
            IntegrationRow.id == SourceRow.integration_id,
            IntegrationRow.status == IntegrationStatus.ACTIVE.value,
            IntegrationRow.host == pushed.c.host,
            or_(
                IntegrationRow.kind == IntegrationKind.TOKEN.value,
                and_(
                    IntegrationRow.kind == IntegrationKind.GITHUB_APP.value,
                    IntegrationRow.installation_id == pushed.c.installation_id,
                ),
            ),
        )
        # A GitHub App installation covers a repository unless a lifecycle delivery said it
        # lost it (token integrations have no installation, so nothing is ever lost for them).
        lost_by_installation = exists().where(
            GitHubInstallationRepositoryRow.host == IntegrationRow.host,
            GitHubInstallationRepositoryRow.installation_id == IntegrationRow.installation_id,
            GitHubInstallationRepositoryRow.repo_key == SourceRow.repo_key,
            ~GitHubInstallationRepositoryRow.covered,
        )
        query = (
            select(
                pushed.c.repo_key,
                pushed.c.host,
                pushed.c.branch,
                pushed.c.installation_id,
                SourceRow.id,
                IntegrationRow.id,
                SpaceRow.id,
                SpaceRow.slug,
                BindingRow.jrn_pattern,
                SourceCursorRow.head_sha,
            )
            .select_from(pushed)
            .join(
                SourceRow,
                and_(
                    SourceRow.repo_key == pushed.c.repo_key,
                    SourceRow.integration_id.is_not(None),
                    SourceRow.enabled,
                    or_(SourceRow.branch.is_(None), SourceRow.branch == pushed.c.branch),
                ),
            )
            .join(IntegrationRow, integration_matches)
            .join(BindingRow, and_(BindingRow.source_id == SourceRow.id, BindingRow.enabled))
            .join(SpaceRow, and_(SpaceRow.id == BindingRow.space_id, ~SpaceRow.archived))
            .outerjoin(
                SourceCursorRow,
                and_(
                    SourceCursorRow.source_id == SourceRow.id,
                    SourceCursorRow.branch == pushed.c.branch,
                ),
            )
            .where(~lost_by_installation)
            .order_by(SourceRow.id, SpaceRow.id)
        )
        return [
            (
                PushTarget(repo_key, host, branch, installation_id),
                BindingCandidate(
                    source_id=source_id,
                    integration_id=integration_id,
                    space_id=space_id,
                    space_slug=slug,
                    jrn_pattern=pattern,
                    source_cursor=cursor,
                ),
            )
            for (
                repo_key,
                host,
                branch,
                installation_id,
                source_id,
                integration_id,
                space_id,
                slug,
                pattern,
                cursor,
            ) in self._session.execute(query)
        ]

    def repository_sources(self, repo_key: str) -> list[RepositorySource]:
        """Every source of one repository with its integration and bindings, for ``--explain``."""
        rows = self._session.execute(
            select(
                SourceRow, IntegrationRow, GitHubInstallationRow, GitHubInstallationRepositoryRow
            )
            .outerjoin(IntegrationRow, IntegrationRow.id == SourceRow.integration_id)
            .outerjoin(
                GitHubInstallationRow,
                and_(
                    GitHubInstallationRow.host == IntegrationRow.host,
                    GitHubInstallationRow.installation_id == IntegrationRow.installation_id,
                ),
            )
            .outerjoin(
                GitHubInstallationRepositoryRow,
                and_(
                    GitHubInstallationRepositoryRow.host == IntegrationRow.host,
                    GitHubInstallationRepositoryRow.installation_id
                    == IntegrationRow.installation_id,
                    GitHubInstallationRepositoryRow.repo_key == SourceRow.repo_key,
                ),
            )
            .where(SourceRow.repo_key == repo_key)
            .order_by(SourceRow.id)
        ).all()
        bindings: dict[int, list[RepositoryBinding]] = {source.id: [] for source, *_ in rows}
        for binding in self._session.scalars(
            select(BindingRow)
            .where(BindingRow.source_id.in_(list(bindings)))
            .order_by(BindingRow.source_id, BindingRow.space_id)
        ):
            bindings[binding.source_id].append(
                RepositoryBinding(
                    space_id=binding.space_id,
                    space_slug=binding.space.slug,
                    space_archived=binding.space.archived,
                    enabled=binding.enabled,
                    jrn_pattern=binding.jrn_pattern,
                )
            )
        return [
            RepositorySource(
                source_id=source.id,
                source_name=source.name,
                branch=source.branch,
                enabled=source.enabled,
                integration_id=source.integration_id,
                integration_name=integration.name if integration else None,
                integration_kind=integration.kind if integration else None,
                integration_status=integration.status if integration else None,
                integration_host=integration.host if integration else None,
                integration_installation_id=integration.installation_id if integration else None,
                installation=(
                    InstallationNews(installation.state, installation.event_id)
                    if installation
                    else None
                ),
                lost_by_installation=(
                    InstallationNews("lost", repository.event_id)
                    if repository is not None and not repository.covered
                    else None
                ),
                bindings=bindings[source.id],
            )
            for source, integration, installation, repository in rows
        ]
