"""What makes a delivery acceptable, for the HTTP receiver and ``jrn-dagster events ingest`` alike.

Transport checks (signature, content type, header presence) belong to the receiver; everything
about the delivery itself (ids, JSON, the push payload) is decided here, once.
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.installations import (
    LIFECYCLE_EVENT_TYPES,
    InstallationChange,
    normalize_installation_event,
)
from jrn_dagster.domain.push import PushEvent, normalize_push

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# GitHub caps webhook payloads at 25 MB and does not deliver larger ones.
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024
# GitHub's payloads nest about 6 levels; deeper is refused before anything recurses over it.
MAX_JSON_DEPTH = 64
PING_EVENT = "ping"
HANDLED_EVENT_TYPES = frozenset({"push", *LIFECYCLE_EVENT_TYPES})

# Kept with the event, in GitHub's spelling. Never the signature headers.
KEPT_HEADERS = (
    "X-GitHub-Hook-ID",
    "X-GitHub-Hook-Installation-Target-ID",
    "X-GitHub-Hook-Installation-Target-Type",
    "X-GitHub-Enterprise-Host",
    "X-GitHub-Enterprise-Version",
    "User-Agent",
)
MAX_KEPT_HEADER_LENGTH = 256

# GitHub sends GUIDs; the column holds 200 characters. No spaces or controls: ids reach logs.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,99}")
# Characters PostgreSQL's jsonb cannot hold: NUL and unpaired UTF-16 surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")


class DeliveryKind(StrEnum):
    PING = "ping"
    HANDLED = "handled"
    UNHANDLED = "unhandled"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A validated delivery, ready to store (or to acknowledge, for ping and unhandled types)."""

    delivery_id: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]
    push: PushEvent | None
    # GitHub App lifecycle (installation, installation_repositories): applied where it is stored.
    installation: InstallationChange | None = None

    @property
    def kind(self) -> DeliveryKind:
        if self.event_type == PING_EVENT:
            return DeliveryKind.PING
        if self.event_type in HANDLED_EVENT_TYPES:
            return DeliveryKind.HANDLED
        return DeliveryKind.UNHANDLED


def prepare_delivery(
    *, event_type: str, delivery_id: str, body: bytes, headers: Mapping[str, str]
) -> Delivery:
    """Validate one delivery. Raises ``InvalidInputError`` with a one-line reason.

    A push payload must normalise (a tag push or a branch deletion does: it is stored and starts
    nothing); one that does not is refused, so the sensor never meets a payload it cannot read.
    GitHub App lifecycle payloads must normalise too: storing one changes integrations.
    """
    event_type = validate_event_type(event_type)
    delivery_id = validate_delivery_id(delivery_id)
    if len(body) > MAX_PAYLOAD_BYTES:
        raise InvalidInputError(f"payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    payload = parse_json_object(body)
    push = normalize_push(payload) if event_type == "push" else None
    installation = (
        normalize_installation_event(event_type, payload)
        if event_type in LIFECYCLE_EVENT_TYPES
        else None
    )
    return Delivery(
        delivery_id=delivery_id,
        event_type=event_type,
        payload=payload,
        headers=kept_headers(headers),
        push=push,
        installation=installation,
    )


def validate_delivery_id(value: str) -> str:
    if not _DELIVERY_ID.fullmatch(value):
        raise InvalidInputError(
            f"invalid delivery id {_preview(value)}: expected a GUID "
            "(up to 200 letters, digits, '.', '_', ':' and '-')"
        )
    return value


def validate_event_type(value: str) -> str:
    if not _EVENT_TYPE.fullmatch(value):
        raise InvalidInputError(
            f"invalid event type {_preview(value)}: expected a GitHub event name such as push"
        )
    return value


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Strict JSON (UTF-8, finite numbers) whose top level is an object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("payload is not UTF-8 text") from None
    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int64
        )
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"payload is not valid JSON: {error.msg} at {error.pos}") from None
    except (ValueError, RecursionError) as error:
        raise InvalidInputError(f"payload is not valid JSON: {_reason(error)}") from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"payload must be a JSON object, got a JSON {_json_type(value)}")
    # Fewer brackets than the limit cannot nest deeper than it (a cheap, C-speed count).
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _nested_deeper(value):
        raise InvalidInputError(
            f"payload is not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
        )
    # Raw JSON text cannot carry NUL or a lone surrogate unescaped: only \u escapes make them.
    return _storable(value) if "\\u" in text else value


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth keeping, by GitHub's name, printable and bounded."""
    lowered = {name.lower(): value for name, value in headers.items()}
    kept = {}
    for name in KEPT_HEADERS:
        value = lowered.get(name.lower())
        if value:
            kept[name] = _PRINTABLE_ASCII.sub("?", value)[:MAX_KEPT_HEADER_LENGTH]
    return kept


def read_limited(stream: IO[bytes], limit: int = MAX_PAYLOAD_BYTES) -> bytes:
    """Read a whole payload, refusing one over ``limit`` without holding more than limit + 1."""
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise InvalidInputError(f"payload is larger than {limit} bytes")
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _int64(text: str) -> int:
    """Every integer of a payload fits a signed 64-bit column: one that does not could be stored
    but never queried (PostgreSQL's bigint, SQLite's integer), so it is refused at the door."""
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"number {text[:40]} is out of range (signed 64-bit integers only)")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _nested_deeper(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether containers nest deeper than ``limit``; iterative, so depth cannot exhaust the
    stack (``_storable``, normalisation and the database's JSON encoder all recurse)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _storable(value: Any) -> Any:
    """Replace NUL and unpaired surrogates with U+FFFD, in keys and strings.

    PostgreSQL's jsonb refuses both; both databases get the same text so that an event reads
    the same wherever it is stored.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_UNSTORABLE.sub("\ufffd", key): _storable(item) for key, item in value.items()}
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


def _reason(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).splitlines()[0][:120]


def _preview(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")
