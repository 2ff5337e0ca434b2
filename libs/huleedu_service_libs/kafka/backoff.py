"""Consumer retry timing: start at the initial delay, double per retry, stop at the cap."""

from __future__ import annotations

import asyncio
import contextlib

# 2**1000 is still a finite float, and far beyond any cap, so huge retry counts stay finite.
_MAX_EXPONENT = 1000


def backoff_delay(retry: int, *, initial: float, maximum: float) -> float:
    """Seconds before the ``retry``-th retry (from 1): ``min(maximum, initial × 2^(retry − 1))``."""
    if retry < 1:
        raise ValueError("retries count from 1")
    if not 0 < initial <= maximum:
        raise ValueError("need 0 < initial <= maximum")
    return min(maximum, initial * 2.0 ** min(retry - 1, _MAX_EXPONENT))


class Backoff:
    """The delay sequence of one run of failures; ``reset`` after a success."""

    def __init__(self, *, initial: float, maximum: float) -> None:
        backoff_delay(1, initial=initial, maximum=maximum)  # validates the bounds once
        self._initial = initial
        self._maximum = maximum
        self.retries = 0

    def next_delay(self) -> float:
        self.retries += 1
        return backoff_delay(self.retries, initial=self._initial, maximum=self._maximum)

    def reset(self) -> None:
        self.retries = 0


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, returning early as soon as ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))
