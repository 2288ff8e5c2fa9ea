"""The Dagster resource for reaching repositories: builds the git adapter (clone URL template,
credentials, timeouts) a run's steps use."""

from dagster import ConfigurableResource
from pydantic import Field

from jrn_dagster.adapters.git import GitRepositories


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

    def build(self) -> GitRepositories:
        """The git adapter with these settings (environment variables fill what is unset)."""
        return GitRepositories.from_environment(
            clone_url_template=self.clone_url_template or None,
            credential_hosts=self.credential_hosts,
            github_api_url=self.github_api_url,
            timeout_seconds=self.git_timeout_seconds,
            retry_delays=self.git_retry_delays_seconds,
        )
