"""The retry delay rule of data-model.md §7.3 and the parking decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huleedu_service_libs.outbox.backoff import RetryPolicy, backoff_delay


def no_jitter(_low: float, _high: float) -> float:
    return 1.0


def test_the_delay_starts_at_initial_and_doubles_per_failure() -> None:
    delays = [
        backoff_delay(n, initial_seconds=1.0, max_seconds=300.0, jitter=no_jitter)
        for n in range(1, 7)
    ]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def test_the_delay_is_capped_before_jitter() -> None:
    assert backoff_delay(10, initial_seconds=1.0, max_seconds=300.0, jitter=no_jitter) == 300.0
    highest = backoff_delay(10, initial_seconds=1.0, max_seconds=300.0, jitter=lambda _, b: b)
    assert highest == pytest.approx(360.0)


def test_jitter_is_drawn_between_80_and_120_percent() -> None:
    drawn: list[tuple[float, float]] = []

    def spy(low: float, high: float) -> float:
        drawn.append((low, high))
        return low

    assert backoff_delay(3, initial_seconds=0.5, max_seconds=60, jitter=spy) == pytest.approx(1.6)
    assert drawn == [(0.8, 1.2)]


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    initial=st.floats(min_value=0.001, max_value=100),
    extra=st.floats(min_value=0, max_value=1000),
)
def test_the_random_delay_stays_within_the_jitter_band(
    attempt: int, initial: float, extra: float
) -> None:
    maximum = initial + extra
    base = min(maximum, initial * 2.0 ** min(attempt - 1, 63))
    delay = backoff_delay(attempt, initial_seconds=initial, max_seconds=maximum)
    assert 0.8 * base <= delay <= 1.2 * base


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        backoff_delay(0, initial_seconds=1, max_seconds=2)


def test_a_row_is_parked_when_its_failures_reach_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, initial_seconds=1.0, max_seconds=10.0, jitter=no_jitter)

    decisions = [policy.after_failure(retry_count) for retry_count in range(3)]

    assert [(d.retry_count, d.park) for d in decisions] == [(1, False), (2, False), (3, True)]
    assert [d.retry_delay_seconds for d in decisions] == [1.0, 2.0, 4.0]


def test_one_attempt_parks_on_the_first_failure() -> None:
    assert RetryPolicy(1, 1.0, 1.0).after_failure(0).park


@pytest.mark.parametrize(
    ("max_attempts", "initial", "maximum"), [(0, 1.0, 2.0), (1, 0.0, 1.0), (1, 2.0, 1.0)]
)
def test_invalid_policies_are_refused(max_attempts: int, initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(max_attempts, initial, maximum)
