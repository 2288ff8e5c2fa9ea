"""Errors become Dagster Failures with a redacted message; only transport errors are retried."""

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Failure, MetadataValue, OpExecutionContext, RetryRequested
from pydantic import ValidationError

from jrn_dagster.domain.errors import ConflictError, InvalidInputError, NotFoundError
from jrn_dagster.domain.impact import AttentionRuleError
from jrn_dagster.ports.agent import AgentError
from jrn_dagster.ports.git import CheckoutError, CredentialError
from jrn_dagster.ports.sandbox import (
    SandboxError,
    SandboxGoneError,
    SandboxUnavailableError,
)
from jrn_dagster.redaction import redact

MAX_TRANSIENT_RETRIES = 4
FIRST_RETRY_DELAY_SECONDS = 5.0

# Errors whose message already says what went wrong and what to fix.
_EXPLAINED = (
    InvalidInputError,
    NotFoundError,
    ConflictError,
    ValidationError,
    AttentionRuleError,
    SandboxError,
    CheckoutError,
    CredentialError,
    AgentError,
)


def _retryable(error: BaseException) -> bool:
    if isinstance(error, CredentialError | CheckoutError):
        return error.retryable
    return isinstance(error, SandboxUnavailableError | TimeoutError | ConnectionError)


def _failure(what: str, error: BaseException, *, hint: str = "") -> Failure:
    return Failure(
        description=redact(f"{what}: {error}{hint}"),
        # The traceback helps whoever debugs; it goes through redaction like everything else.
        metadata={"traceback": MetadataValue.text(redact(traceback.format_exc()))},
        allow_retries=False,
    )


def _retry_number(context: OpExecutionContext) -> int:
    try:
        return context.retry_number
    except Exception:  # direct invocation (build_op_context) has no retry state
        return 0


@contextmanager
def failures_explained(context: OpExecutionContext, what: str) -> Iterator[None]:
    """Transport errors (network, a sandbox that cannot be reached) are retried with
    exponential backoff; validation, auth and "not found" errors fail at once with a message
    that says what to fix; anything else fails without retry, its text redacted."""
    try:
        yield
    except Failure:
        raise
    except Exception as error:
        attempt = _retry_number(context)
        if _retryable(error) and attempt < MAX_TRANSIENT_RETRIES:
            delay = FIRST_RETRY_DELAY_SECONDS * 2**attempt
            context.log.warning(redact(f"{what}: {error}; retrying in {delay:.0f} s"))
            raise RetryRequested(max_retries=MAX_TRANSIENT_RETRIES, seconds_to_wait=delay) from None
        if isinstance(error, SandboxGoneError):
            raise _failure(what, error, hint="; re-execute the run from its first step") from None
        if isinstance(error, _EXPLAINED):
            raise _failure(what, error) from None
        raise _failure(what, error, hint=f" ({type(error).__name__})") from None
