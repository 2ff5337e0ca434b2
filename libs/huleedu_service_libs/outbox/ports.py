"""Ports of the relay: where outbox rows are stored and where they are published."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from huleedu_service_libs.outbox.records import OutboxRecord, OutboxStats


class OutboxClaim(Protocol):
    """Rows claimed in one open transaction; it commits when the claim's context exits
    normally and rolls back (recording nothing) when it exits with an exception."""

    @property
    def records(self) -> Sequence[OutboxRecord]:
        """The claimed rows in ``seq`` order: for each key a run of consecutive pending rows
        starting at the key's earliest one, ending before its first row not yet due. Rows of one
        key are published in this order, and a row's failure leaves the rest of its key."""
        ...

    @property
    def next_due_seconds(self) -> float | None:
        """When nothing was claimed: seconds until the earliest future ``next_attempt_at`` of a
        pending row of this destination (``None`` if there is none)."""
        ...

    async def mark_published(self, record: OutboxRecord) -> None:
        """``status = 'published'``, ``published_at = now``."""
        ...

    async def mark_failed(
        self, record: OutboxRecord, *, error: str, retry_delay_seconds: float, park: bool
    ) -> None:
        """``retry_count + 1``, ``last_error``, ``next_attempt_at = now + delay``; with ``park``
        also ``status = 'failed'``, ``failed_at = now``."""
        ...


class OutboxStore(Protocol):
    def claim(self, destination: str, limit: int) -> AbstractAsyncContextManager[OutboxClaim]:
        """Up to ``limit`` rows of ``destination`` (``data-model.md`` §7.3 step 1): the heads of
        keys (pending, due, not held by another relay, no earlier pending row of the key), then
        the due rows that follow each head in its key. No key is held by two claims at once.
        """
        ...

    async def stats(self) -> OutboxStats: ...

    async def requeue_failed(self, destination: str | None = None) -> int:
        """Operator re-queue of parked rows: pending again, fresh attempt budget, due now."""
        ...

    async def delete_published_before(self, cutoff: datetime) -> int:
        """Delete rows published before ``cutoff``, in chunks; the number deleted."""
        ...

    async def delete_processed_events_before(self, cutoff: datetime) -> int:
        """Delete inbox rows processed before ``cutoff``, in chunks; the number deleted."""
        ...


PublishOutcome = Exception | None
"""Per row: ``None`` once the destination acknowledged it, else why it was not."""


class Publisher(Protocol):
    """Sends rows' ``event_data`` to one destination."""

    @property
    def destination(self) -> str: ...

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        """Sends every row at once, the rows of one key in the order given (one partition,
        one connection), and returns when each row is acknowledged or failed: one outcome per
        row, in the order given. Never raises for a row's failure."""
        ...

    async def close(self) -> None: ...
