"""The printed summary of make bench copes with every case's summary shape."""

from __future__ import annotations

import json

from bench.report import table


def test_a_summary_without_a_target_is_printed_as_a_figure() -> None:
    results = {
        "cases": {},
        "summary": {
            "takeover": {"headline": "seconds for migrate to take over", "value": 14.4},
            "get_class": {
                "headline": "requests_per_s at concurrency 10",
                "value": 858.0,
                "p95_ms": 17.3,
                "fraction_of_raw": 0.2,
                "target": {"requests_per_s": 1500.0},
                "met": False,
            },
            "relay": {"status": "not_available", "reason": "no broker"},
        },
    }
    printed = table(json.loads(json.dumps(results)))
    lines = {line.split()[0]: line for line in printed.splitlines()[-3:]}
    assert "14.4 (seconds for migrate to take over)" in lines["takeover"]
    assert "target" not in lines["takeover"]
    assert lines["get_class"].endswith("target {'requests_per_s': 1500.0}: MISSED")
    assert "not_available: no broker" in lines["relay"]
