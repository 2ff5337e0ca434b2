"""Operator commands on the outbox: status per destination and re-queueing parked rows."""

from __future__ import annotations

from sqlalchemy import text

from class_management_service.config import Settings
from class_management_service.implementations.postgres.embedded import resolve_database_url
from class_management_service.implementations.postgres.engine import create_engine_for_url

_STATUS = text(
    """
    SELECT destination,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'failed') AS parked,
           extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending')) AS age
    FROM event_outbox
    GROUP BY destination
    ORDER BY destination
    """
)

# The contract's re-queue: the row becomes eligible again right away with a fresh attempt budget.
_REQUEUE = text(
    """
    UPDATE event_outbox
    SET status = 'pending', retry_count = 0, next_attempt_at = now(), failed_at = NULL
    WHERE status = 'failed'
    """
)


async def outbox_command(settings: Settings, command: str) -> int:
    if settings.use_mock_repository:
        print("USE_MOCK_REPOSITORY is set: the in-memory outbox lives in the serving process")
        return 2
    url, embedded = await resolve_database_url(settings)
    engine = create_engine_for_url(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            if command == "requeue":
                result = await connection.execute(_REQUEUE)
                print(f"re-queued {result.rowcount} parked row(s)")
                return 0
            rows = (await connection.execute(_STATUS)).all()
    finally:
        await engine.dispose()
        if embedded is not None:
            embedded.stop()
    print(f"{'destination':<12} {'pending':>8} {'parked':>8} {'oldest_pending_s':>17}")
    for destination in ("kafka", "redis"):
        row = next((r for r in rows if r.destination == destination), None)
        pending, parked = (row.pending, row.parked) if row else (0, 0)
        age = f"{row.age:.1f}" if row is not None and row.age is not None else "-"
        print(f"{destination:<12} {pending:>8} {parked:>8} {age:>17}")
    return 0
