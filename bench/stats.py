"""Percentiles (nearest rank) and the latency summary every case reports in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence; 0 for an empty one."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def ms(value: float) -> float:
        return round(value * 1000, 3)

    return {
        "p50": ms(percentile(ordered, 50)),
        "p90": ms(percentile(ordered, 90)),
        "p95": ms(percentile(ordered, 95)),
        "p99": ms(percentile(ordered, 99)),
        "p999": ms(percentile(ordered, 99.9)),
        "mean": ms(sum(ordered) / len(ordered)) if ordered else 0.0,
        "max": ms(ordered[-1]) if ordered else 0.0,
    }


def wrk_latency_ms(latency_us: dict[str, float]) -> dict[str, float]:
    """wrk's microsecond figures in the same shape as ``latency_summary``."""
    keys = ("p50", "p90", "p95", "p99", "p999", "mean", "max")
    return {key: round(latency_us[key] / 1000, 3) for key in keys}
