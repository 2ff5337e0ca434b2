"""The consumer's retry schedule: initial delay, doubling, capped; and its stoppable sleep."""

from __future__ import annotations

import asyncio
import time

import pytest

from huleedu_service_libs.kafka.backoff import Backoff, backoff_delay, sleep_unless_stopped


def test_delay_starts_at_initial_doubles_and_stops_at_the_cap() -> None:
    delays = [backoff_delay(n, initial=1.0, maximum=60.0) for n in range(1, 10)]

    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_small_test_delays_follow_the_same_schedule() -> None:
    delays = [backoff_delay(n, initial=0.05, maximum=0.2) for n in range(1, 5)]

    assert delays == pytest.approx([0.05, 0.1, 0.2, 0.2])


def test_endless_retries_stay_at_the_cap_without_overflow() -> None:
    assert backoff_delay(1_000_000, initial=1.0, maximum=60.0) == 60.0


def test_cap_equal_to_initial_means_a_constant_delay() -> None:
    assert [backoff_delay(n, initial=0.5, maximum=0.5) for n in (1, 2, 3)] == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    ("retry", "initial", "maximum"),
    [(0, 1.0, 60.0), (1, 0.0, 60.0), (1, -1.0, 60.0), (1, 2.0, 1.0)],
)
def test_invalid_schedules_are_refused(retry: int, initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match=r"need|count"):
        backoff_delay(retry, initial=initial, maximum=maximum)


def test_backoff_counts_retries_and_starts_over_after_reset() -> None:
    backoff = Backoff(initial=1.0, maximum=3.0)

    first_run = [backoff.next_delay() for _ in range(4)]
    backoff.reset()

    assert first_run == [1.0, 2.0, 3.0, 3.0]
    assert backoff.next_delay() == 1.0
    assert backoff.retries == 1


def test_backoff_refuses_bounds_at_construction() -> None:
    with pytest.raises(ValueError, match="need"):
        Backoff(initial=5.0, maximum=1.0)


async def test_sleep_returns_as_soon_as_stop_is_set() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    began = time.monotonic()

    await sleep_unless_stopped(stop, 30.0)

    assert time.monotonic() - began < 1.0


async def test_sleep_lasts_its_time_when_not_stopped() -> None:
    began = time.monotonic()

    await sleep_unless_stopped(asyncio.Event(), 0.05)

    assert time.monotonic() - began >= 0.05
