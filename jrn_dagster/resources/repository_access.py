import os

from dagster import ConfigurableResource
from pydantic import Field

from jrn_dagster.domain.coordinates import RepoCoordinate, validate_clone_url_template
from jrn_dagster.domain.records import Integration
from jrn_dagster.services.checkout import CLONE_URL_TEMPLATE_ENV, CREDENTIAL_HOSTS_ENV
from jrn_dagster.services.credentials import (
    GITHUB_API_URL_ENV,
    GitCredential,
    resolve_git_credential,
)


class RepositoryAccessResource(ConfigurableResource):
    """How runs reach repositories: where a coordinate is cloned from, and with what credentials.

    Credentials are resolved when a clone needs them, from the env vars an integration names
    (or by minting a GitHub App installation token), never at import or load time.
    """

    clone_url_template: str | None = Field(
        default=None,
        description="Maps a coordinate to a clone URL with {host}, {owner}, {repo}; default "
        "https://{host}/{owner}/{repo}.git, or JRN_CLONE_URL_TEMPLATE when set.",
    )
    credential_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts besides the integration's own that may receive its credential: a git "
        "mirror or proxy the clone URL template names. Default: JRN_CREDENTIAL_HOSTS "
        "(comma-separated); a clone URL on any other host is fetched without a credential.",
    )
    github_api_url: str | None = Field(
        default=None,
        description="GitHub REST API root for minting App tokens; default https://api.github.com "
        "or https://HOST/api/v3 (JRN_GITHUB_API_URL overrides, e.g. for a proxy).",
    )
    git_timeout_seconds: float = Field(default=600, gt=0, description="limit for one clone")
    git_retry_delays_seconds: list[float] = Field(
        default=[2.0, 8.0],
        description="Waits before retrying a git command that failed in transport (connection "
        "refused, 5xx); auth and not-found errors are never retried. The op then retries the "
        "whole step with backoff.",
    )

    def resolved_clone_url_template(self) -> str | None:
        template = self.clone_url_template or os.environ.get(CLONE_URL_TEMPLATE_ENV) or None
        return validate_clone_url_template(template) if template else None

    def resolved_credential_hosts(self) -> list[str]:
        declared = self.credential_hosts or os.environ.get(CREDENTIAL_HOSTS_ENV, "").split(",")
        return [host.strip().lower() for host in declared if host.strip()]

    def credential(self, integration: Integration, coordinate: RepoCoordinate) -> GitCredential:
        """Raises ``CredentialError`` (with ``retryable``) saying what to fix."""
        return resolve_git_credential(
            integration,
            coordinate,
            api_base_url=self.github_api_url or os.environ.get(GITHUB_API_URL_ENV) or None,
        )
