"""GitHub App installations as lifecycle deliveries describe them, and the integrations that
follow them. Applied in the transaction that stores the delivery."""

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jrn_dagster.db.models import (
    GitHubInstallationRepositoryRow,
    GitHubInstallationRow,
    IntegrationRow,
)
from jrn_dagster.db.types import utcnow
from jrn_dagster.db.upsert import insert_ignoring_conflicts
from jrn_dagster.domain.installations import (
    InstallationChange,
    InstallationEffect,
    InstallationState,
    IntegrationChange,
    integration_status_after,
)
from jrn_dagster.domain.records import IntegrationKind, IntegrationStatus

# Rows per INSERT: far below PostgreSQL's 65535 bind parameters and SQLite's 32766.
_UPSERT_BATCH = 500


class InstallationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def state(self, host: str, installation_id: int) -> tuple[InstallationState, int] | None:
        """The installation's last known state and the event that set it (None: unknown)."""
        row = self._session.get(GitHubInstallationRow, (host, installation_id))
        return (InstallationState(row.state), row.event_id) if row is not None else None

    def apply(self, change: InstallationChange, event_id: int) -> InstallationEffect:
        """Record what delivery ``event_id`` says and make the installation's integrations
        follow (``integration_status_after``). Deliveries apply in the order they are stored;
        a deleted installation stays deleted."""
        row, state_before = self._locked_installation(change, event_id)
        if state_before is InstallationState.DELETED:
            return InstallationEffect(
                state_before=state_before,
                state_after=state_before,
                ignored=(
                    f"GitHub App installation {change.installation_id} was deleted "
                    f"(event {row.event_id}); installation ids are not reused"
                ),
            )
        state_after = change.state or state_before or InstallationState.ACTIVE
        row.state = state_after.value
        row.app_id = change.app_id or row.app_id
        row.account = change.account or row.account
        row.repository_selection = change.repository_selection or row.repository_selection
        row.event_id = event_id
        self._session.flush()
        self._record_repositories(change, event_id)
        integrations = self._follow(change, state_after) if change.state is not None else []
        return InstallationEffect(
            state_before=state_before,
            state_after=state_after,
            integrations=integrations,
            repositories_covered=len(change.covered),
            repositories_removed=len(change.removed),
        )

    def _locked_installation(
        self, change: InstallationChange, event_id: int
    ) -> tuple[GitHubInstallationRow, InstallationState | None]:
        """The installation's row, created if new, locked until the transaction ends (two
        receivers storing deliveries of one installation apply them one after the other)."""
        created = self._session.execute(
            insert_ignoring_conflicts(
                self._session,
                GitHubInstallationRow,
                ["host", "installation_id"],
                host=change.host,
                installation_id=change.installation_id,
                state=(change.state or InstallationState.ACTIVE).value,
                event_id=event_id,
                updated_at=utcnow(),
            ).returning(GitHubInstallationRow.host)
        ).first()
        row = self._session.scalars(
            select(GitHubInstallationRow)
            .where(
                GitHubInstallationRow.host == change.host,
                GitHubInstallationRow.installation_id == change.installation_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        return row, None if created is not None else InstallationState(row.state)

    def _record_repositories(self, change: InstallationChange, event_id: int) -> None:
        if change.covers_all:
            # Every repository of the account is covered: none is lost any more.
            self._session.execute(
                update(GitHubInstallationRepositoryRow)
                .where(
                    GitHubInstallationRepositoryRow.host == change.host,
                    GitHubInstallationRepositoryRow.installation_id == change.installation_id,
                    ~GitHubInstallationRepositoryRow.covered,
                )
                .values(covered=True, event_id=event_id, updated_at=utcnow())
            )
        # Removed wins over covered for a repository listed in both.
        listed = {r.coordinate_key: (r, True) for r in change.covered}
        listed.update({r.coordinate_key: (r, False) for r in change.removed})
        now = utcnow()
        rows = [
            {
                "host": change.host,
                "installation_id": change.installation_id,
                "repo_key": key,
                "full_name": repository.full_name,
                "repository_id": repository.repository_id,
                "covered": covered,
                "event_id": event_id,
                "updated_at": now,
            }
            for key, (repository, covered) in listed.items()
        ]
        module = postgresql if self._session.get_bind().dialect.name == "postgresql" else sqlite
        for start in range(0, len(rows), _UPSERT_BATCH):
            batch = rows[start : start + _UPSERT_BATCH]
            statement = module.insert(GitHubInstallationRepositoryRow).values(batch)
            self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=["host", "installation_id", "repo_key"],
                    set_={
                        name: statement.excluded[name]
                        for name in (
                            "full_name",
                            "repository_id",
                            "covered",
                            "event_id",
                            "updated_at",
                        )
                    },
                )
            )

    def _follow(
        self, change: InstallationChange, state: InstallationState
    ) -> list[IntegrationChange]:
        changes = []
        rows = self._session.scalars(
            select(IntegrationRow)
            .where(
                IntegrationRow.kind == IntegrationKind.GITHUB_APP.value,
                IntegrationRow.host == change.host,
                IntegrationRow.installation_id == change.installation_id,
            )
            .order_by(IntegrationRow.id)
            .with_for_update()
        )
        for row in rows:
            before = IntegrationStatus(row.status)
            after = integration_status_after(before, state)
            if after is not before:
                row.status = after.value
                changes.append(IntegrationChange(row.name, before, after))
        self._session.flush()
        return changes
