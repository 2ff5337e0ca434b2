"""Waiting that any of several events can cut short; the relay's only way to pause."""

from __future__ import annotations

import asyncio


async def wait_any(*events: asyncio.Event, seconds: float) -> bool:
    """Wait until one of ``events`` is set or ``seconds`` pass; ``True`` if one was set."""
    if any(event.is_set() for event in events):
        return True
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        done, _ = await asyncio.wait(
            waiters, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)
