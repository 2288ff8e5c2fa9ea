"""The one place secrets are scrubbed from text: log lines, Failure messages, metadata values.

Two layers, applied in this order:

1. A process-wide registry of known secret values (``register_secret``): every token this process
   resolves is registered the moment it is read, so it is replaced wherever it appears, whatever
   its format. Its URL-encoded forms and its base64 forms (an HTTP Basic header carries
   ``base64(user:token)``, whatever the user name) are registered with it.
2. Patterns for secrets we did not resolve ourselves but must never print: GitHub tokens,
   ``Authorization`` header values, credentials in URLs, PEM private key blocks and JWTs.

Redaction is deliberately greedy: masking a harmless string costs a little readability, leaking a
credential costs a rotation.
"""

import base64
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
# Shorter values would mask ordinary words; no real credential is this short.
MIN_SECRET_LENGTH = 6
# A base64 fragment this long is never an ordinary word.
MIN_BASE64_FRAGMENT_LENGTH = 12


def _authorization_value(match: re.Match[str]) -> str:
    scheme = match.group(2)
    return f"{match.group(1)}{scheme} {REDACTED}" if scheme else f"{match.group(1)}{REDACTED}"


_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # PEM private keys, also a block cut off before its END line (a truncated stderr tail).
    (
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----"
            r"(?:.*?-----END \1PRIVATE KEY-----|.*\Z)",
            re.DOTALL,
        ),
        "[REDACTED PRIVATE KEY]",
    ),
    # Authorization header values, whatever the scheme and case: "Authorization: Basic abc",
    # "AUTHORIZATION: bearer x", "authorization=token y" (as in GIT_CONFIG_VALUE_0=...).
    (
        re.compile(
            r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)"
            r"(?:(basic|bearer|token|digest|negotiate)\s+)?[^\s\"',;]+"
        ),
        _authorization_value,
    ),
    # GitHub tokens: classic and fine-grained personal, OAuth, user-to-server, server-to-server,
    # refresh tokens.
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    # JSON Web Tokens (the GitHub App JWT): three base64url segments, the first two JSON.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), REDACTED),
    # Userinfo in URLs: https://user:password@host, https://token@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*(?::[^/\s@]*)?@"), r"\1" + REDACTED + "@"),
)


def _base64_fragments(raw: bytes) -> set[str]:
    """What every base64 encoding of a text containing ``raw`` contains, wherever ``raw`` sits.

    base64 turns each 3 bytes into 4 characters, so the encoding of ``raw`` depends on its
    offset modulo 3 in the encoded text (``user:`` before a token in a Basic header shifts it).
    For each of the three offsets, the groups made of ``raw``'s bytes only are the same whatever
    surrounds it: those characters are the fragment (a character or two at each end may differ).
    """
    fragments = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        first_group = 1 if offset else 0
        last_group = (offset + len(raw)) // 3
        fragment = encoded[4 * first_group : 4 * last_group]
        fragments.update({fragment, fragment.replace("+", "-").replace("/", "_")})
    return {f for f in fragments if len(f) >= MIN_BASE64_FRAGMENT_LENGTH}


def _forms(value: str) -> set[str]:
    """``value`` and the spellings it takes in URLs and HTTP headers."""
    forms = {value, quote(value, safe=""), quote_plus(value)} | _base64_fragments(value.encode())
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class _SecretRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        if len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._values:
                return
            self._values.update(_forms(value))
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(item) for item in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(REDACTED, text) if pattern is not None else text


_registry = _SecretRegistry()


def register_secret(value: str | None) -> None:
    """Mask ``value`` (and its URL-encoded and base64 forms) in every later ``redact`` call of
    this process. Values shorter than ``MIN_SECRET_LENGTH`` are ignored (they are not
    credentials and would mask plain words)."""
    if value:
        _registry.add(value)


def clear_registered_secrets() -> None:
    """Forget every registered value (tests only: a running process never forgets a secret)."""
    _registry.clear()


def redact(text: str) -> str:
    """``text`` with every registered secret and every secret-looking pattern replaced."""
    text = _registry.scrub(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """Redact strings inside ``value``: mappings (keys and values), lists, tuples and sets are
    rebuilt recursively; any other object is returned unchanged."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_value(key): redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_value(item) for item in value)
    if isinstance(value, set | frozenset):
        return type(value)(redact_value(item) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record so that no handler can format a secret out of it.

    The message is rendered with its arguments and redacted (``args`` is emptied, so a formatter
    cannot re-render the raw values); the traceback and stack text are rendered and redacted too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A broken format string: keep both halves, redacted, rather than drop the record.
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(logger: logging.Logger) -> RedactingFilter:
    """Add a ``RedactingFilter`` to ``logger`` and to each of its handlers (idempotent).

    A logger's own filters see only records created on that logger; records propagated from child
    loggers are filtered by handlers. Installing on both covers the two paths.
    """
    existing = next((f for f in logger.filters if isinstance(f, RedactingFilter)), None)
    redacting = existing or RedactingFilter()
    if existing is None:
        logger.addFilter(redacting)
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
    return redacting
