"""A client's metadata refreshes back off while they fail, and reset after one succeeds."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from huleedu_service_libs.kafka.client_backoff import bound_metadata_refreshes


class FakeClient:
    """The one attribute the back-off wraps: a refresh that fails until the broker returns."""

    def __init__(self) -> None:
        self.broker_up = False
        self.attempts: list[float] = []

    async def _metadata_update(self, cluster_metadata: Any, topics: Any) -> bool:
        self.attempts.append(time.monotonic())
        return self.broker_up


async def _force_for(client: Any, seconds: float) -> None:
    """What aiokafka's sender does with no partition leader: refresh, again and again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await client._metadata_update(None, set())


async def test_failed_refreshes_are_spaced_by_a_doubling_delay() -> None:
    client = FakeClient()
    bound_metadata_refreshes(client, initial_seconds=0.02, max_seconds=0.08)

    await _force_for(client, 0.4)

    # Unbounded, this loop makes one attempt per event-loop turn (tens of thousands).
    assert 4 <= len(client.attempts) <= 9
    gaps = [b - a for a, b in zip(client.attempts, client.attempts[1:], strict=False)]
    assert gaps[0] >= 0.015
    assert max(gaps) >= 0.07


async def test_a_successful_refresh_resets_the_delay() -> None:
    client = FakeClient()
    bound_metadata_refreshes(client, initial_seconds=0.02, max_seconds=1.0)
    await _force_for(client, 0.2)  # the delay has grown to 0.16 s
    client.broker_up = True
    assert await client._metadata_update(None, set())
    client.broker_up = False
    started = time.monotonic()

    await client._metadata_update(None, set())

    assert time.monotonic() - started < 0.1
    await asyncio.sleep(0)
