"""Repeated library records fold into one line per cause and window, with the count."""

from __future__ import annotations

import logging

from huleedu_service_libs.repeated_records import RepeatedRecordFilter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(
    msg: str, *args: object, level: int = logging.WARNING, name: str = "aiokafka"
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeats_within_the_window_are_dropped_and_counted_on_the_next_line() -> None:
    clock = FakeClock()
    folding = RepeatedRecordFilter(60, clock=clock)

    assert folding.filter(_record("Unable connect to node with id %s: %s", 1, "refused"))
    passed = [
        folding.filter(_record("Unable connect to node with id %s: %s", 1, f"attempt {n}"))
        for n in range(500)
    ]
    clock.now += 61
    after_window = _record("Unable connect to node with id %s: %s", 1, "refused")

    assert passed == [False] * 500
    assert folding.filter(after_window)
    assert after_window.repeated == "500 similar records folded in the previous 60 s"  # type: ignore[attr-defined]


def test_each_cause_keeps_its_own_first_line() -> None:
    folding = RepeatedRecordFilter(60, clock=FakeClock())

    assert folding.filter(_record("Unable to update metadata from %r", [1]))
    assert folding.filter(_record("Unable connect to node with id %s", 1))
    assert folding.filter(_record("Unable connect to node with id %s", 1, name="aiokafka.conn"))
    assert folding.filter(_record("Unable connect to node with id %s", 1, level=logging.ERROR))
    assert not folding.filter(_record("Unable to update metadata from %r", [2]))


def test_records_below_the_threshold_are_never_folded() -> None:
    folding = RepeatedRecordFilter(60, clock=FakeClock())

    assert all(folding.filter(_record("Joined group", level=logging.INFO)) for _ in range(5))
