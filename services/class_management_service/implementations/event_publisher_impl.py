"""``OutboxEventPublisherImpl``: events as outbox rows in the open transaction, in seq order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from class_management_service.implementations.postgres.session_connection import SessionConnection
from common_core.wire import encode_json
from huleedu_service_libs.outbox.message import OutboxMessage

# One statement per call, not one execution per row (an executemany makes PostgreSQL run a
# single-row INSERT per message): the messages travel as one array per column.
# ORDER BY ordinality makes the identity hand out seq in the order of ``messages``; the relay's
# per-key ordering relies on it. seq comes from the identity column and created_at /
# next_attempt_at from now(): the relay compares next_attempt_at with the database clock, so the
# database sets it. event_data arrives as JSON text and is stored as written.
_INSERT = text(
    "INSERT INTO event_outbox (id, destination, aggregate_type, aggregate_id, event_type,"
    " topic, event_key, event_data, status)"
    " SELECT gen_random_uuid(), m.destination, m.aggregate_type, m.aggregate_id, m.event_type,"
    " m.topic, m.event_key, CAST(m.event_data AS json), 'pending'"
    " FROM unnest(CAST(:destinations AS text[]), CAST(:aggregate_types AS text[]),"
    " CAST(:aggregate_ids AS text[]), CAST(:event_types AS text[]), CAST(:topics AS text[]),"
    " CAST(:event_keys AS text[]), CAST(:event_data AS text[]))"
    " WITH ORDINALITY AS m(destination, aggregate_type, aggregate_id, event_type, topic,"
    " event_key, event_data, ordinality)"
    " ORDER BY m.ordinality"
)


def _arrays(messages: Sequence[OutboxMessage]) -> dict[str, list[Any]]:
    return {
        "destinations": [m.destination for m in messages],
        "aggregate_types": [m.aggregate_type for m in messages],
        "aggregate_ids": [m.aggregate_id for m in messages],
        "event_types": [m.event_type for m in messages],
        "topics": [m.topic for m in messages],
        "event_keys": [m.event_key for m in messages],
        "event_data": [encode_json(m.event_data).decode() for m in messages],
    }


class OutboxEventPublisherImpl:
    def __init__(self, connection: SessionConnection) -> None:
        self._connection = connection

    async def publish(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            await self._connection.execute(_INSERT, _arrays(messages))
