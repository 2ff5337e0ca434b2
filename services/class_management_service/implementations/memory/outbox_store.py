"""In-memory ``OutboxStore`` for ``USE_MOCK_REPOSITORY``: the relay's view of ``Tables.outbox``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from class_management_service.implementations.memory.associations import INBOX
from class_management_service.implementations.memory.store import InMemoryStore, OutboxRow
from class_management_service.protocols import ClockProtocol, ProcessedEvent
from huleedu_service_libs.outbox.records import (
    DestinationStats,
    OutboxRecord,
    OutboxStats,
    truncate_error,
)


def _due_at(row: OutboxRow) -> datetime:
    return row.next_attempt_at if row.next_attempt_at is not None else row.created_at


def _record(row: OutboxRow) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        seq=row.seq,
        destination=row.destination,
        event_type=row.event_type,
        topic=row.topic,
        event_key=row.event_key,
        event_data=row.event_data,
        retry_count=row.retry_count,
    )


def _pending_in_order(rows: Iterable[OutboxRow], destination: str) -> list[OutboxRow]:
    pending = (r for r in rows if r.status == "pending" and r.destination == destination)
    return sorted(pending, key=lambda row: row.seq)


class _MemoryClaim:
    """Changes are kept aside and applied to the store only when the claim commits."""

    def __init__(
        self, records: Sequence[OutboxRecord], next_due_seconds: float | None, clock: ClockProtocol
    ) -> None:
        self._records = records
        self._next_due_seconds = next_due_seconds
        self._clock = clock
        self.changes: dict[UUID, dict[str, Any]] = {}

    @property
    def records(self) -> Sequence[OutboxRecord]:
        return self._records

    @property
    def next_due_seconds(self) -> float | None:
        return self._next_due_seconds

    async def mark_published(self, record: OutboxRecord) -> None:
        self.changes[record.id] = {"status": "published", "published_at": self._clock.now()}

    async def mark_failed(
        self, record: OutboxRecord, *, error: str, retry_delay_seconds: float, park: bool
    ) -> None:
        now = self._clock.now()
        change: dict[str, Any] = {
            "retry_count": record.retry_count + 1,
            "last_error": truncate_error(error),
            "next_attempt_at": now + timedelta(seconds=retry_delay_seconds),
        }
        if park:
            change |= {"status": "failed", "failed_at": now}
        self.changes[record.id] = change


class InMemoryOutboxStore:
    """Claims hold the store lock only to pick and to record, not while publishing, so HTTP
    writes go on meanwhile. Claimed ids play the role of row locks; one instance must serve
    every relay of the process (multi-replica guarantees do not apply in this mode)."""

    def __init__(self, store: InMemoryStore, clock: ClockProtocol) -> None:
        self._store = store
        self._clock = clock
        self._claimed: set[UUID] = set()

    @asynccontextmanager
    async def claim(self, destination: str, limit: int) -> AsyncIterator[_MemoryClaim]:
        async with self._store.lock:
            now = self._clock.now()
            rows = self._eligible(destination, now, limit)
            next_due = None if rows else self._next_due_seconds(destination, now)
            ids = {row.id for row in rows}
            self._claimed |= ids
        try:
            claim = _MemoryClaim([_record(row) for row in rows], next_due, self._clock)
            yield claim
            async with self._store.lock:
                # No unit of work is open while we hold the lock, so updating the committed
                # tables in place is what its commit would have done.
                outbox = self._store.tables.outbox
                for row_id, change in claim.changes.items():
                    outbox[row_id] = outbox[row_id].updated(**change)
        finally:
            self._claimed -= ids

    def _eligible(self, destination: str, now: datetime, limit: int) -> list[OutboxRow]:
        """The PostgreSQL store's claim: key heads in (due time, seq) order, then each head's
        following due rows with an equal share of the room left."""
        by_key: dict[str, list[OutboxRow]] = {}
        for row in _pending_in_order(self._store.tables.outbox.values(), destination):
            by_key.setdefault(row.event_key, []).append(row)
        # Only the first pending row of a key may lead; claimed rows still count as pending.
        runs = [
            rows
            for rows in by_key.values()
            if rows[0].id not in self._claimed and _due_at(rows[0]) <= now
        ]
        runs.sort(key=lambda rows: (_due_at(rows[0]), rows[0].seq))
        runs = runs[:limit]
        room = limit - len(runs)
        per_key = room // len(runs) if runs and room >= len(runs) else 0
        claimed: list[OutboxRow] = []
        for rows in runs:
            claimed.append(rows[0])
            for row in rows[1 : 1 + per_key]:
                if _due_at(row) > now:
                    break
                claimed.append(row)
        return sorted(claimed, key=lambda row: row.seq)

    def _next_due_seconds(self, destination: str, now: datetime) -> float | None:
        future = [
            _due_at(row)
            for row in self._store.tables.outbox.values()
            if row.status == "pending" and row.destination == destination and _due_at(row) > now
        ]
        return (min(future) - now).total_seconds() if future else None

    async def stats(self) -> OutboxStats:
        async with self._store.lock:
            rows = list(self._store.tables.outbox.values())
            now = self._clock.now()
        found: dict[str, DestinationStats] = {}
        for destination in {row.destination for row in rows}:
            mine = [row for row in rows if row.destination == destination]
            pending = [row.created_at for row in mine if row.status == "pending"]
            found[destination] = DestinationStats(
                pending=len(pending),
                failed=sum(1 for row in mine if row.status == "failed"),
                oldest_pending_age_seconds=(
                    (now - min(pending)).total_seconds() if pending else None
                ),
            )
        return OutboxStats.of(found)

    async def requeue_failed(self, destination: str | None = None) -> int:
        async with self._store.lock:
            now = self._clock.now()
            outbox = self._store.tables.outbox
            parked = [
                row
                for row in outbox.values()
                if row.status == "failed" and destination in (None, row.destination)
            ]
            for row in parked:
                outbox[row.id] = row.updated(
                    status="pending", retry_count=0, next_attempt_at=now, failed_at=None
                )
        return len(parked)

    async def delete_published_before(self, cutoff: datetime) -> int:
        async with self._store.lock:
            outbox = self._store.tables.outbox
            old = [
                row.id
                for row in outbox.values()
                if row.status == "published"
                and row.published_at is not None
                and row.published_at < cutoff
            ]
            for row_id in old:
                del outbox[row_id]
        return len(old)

    async def delete_processed_events_before(self, cutoff: datetime) -> int:
        async with self._store.lock:
            inbox: dict[UUID, ProcessedEvent] = self._store.tables.extra.get(INBOX, {})
            old = [event_id for event_id, row in inbox.items() if row.processed_at < cutoff]
            for event_id in old:
                del inbox[event_id]
        return len(old)
