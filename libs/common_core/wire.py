"""Wire encoding primitives: canonical UUIDs, UTC ``Z`` timestamps and compact UTF-8 JSON."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

from common_core.timeutil import to_iso_z

# The contract accepts only the canonical 8-4-4-4-12 form (either letter case); Python's UUID()
# would also take braces, URNs and bare hex, which no platform peer produces.
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def parse_uuid(value: object) -> UUID | None:
    """Return the UUID for a canonical UUID string (any letter case) or UUID, else ``None``."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and _UUID_RE.match(value):
        return UUID(value)
    return None


def _validate_uuid(value: object) -> UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise PydanticCustomError("uuid_parsing", "value is not a valid UUID")
    return parsed


def _validate_utc(value: datetime) -> datetime:
    # A naive value has no defined instant; accepting it would silently shift timestamps.
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("timezone_aware", "timestamp must include a time zone")
    return value.astimezone(UTC)


CanonicalUuid = Annotated[UUID, BeforeValidator(_validate_uuid)]
"""A UUID accepted as a canonical string (any case) or ``uuid.UUID``; JSON: lowercase string."""

UtcDatetime = Annotated[
    datetime,
    AfterValidator(_validate_utc),
    PlainSerializer(to_iso_z, return_type=str, when_used="json"),
]
"""An aware datetime normalised to UTC; JSON: ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""


def encode_json(value: Any) -> bytes:
    """Encode a JSON-ready value as compact UTF-8 JSON (NaN/Infinity are refused, not emitted)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )
