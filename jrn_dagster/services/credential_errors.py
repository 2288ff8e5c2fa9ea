"""The error credential resolution raises: one line that says what to fix, never a secret."""

from jrn_dagster.redaction import redact


class CredentialError(RuntimeError):
    """Credentials are missing, rejected or could not be obtained.

    ``retryable`` is False when only a human can fix it (a missing env var, a rejected key, an
    unknown installation) and True for transient failures (network, GitHub 5xx).
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(redact(message))
        self.retryable = retryable
