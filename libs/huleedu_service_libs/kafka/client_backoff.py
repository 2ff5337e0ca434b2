"""Back-off for aiokafka's metadata refreshes while no broker answers.

aiokafka's producer asks for a metadata refresh on every turn of its sender loop while a
partition has no known leader (after ``NotLeaderForPartitionError``, for instance, when the
broker shuts down under a send), and a refresh against a stopped broker fails at once, so the
loop spins: one core busy and two log records per turn, ~9,000 lines a second, until the broker
returns (the same loop was reported upstream as aio-libs/aiokafka#267). The library has no
setting for it (``retry_backoff_ms`` does not apply to these refreshes), so the client's refresh
is wrapped: after a failed refresh the next one waits, doubling up to a cap, and the first
success resets the wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

RETRY_BACKOFF_MS = 1_000
"""For the producer's and consumer's own retries (the library's default is 100 ms)."""


def bound_metadata_refreshes(
    client: Any, *, initial_seconds: float = 0.5, max_seconds: float = 5.0
) -> None:
    """Install the back-off on an ``AIOKafkaClient`` (``producer.client``, ``consumer._client``)
    before it starts. Every caller of a forced refresh waits with it, which is the point: the
    sender loop turns once per refresh."""
    refresh: Callable[[Any, Any], Awaitable[bool]] = client._metadata_update
    delay = initial_seconds

    async def refresh_with_backoff(cluster_metadata: Any, topics: Any) -> bool:
        nonlocal delay
        updated = await refresh(cluster_metadata, topics)
        if updated:
            delay = initial_seconds
            return True
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_seconds)
        return False

    client._metadata_update = refresh_with_backoff
