"""PostgreSQL ``InboxProtocol``: ``processed_events`` rows that make consumption idempotent."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from class_management_service.implementations.postgres.session_connection import SessionConnection
from class_management_service.models_db import processed_events
from class_management_service.protocols import ProcessedEvent

# DO NOTHING rather than catching the unique violation: the transaction stays usable, and an
# insert racing a concurrent consumer's uncommitted row waits for it, then sees the duplicate.
_INSERT = (
    insert(processed_events)
    .on_conflict_do_nothing(index_elements=[processed_events.c.event_id])
    .returning(processed_events.c.event_id)
)


class PostgreSQLInbox:
    def __init__(self, connection: SessionConnection) -> None:
        self._connection = connection

    async def add(self, event: ProcessedEvent) -> bool:
        result = await self._connection.execute(
            _INSERT,
            {
                "event_id": event.event_id,
                "event_type": event.event_type,
                "topic": event.topic,
                "kafka_partition": event.partition,
                "kafka_offset": event.offset,
                "correlation_id": event.correlation_id,
                "processed_at": event.processed_at,
            },
        )
        return result.scalar_one_or_none() is not None
