"""Canonical UUID text: 36 characters, 8-4-4-4-12 hex digits, either case."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from pydantic import BeforeValidator

CANONICAL_UUID_MESSAGE = "must be a UUID in canonical form (8-4-4-4-12 hex digits)"

# uuid.UUID() alone also accepts braces, "urn:uuid:" and no hyphens; the contract forbids them.
_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def canonical_uuid(text: str) -> UUID | None:
    """The UUID written canonically in ``text``, or None for any other form."""
    if _CANONICAL_UUID.fullmatch(text) is None:
        return None
    return UUID(text)


def _validate_canonical(value: object) -> object:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and (parsed := canonical_uuid(value)) is not None:
        return parsed
    raise ValueError(CANONICAL_UUID_MESSAGE)


CanonicalUUID = Annotated[UUID, BeforeValidator(_validate_canonical)]
"""A pydantic field type for UUIDs in request bodies: canonical text only."""
