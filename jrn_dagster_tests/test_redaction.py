import base64
import io
import logging
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
from dagster import DagsterInstance, Failure, OpExecutionContext, in_process_executor, job, op

from jrn_dagster.redaction import (
    REDACTED,
    RedactingFilter,
    clear_registered_secrets,
    install_redaction,
    redact,
    redact_value,
    register_secret,
)


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    clear_registered_secrets()
    yield
    clear_registered_secrets()


@pytest.mark.parametrize(
    "token",
    [
        "ghp_" + "a1B2" * 9,
        "gho_" + "Z" * 36,
        "ghu_" + "0" * 36,
        "ghs_" + "abcDEF123456" * 3,
        "ghr_" + "x" * 40,
        "github_pat_11ABCDEFG0_" + "q" * 59,
    ],
)
def test_github_tokens_are_masked_wherever_they_appear(token: str) -> None:
    text = f"fatal: token={token}, retry"
    assert redact(text) == f"fatal: token={REDACTED}, retry"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Basic eC1hY2Nlc3M6c2VjcmV0", f"Authorization: Basic {REDACTED}"),
        ("AUTHORIZATION: basic eC1hY2Nlc3M6c2VjcmV0", f"AUTHORIZATION: basic {REDACTED}"),
        ("authorization: Bearer abc.def.ghi", f"authorization: Bearer {REDACTED}"),
        ("Authorization: token0123456789", f"Authorization: {REDACTED}"),
        (
            "GIT_CONFIG_VALUE_0=Authorization: Basic Zm9vOmJhcg== next",
            f"GIT_CONFIG_VALUE_0=Authorization: Basic {REDACTED} next",
        ),
        ('{"Authorization": "Bearer abc123"}', f'{{"Authorization": "Bearer {REDACTED}"}}'),
    ],
)
def test_authorization_header_values_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "cloning https://x-access-token:s3cr3tvalue@github.com/acme/widgets.git",
            f"cloning https://{REDACTED}@github.com/acme/widgets.git",
        ),
        ("https://onlytoken@github.com/a/b", f"https://{REDACTED}@github.com/a/b"),
        ("no credentials: https://github.com/a/b", "no credentials: https://github.com/a/b"),
    ],
)
def test_url_credentials_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_pem_private_keys_are_masked_even_when_cut_off() -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----"
    assert redact(f"key:\n{key}\nafter") == "key:\n[REDACTED PRIVATE KEY]\nafter"
    truncated = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkq"
    assert "MIIE" not in redact(f"tail: {truncated}")


def test_jwts_are_masked() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz"
    assert redact(f"bearer {token}") == f"bearer {REDACTED}"


def test_registered_secrets_are_masked_in_any_format() -> None:
    register_secret("plain-secret-value")
    register_secret("plain-secret")  # a prefix of the other: the longer one wins
    assert redact("x plain-secret-value y plain-secret z") == f"x {REDACTED} y {REDACTED} z"


@pytest.mark.parametrize("user", ["x-access-token", "u", "ab", "oauth2", ""])
def test_registered_secrets_are_masked_url_encoded_and_inside_any_basic_header(user: str) -> None:
    token = "jrn-T0k3n/with+special=chars&more_0123456789"
    register_secret(token)
    basic = base64.b64encode(f"{user}:{token}".encode()).decode()
    url_safe = base64.urlsafe_b64encode(f"{user}:{token}".encode()).decode()
    text = (
        f"Basic {basic} | {url_safe} | https://h/?t={quote(token, safe='')} | "
        f"form={quote_plus(token)}"
    )
    redacted = redact(text)
    assert token not in redacted and quote(token, safe="") not in redacted
    assert quote_plus(token) not in redacted
    basic_part, url_safe_part = redacted.removeprefix("Basic ").split(" | ")[:2]
    prefix_chars = 4 * -(-(len(user) + 1) // 3)  # base64 of "user:", padded to whole groups
    for part in (basic_part, url_safe_part):
        # What survives is the user name's encoding and a group at each end, never the token.
        before, marker, after = part.partition(REDACTED)
        assert marker and len(before) <= prefix_chars + 4 and len(after) <= 4
    assert redacted.count(REDACTED) == 4


def test_short_or_empty_values_are_not_registered() -> None:
    register_secret("")
    register_secret(None)
    register_secret("abc")
    assert redact("abc is a word") == "abc is a word"


def test_redact_value_walks_nested_structures() -> None:
    register_secret("hunter2-secret")
    value = {
        "argv": ["git", "fetch", "hunter2-secret"],
        "nested": {"pair": ("a", "hunter2-secret"), "n": 3, "set": {"hunter2-secret"}},
        "hunter2-secret": None,
    }
    assert redact_value(value) == {
        "argv": ["git", "fetch", REDACTED],
        "nested": {"pair": ("a", REDACTED), "n": 3, "set": {REDACTED}},
        REDACTED: None,
    }


def _capturing_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(logging.StreamHandler(stream))
    return logger, stream


def test_filter_redacts_message_arguments_and_tracebacks() -> None:
    register_secret("tok-123456789")
    logger, stream = _capturing_logger("jrn_test.redaction.filter")
    install_redaction(logger)
    logger.info("using %s for %s", "tok-123456789", "https://u:p4ss@example.com/x")
    try:
        raise RuntimeError("failed with tok-123456789")
    except RuntimeError:
        logger.exception("clone failed")
    output = stream.getvalue()
    assert "tok-123456789" not in output
    assert "p4ss" not in output
    assert f"using {REDACTED} for https://{REDACTED}@example.com/x" in output
    assert "RuntimeError: failed with [REDACTED]" in output


def test_install_redaction_covers_records_from_child_loggers_and_is_idempotent() -> None:
    register_secret("child-secret-value")
    parent, stream = _capturing_logger("jrn_test.redaction.parent")
    first = install_redaction(parent)
    second = install_redaction(parent)
    assert first is second
    assert sum(isinstance(f, RedactingFilter) for f in parent.filters) == 1
    assert sum(isinstance(f, RedactingFilter) for f in parent.handlers[0].filters) == 1
    child = logging.getLogger("jrn_test.redaction.parent.child")
    child.propagate = True
    child.warning("child says %s", "child-secret-value")
    assert stream.getvalue().strip() == f"child says {REDACTED}"


def test_filter_keeps_records_with_broken_format_strings() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert RedactingFilter().filter(record)
    assert "many" in record.getMessage()


def test_dagster_event_log_entries_are_redacted_through_context_log() -> None:
    secret = "ghs_dagsterlogsecret0123456789abcdef"

    @op
    def uses_a_secret(context: OpExecutionContext) -> None:
        register_secret(secret)
        install_redaction(context.log)
        context.log.info("token %s", secret)
        context.log.warning(f"inline {secret}")
        raise Failure(description=redact(f"failed with {secret}"), allow_retries=False)

    @job(executor_def=in_process_executor)
    def leaky() -> None:
        uses_a_secret()

    with DagsterInstance.ephemeral() as instance:
        result = leaky.execute_in_process(instance=instance, raise_on_error=False)
        entries = instance.all_logs(result.run_id)
    assert not result.success
    everything = "\n".join(
        f"{entry.user_message} {entry.dagster_event and entry.dagster_event.event_specific_data}"
        for entry in entries
    )
    assert secret not in everything
    messages = [entry.user_message for entry in entries]
    assert f"token {REDACTED}" in messages
    assert f"inline {REDACTED}" in messages
    assert f"failed with {REDACTED}" in everything
