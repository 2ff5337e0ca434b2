"""Retry timing of outbox rows and relays: capped exponential backoff with ±20 % jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

# 2**63 seconds already dwarfs any cap; stopping the exponent there keeps the float finite.
_MAX_EXPONENT = 63

Jitter = Callable[[float, float], float]


def backoff_delay(
    attempt: int,
    *,
    initial_seconds: float,
    max_seconds: float,
    jitter: Jitter = random.uniform,
) -> float:
    """``min(max, initial × 2^(attempt − 1)) × uniform(0.8, 1.2)`` for the ``attempt``-th failure.

    ``attempt`` counts from 1 (the first failure waits about ``initial_seconds``).
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    base = min(max_seconds, initial_seconds * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
    return base * jitter(0.8, 1.2)


@dataclass(frozen=True, slots=True)
class FailureDecision:
    """What a failed publish does to its row: the new ``retry_count`` and either a retry delay
    or parking."""

    retry_count: int
    park: bool
    retry_delay_seconds: float


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    initial_seconds: float
    max_seconds: float
    jitter: Jitter = random.uniform

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 < self.initial_seconds <= self.max_seconds:
            raise ValueError("initial_seconds must be > 0 and <= max_seconds")

    def delay(self, attempt: int) -> float:
        return backoff_delay(
            attempt,
            initial_seconds=self.initial_seconds,
            max_seconds=self.max_seconds,
            jitter=self.jitter,
        )

    def after_failure(self, retry_count: int) -> FailureDecision:
        """Decide for a row that had ``retry_count`` failed attempts before this one."""
        failures = retry_count + 1
        return FailureDecision(
            retry_count=failures,
            park=failures >= self.max_attempts,
            retry_delay_seconds=self.delay(failures),
        )
