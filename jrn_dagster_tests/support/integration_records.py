"""Integration rows for credential tests (the read model, as the repositories return it)."""

from datetime import UTC, datetime

from jrn_dagster.domain.records import Integration, IntegrationKind, IntegrationStatus

APP_ID = 123
INSTALLATION_ID = 42


def integration(**changes: object) -> Integration:
    fields: dict[str, object] = {
        "id": 7,
        "name": "acme",
        "kind": IntegrationKind.GITHUB_APP,
        "host": "github.com",
        "status": IntegrationStatus.ACTIVE,
        "token_env": None,
        "app_id": APP_ID,
        "installation_id": INSTALLATION_ID,
        "private_key_env": "ACME_APP_KEY",
        "created_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
    }
    fields.update(changes)
    return Integration.model_validate(fields)


def token_integration(**changes: object) -> Integration:
    return integration(
        kind=IntegrationKind.TOKEN,
        token_env="ACME_GIT_TOKEN",
        app_id=None,
        installation_id=None,
        private_key_env=None,
        **changes,
    )
