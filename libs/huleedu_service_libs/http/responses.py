"""JSON responses with the platform's wire encoding of UUIDs, timestamps and enums."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from quart import Response

from common_core.timeutil import to_iso_z

JSON_MEDIA_TYPE = "application/json"


def _encode_default(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)  # str(UUID) is always the lower-case canonical form
    if isinstance(value, datetime):
        return to_iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        # Python mode keeps UUIDs and datetimes, so they come back here for the platform format.
        return value.model_dump()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON; UUIDs lower-case, datetimes as UTC ``...Z``."""
    return json.dumps(
        payload, default=_encode_default, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A ``Content-Type: application/json`` response for ``payload``."""
    return Response(
        dumps(payload),
        status=status,
        headers=dict(headers) if headers else None,
        content_type=JSON_MEDIA_TYPE,
    )
