"""``X-Hub-Signature-256``: HMAC-SHA256 of the raw request body, keyed by the webhook secret."""

import hashlib
import hmac

from jrn_dagster.domain.errors import InvalidInputError

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_SIGNATURE_LENGTH = len(_PREFIX) + 64


def require_secret(secret: str | None) -> str:
    """The secret to verify against; an empty one would let anyone sign, so it is refused."""
    if secret is None or not secret.strip():
        raise InvalidInputError(
            "refusing an empty webhook secret: it would accept deliveries signed by anyone"
        )
    return secret


def sign(body: bytes, secret: str) -> str:
    """The header value GitHub sends for ``body``: ``sha256=<hex digest>``."""
    digest = hmac.new(require_secret(secret).encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def signer(secret: str) -> "hmac.HMAC":
    """An HMAC to feed the body to piece by piece, as it streams in (``signature_matches``)."""
    return hmac.new(require_secret(secret).encode("utf-8"), digestmod=hashlib.sha256)


def signature_matches(mac: "hmac.HMAC", header: str | None) -> bool:
    """Whether ``header`` is the signature of what ``mac`` was fed; compared in constant time."""
    if header is None or len(header) != _SIGNATURE_LENGTH or not header.startswith(_PREFIX):
        return False
    expected = (_PREFIX + mac.hexdigest()).encode("ascii")
    # Header values arrive as latin-1 text; anything non-ASCII simply fails the comparison.
    received = header.lower().encode("latin-1", errors="replace")
    return hmac.compare_digest(expected, received)


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is the signature of ``body``; compared in constant time."""
    mac = signer(secret)
    mac.update(body)
    return signature_matches(mac, header)
