"""``OutboxStore`` on PostgreSQL: claims of key heads (``FOR UPDATE SKIP LOCKED``) and the rows
behind them, held open while publishing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Integer,
    Row,
    String,
    Uuid,
    bindparam,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import TextClause

from huleedu_service_libs.outbox.records import (
    DestinationStats,
    OutboxRecord,
    OutboxStats,
    truncate_error,
)

DELETE_CHUNK_ROWS = 1000

# Step 1 of the relay algorithm (data-model.md §7.3): HEADS finds key heads, LOCK locks them,
# TAILS adds the rows behind them. Each statement is shaped so that its plan does not depend on
# the table's statistics, which are always stale in the one moment that matters: right after a
# burst (a bulk import) fills an outbox whose last ANALYZE saw no pending row at all, the planner
# believes the partial indexes hold one row, and a single-statement claim was planned as a scan
# of every pending row per window row (2 s per claim at 25,000 pending rows).
#
# HEADS reads, without locking, the first `window` due rows of the destination in
# ix_event_outbox_pending's own order, so its cost is bounded by the window, not by how many rows
# wait behind one key (the old unbounded scan probed all 10,000 rows of a one-key backlog to find
# one head). Only each key's earliest row in the window can be its head, so one probe per key
# tells whether it is the key's first pending row. The probe is a correlated scalar subquery,
# which PostgreSQL runs per row and cannot turn into a join over all pending rows; asking for the
# key's first row in seq order (not "an earlier row") leaves ix_event_outbox_pending_key, which
# holds each key's rows in that order, as the one index that answers it without a sort, whatever
# the statistics say. The literal 'pending' (never a bind parameter) lets the planner match the
# partial indexes under a generic prepared plan. With `window` NULL (LIMIT NULL is no limit) it
# is the full scan, used only when the window held no head (its rows all wait behind heads held
# by another relay or not yet due), so heads further back are never starved.
HEADS_SQL = """
SELECT w.id
FROM (
    SELECT DISTINCT ON (c.event_key) c.id, c.destination, c.event_key, c.seq, c.next_attempt_at
    FROM (
        SELECT o.id, o.destination, o.event_key, o.seq, o.next_attempt_at
        FROM event_outbox AS o
        WHERE o.status = 'pending'
          AND o.destination = :destination
          AND o.next_attempt_at <= now()
        ORDER BY o.next_attempt_at, o.seq
        LIMIT :window
    ) AS c
    ORDER BY c.event_key, c.seq
) AS w
WHERE (
    SELECT first.seq
    FROM event_outbox AS first
    WHERE first.status = 'pending'
      AND first.destination = w.destination
      AND first.event_key = w.event_key
    ORDER BY first.seq
    LIMIT 1
) = w.seq
ORDER BY w.next_attempt_at, w.seq
LIMIT :limit
"""

# LOCK takes the heads found by primary key; with no status condition no partial index can
# serve it. A head locked by another relay is skipped, and the later rows of its key stay
# blocked because every probe still sees it pending: no key is worked on by two relays. One
# that another relay published meanwhile comes back with its new status and is dropped.
LOCK_SQL = """
SELECT id, seq, destination, event_type, topic, event_key, event_data, retry_count, status
FROM event_outbox
WHERE id = ANY(:ids)
ORDER BY next_attempt_at, seq
FOR UPDATE SKIP LOCKED
"""

# TAILS reads, for each locked head, the rows that follow it in its key, so a one-key backlog
# leaves a claim at a time instead of a row at a time. They need no lock of their own: while
# the head is locked and pending, every other relay's probe finds it and leaves its key alone.
# `due` lets the claim stop a key at its first row still waiting for a retry.
TAILS_SQL = """
SELECT t.id, t.seq, t.destination, t.event_type, t.topic, t.event_key, t.event_data,
       t.retry_count, t.next_attempt_at <= now() AS due
FROM unnest(CAST(:keys AS text[]), CAST(:seqs AS bigint[])) AS head(event_key, seq)
CROSS JOIN LATERAL (
    SELECT *
    FROM event_outbox AS t
    WHERE t.status = 'pending'
      AND t.destination = :destination
      AND t.event_key = head.event_key
      AND t.seq > head.seq
    ORDER BY t.seq
    LIMIT :per_key
) AS t
ORDER BY t.event_key, t.seq
"""

_ROW_COLUMNS = {
    "id": Uuid,
    "seq": BigInteger,
    "destination": String,
    "event_type": String,
    "topic": String,
    "event_key": String,
    "event_data": JSON,
    "retry_count": Integer,
}
HEADS_QUERY = (
    text(HEADS_SQL)
    .bindparams(
        bindparam("destination", type_=String),
        bindparam("window", type_=Integer),
        bindparam("limit", type_=Integer),
    )
    .columns(id=Uuid)
)
LOCK_QUERY = (
    text(LOCK_SQL)
    .bindparams(bindparam("ids", type_=ARRAY(Uuid())))
    .columns(**_ROW_COLUMNS, status=String)
)
TAILS_QUERY = (
    text(TAILS_SQL)
    .bindparams(
        bindparam("destination", type_=String),
        bindparam("keys", type_=ARRAY(String())),
        bindparam("seqs", type_=ARRAY(BigInteger())),
        bindparam("per_key", type_=Integer),
    )
    .columns(**_ROW_COLUMNS, due=Boolean)
)
# How many due rows the bounded head scan looks at, as a multiple of the claim's limit.
WINDOW_FACTOR = 2


def _record(row: Row[Any]) -> OutboxRecord:
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


def _with_tails(heads: list[OutboxRecord], tails: Sequence[Row[Any]]) -> list[OutboxRecord]:
    """Each key's run from its head up to its first row not yet due, in seq order overall."""
    stopped: set[str] = set()
    records = list(heads)
    for row in tails:  # ordered by key, then seq
        if row.event_key in stopped:
            continue
        if not row.due:
            stopped.add(row.event_key)
            continue
        records.append(_record(row))
    records.sort(key=lambda record: record.seq)
    return records


# Only future times matter: a due row that was not claimed is blocked by an earlier row of its key
# (whose own time is then the one to wait for) or locked by another relay.
_NEXT_DUE = text(
    """
    SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp())::float8 AS seconds
    FROM event_outbox
    WHERE status = 'pending' AND destination = :destination AND next_attempt_at > now()
    """
).columns(seconds=Float)

# clock_timestamp(), not now(): publishing may take a while after the claim's transaction began.
_MARK_PUBLISHED = text(
    """
    UPDATE event_outbox
    SET status = 'published', published_at = clock_timestamp()
    WHERE id = ANY(:ids)
    """
).bindparams(bindparam("ids", type_=ARRAY(Uuid())))

_MARK_RETRY = text(
    """
    UPDATE event_outbox
    SET retry_count = retry_count + 1,
        last_error = :error,
        next_attempt_at = clock_timestamp() + make_interval(secs => :delay)
    WHERE id = :id
    """
)

_MARK_PARKED = text(
    """
    UPDATE event_outbox
    SET retry_count = retry_count + 1,
        last_error = :error,
        next_attempt_at = clock_timestamp() + make_interval(secs => :delay),
        status = 'failed',
        failed_at = clock_timestamp()
    WHERE id = :id
    """
)

_STATS = text(
    """
    SELECT destination,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           extract(epoch FROM clock_timestamp()
                   - min(created_at) FILTER (WHERE status = 'pending'))::float8 AS oldest
    FROM event_outbox
    WHERE status IN ('pending', 'failed')
    GROUP BY destination
    """
).columns(destination=String, pending=Integer, failed=Integer, oldest=Float)

# data-model.md §7.3: the parked row becomes eligible right away with a fresh attempt budget.
_REQUEUE_SQL = """
    UPDATE event_outbox
    SET status = 'pending', retry_count = 0, next_attempt_at = now(), failed_at = NULL
    WHERE status = 'failed'
    """
_REQUEUE_ALL = text(_REQUEUE_SQL)
_REQUEUE_DESTINATION = text(_REQUEUE_SQL + " AND destination = :destination")

# Chunks keep each delete's locks and WAL small; SKIP LOCKED lets housekeepers of several
# replicas share the work instead of queueing behind each other.
_DELETE_PUBLISHED = text(
    """
    DELETE FROM event_outbox
    WHERE id IN (
        SELECT id FROM event_outbox
        WHERE status = 'published' AND published_at < :cutoff
        LIMIT :chunk
        FOR UPDATE SKIP LOCKED
    )
    """
)

_DELETE_PROCESSED = text(
    """
    DELETE FROM processed_events
    WHERE event_id IN (
        SELECT event_id FROM processed_events
        WHERE processed_at < :cutoff
        LIMIT :chunk
        FOR UPDATE SKIP LOCKED
    )
    """
)


class _PostgresClaim:
    def __init__(
        self,
        connection: AsyncConnection,
        records: Sequence[OutboxRecord],
        next_due_seconds: float | None,
    ) -> None:
        self._connection = connection
        self._records = records
        self._next_due_seconds = next_due_seconds
        self._published: list[UUID] = []

    @property
    def records(self) -> Sequence[OutboxRecord]:
        return self._records

    @property
    def next_due_seconds(self) -> float | None:
        return self._next_due_seconds

    async def mark_published(self, record: OutboxRecord) -> None:
        # Collected and written in one statement when the claim commits.
        self._published.append(record.id)

    async def mark_failed(
        self, record: OutboxRecord, *, error: str, retry_delay_seconds: float, park: bool
    ) -> None:
        await self._connection.execute(
            _MARK_PARKED if park else _MARK_RETRY,
            {"id": record.id, "error": truncate_error(error), "delay": retry_delay_seconds},
        )

    async def flush(self) -> None:
        if self._published:
            await self._connection.execute(_MARK_PUBLISHED, {"ids": self._published})


class PostgresOutboxStore:
    """The ``event_outbox`` / ``processed_events`` tables of ``data-model.md`` §6–§7."""

    def __init__(self, engine: AsyncEngine, *, delete_chunk_rows: int = DELETE_CHUNK_ROWS) -> None:
        if not 1 <= delete_chunk_rows <= DELETE_CHUNK_ROWS:
            raise ValueError(f"delete_chunk_rows must be within 1..{DELETE_CHUNK_ROWS}")
        self._engine = engine
        self._chunk = delete_chunk_rows

    @asynccontextmanager
    async def claim(self, destination: str, limit: int) -> AsyncIterator[_PostgresClaim]:
        async with self._engine.begin() as connection:
            records = await self._claim_rows(connection, destination, limit)
            next_due = None
            if not records:
                next_due = (
                    await connection.execute(_NEXT_DUE, {"destination": destination})
                ).scalar_one()
            claim = _PostgresClaim(connection, records, next_due)
            yield claim
            await claim.flush()

    async def _claim_rows(
        self, connection: AsyncConnection, destination: str, limit: int
    ) -> list[OutboxRecord]:
        ids: list[UUID] = []
        for window in (limit * WINDOW_FACTOR, None):
            ids = list(
                (
                    await connection.execute(
                        HEADS_QUERY,
                        {"destination": destination, "window": window, "limit": limit},
                    )
                ).scalars()
            )
            if ids:
                break
        if not ids:
            return []
        locked = await connection.execute(LOCK_QUERY, {"ids": ids})
        heads = [_record(row) for row in locked if row.status == "pending"]
        room = limit - len(heads)
        if not heads or room < len(heads):
            return heads
        tails = await connection.execute(
            TAILS_QUERY,
            {
                "destination": destination,
                "keys": [head.event_key for head in heads],
                "seqs": [head.seq for head in heads],
                # An equal share of the room for every key keeps the claim within `limit`.
                "per_key": room // len(heads),
            },
        )
        return _with_tails(heads, tails.all())

    async def stats(self) -> OutboxStats:
        async with self._engine.connect() as connection:
            rows = (await connection.execute(_STATS)).all()
        return OutboxStats.of(
            {
                row.destination: DestinationStats(
                    pending=row.pending, failed=row.failed, oldest_pending_age_seconds=row.oldest
                )
                for row in rows
            }
        )

    async def requeue_failed(self, destination: str | None = None) -> int:
        async with self._engine.begin() as connection:
            if destination is None:
                result = await connection.execute(_REQUEUE_ALL)
            else:
                result = await connection.execute(
                    _REQUEUE_DESTINATION, {"destination": destination}
                )
        return result.rowcount

    async def delete_published_before(self, cutoff: datetime) -> int:
        return await self._delete_in_chunks(_DELETE_PUBLISHED, cutoff)

    async def delete_processed_events_before(self, cutoff: datetime) -> int:
        return await self._delete_in_chunks(_DELETE_PROCESSED, cutoff)

    async def _delete_in_chunks(self, statement: TextClause, cutoff: datetime) -> int:
        if cutoff.tzinfo is None:
            raise ValueError("cutoff must be timezone-aware")
        total = 0
        while True:
            # One transaction per chunk, so a long purge never holds locks for its whole run.
            async with self._engine.begin() as connection:
                result = await connection.execute(
                    statement, {"cutoff": cutoff, "chunk": self._chunk}
                )
            total += result.rowcount
            if result.rowcount < self._chunk:
                return total
