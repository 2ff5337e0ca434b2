"""Path and query parameters: canonical UUIDs, pagination (contract §5), the class-id segment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from werkzeug.routing import BaseConverter

from huleedu_service_libs.error_handling import field_error, invalid_parameter, validation_error
from huleedu_service_libs.http.uuids import CANONICAL_UUID_MESSAGE, canonical_uuid

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
DEFAULT_OFFSET = 0
# PostgreSQL's OFFSET is a bigint; any larger offset is past the end anyway.
MAX_OFFSET = 2**63 - 1


def parse_uuid(value: str, field: str) -> UUID:
    """A canonical UUID (either case), else 400 ``invalid_parameter`` naming ``field``."""
    parsed = canonical_uuid(value)
    if parsed is None:
        raise invalid_parameter(field, CANONICAL_UUID_MESSAGE)
    return parsed


def parse_pagination(args: Mapping[str, str]) -> tuple[int, int]:
    """``(limit, offset)`` from query args; ``limit`` clamped to 100.

    With a werkzeug MultiDict, ``get`` returns the first occurrence of a repeated parameter,
    as the contract requires.
    """
    limit = _decimal(args.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
    offset = _decimal(args.get("offset"), DEFAULT_OFFSET, MAX_OFFSET)
    errors: list[dict[str, Any]] = []
    if limit is None or limit < 1:
        errors.append(field_error("limit", "must be an integer of at least 1 (digits only)"))
    if offset is None:
        errors.append(field_error("offset", "must be an integer of at least 0 (digits only)"))
    if errors or limit is None or offset is None:
        raise validation_error("invalid_parameter", "Request parameter is invalid", errors=errors)
    return limit, offset


def _decimal(raw: str | None, default: int, ceiling: int) -> int | None:
    """ASCII decimal digits as an int capped at ``ceiling``; None when not digits only."""
    if raw is None:
        return default
    # str.isdigit() alone would accept "²" and non-ASCII digits.
    if not (raw.isascii() and raw.isdigit()):
        return None
    digits = raw.lstrip("0") or "0"
    # Capping by length first keeps int() away from huge inputs (and its 4300-digit limit).
    if len(digits) > len(str(ceiling)):
        return ceiling
    return min(int(digits), ceiling)


class ClassIdConverter(BaseConverter):
    """One path segment other than the literal ``students``: use as ``<class_id:class_id>``.

    Werkzeug tries ``/v1/classes/students`` (static) first, but when the method does not fit
    there it falls back to dynamic rules, so ``PUT /v1/classes/students`` would reach the
    ``{class_id}`` rule. Refusing ``students`` here keeps it a 405 for the student list, while
    any other segment still matches so that a malformed id gets 400 from ``parse_uuid``.
    """

    # Werkzeug appends \Z to a segment's pattern, so the lookahead sees the whole segment.
    regex = r"(?!students\Z)[^/]+"
    part_isolating = True
