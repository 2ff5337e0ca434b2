"""Dead-letter reasons and the headers added to a record copied to the DLQ topic."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from common_core.timeutil import to_iso_z
from common_core.topics import BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC, SERVICE_NAME

DLQ_ERROR_MAX_CHARS = 1000


class DlqReason(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_ENVELOPE = "invalid_envelope"
    UNEXPECTED_EVENT_TYPE = "unexpected_event_type"
    SCHEMA_INVALID = "schema_invalid"
    CLASS_NOT_FOUND = "class_not_found"
    BATCH_CLASS_MISMATCH = "batch_class_mismatch"
    PROCESSING_FAILED = "processing_failed"


def truncate_error(text: str, limit: int = DLQ_ERROR_MAX_CHARS) -> str:
    """One-line error text of at most ``limit`` characters (a header, not a stack trace)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[: limit - 1] + "…"


def dlq_headers(
    *,
    original_headers: Iterable[tuple[str, bytes | None]] | None,
    reason: DlqReason,
    error: str,
    partition: int,
    offset: int,
    consumer_group: str,
    failed_at: datetime,
    original_topic: str = BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC,
) -> list[tuple[str, bytes | None]]:
    """The original headers unchanged, followed by the ``dlq_*`` headers (UTF-8 strings)."""
    added = (
        ("dlq_reason", str(reason)),
        ("dlq_error", truncate_error(error)),
        ("dlq_original_topic", original_topic),
        ("dlq_original_partition", str(partition)),
        ("dlq_original_offset", str(offset)),
        ("dlq_consumer_group", consumer_group),
        ("dlq_failed_at", to_iso_z(failed_at)),
        ("dlq_source_service", SERVICE_NAME),
    )
    headers: list[tuple[str, bytes | None]] = list(original_headers or ())
    headers.extend((name, value.encode("utf-8")) for name, value in added)
    return headers
