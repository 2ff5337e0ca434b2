"""The benchmark summary judges writes by their events' delivery, not by the request alone."""

from __future__ import annotations

from typing import Any

from bench.config import Targets
from bench.report import build_summary


def write_case(rps: float, p95: float, *, left: int, drain_s: float | None) -> dict[str, Any]:
    met = drain_s is not None and drain_s <= 2.0 and left <= 200
    return {
        "requests_per_s": rps,
        "latency_ms": {"p50": p95 / 2, "p95": p95},
        "errors": 0,
        "cpu_ms_per_request": {"postgres": 1.0},
        "outbox": {"pending_at_end": left, "drain_s": drain_s, "met": met},
    }


def test_a_fast_write_whose_events_lag_behind_misses_its_target() -> None:
    results = {
        "cases": {
            "http": {
                "create_class": {
                    "10": write_case(900.0, 15.0, left=0, drain_s=0.0),
                    "50": write_case(950.0, 60.0, left=4000, drain_s=None),
                }
            }
        }
    }

    entry = build_summary(results, Targets())["create_class"]

    assert entry["outbox"]["by_concurrency"]["50"] == {
        "pending_at_end": 4000,
        "drain_s": None,
        "met": False,
    }
    assert entry["met"] is False


def test_create_student_is_held_to_its_own_target() -> None:
    results = {
        "cases": {"http": {"create_student": {"10": write_case(650.0, 18.0, left=0, drain_s=0.0)}}}
    }

    entry = build_summary(results, Targets())["create_student"]

    assert entry["target"]["requests_per_s"] == 600.0
    assert entry["met"] is True
