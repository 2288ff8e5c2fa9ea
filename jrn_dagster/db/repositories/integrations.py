from sqlalchemy import select
from sqlalchemy.orm import Session

from jrn_dagster.db.models import GitHubInstallationRow, IntegrationRow
from jrn_dagster.domain.errors import ConflictError, InvalidInputError, NotFoundError
from jrn_dagster.domain.installations import InstallationState, integration_status_after
from jrn_dagster.domain.records import (
    Integration,
    IntegrationKind,
    IntegrationStatus,
)
from jrn_dagster.domain.validation import validate_env_var_name, validate_host, validate_name


class IntegrationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_token(self, name: str, *, token_env: str, host: str = "github.com") -> Integration:
        return self._add(
            name, IntegrationKind.TOKEN, host, token_env=validate_env_var_name(token_env)
        )

    def add_github_app(
        self,
        name: str,
        *,
        app_id: int,
        installation_id: int,
        private_key_env: str,
        host: str = "github.com",
    ) -> Integration:
        """Active, unless lifecycle deliveries already said the installation is suspended or
        deleted: then it starts as GitHub says (``integration_status_after``)."""
        if app_id <= 0 or installation_id <= 0:
            raise InvalidInputError("app id and installation id must be positive integers")
        known = self._session.get(GitHubInstallationRow, (validate_host(host), installation_id))
        status = IntegrationStatus.ACTIVE
        if known is not None:
            status = integration_status_after(status, InstallationState(known.state))
        return self._add(
            name,
            IntegrationKind.GITHUB_APP,
            host,
            status=status,
            app_id=app_id,
            installation_id=installation_id,
            private_key_env=validate_env_var_name(private_key_env),
        )

    def _add(
        self,
        name: str,
        kind: IntegrationKind,
        host: str,
        status: IntegrationStatus = IntegrationStatus.ACTIVE,
        **fields: object,
    ) -> Integration:
        name = validate_name(name, "integration")
        if self._row_by_name(name) is not None:
            raise ConflictError(f"integration {name!r} already exists")
        row = IntegrationRow(
            name=name,
            kind=kind.value,
            host=validate_host(host),
            status=status.value,
            **fields,
        )
        self._session.add(row)
        self._session.flush()
        return Integration.model_validate(row)

    def get(self, integration_id: int) -> Integration:
        row = self._session.get(IntegrationRow, integration_id)
        if row is None:
            raise NotFoundError(f"integration {integration_id} does not exist")
        return Integration.model_validate(row)

    def get_by_name(self, name: str) -> Integration:
        row = self._row_by_name(name)
        if row is None:
            raise NotFoundError(f"integration {name!r} does not exist")
        return Integration.model_validate(row)

    def all(self) -> list[Integration]:
        rows = self._session.scalars(select(IntegrationRow).order_by(IntegrationRow.id))
        return [Integration.model_validate(row) for row in rows]

    def set_status(self, name: str, status: IntegrationStatus) -> Integration:
        row = self._row_by_name(name)
        if row is None:
            raise NotFoundError(f"integration {name!r} does not exist")
        row.status = status.value
        self._session.flush()
        return Integration.model_validate(row)

    def remove(self, name: str) -> None:
        """Its sources stay, as virtual sources (``ON DELETE SET NULL``)."""
        row = self._row_by_name(name)
        if row is None:
            raise NotFoundError(f"integration {name!r} does not exist")
        self._session.delete(row)
        self._session.flush()

    def _row_by_name(self, name: str) -> IntegrationRow | None:
        return self._session.scalar(select(IntegrationRow).where(IntegrationRow.name == name))
