"""make bench's HTML report: one self-contained file with the run's charts and headline table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.html_report import render, write_html_report


def figures(rps: float, p95: float) -> dict[str, Any]:
    return {"requests_per_s": rps, "latency_ms": {"p50": p95 / 2, "p95": p95, "p99": p95 * 2}}


RESULTS: dict[str, Any] = {
    "started_at": "2026-12-02T12:00:00+00:00",
    "cases": {
        "http": {
            "get_class": {"50": figures(507.0, 181.0), "10": figures(859.0, 17.0)},
            "create_class": {"10": figures(480.0, 31.0)},
        },
        "raw_asyncpg": {
            "get_class": {"10": figures(4300.0, 3.0), "50": figures(4600.0, 12.0)},
            "create_class": {"10": figures(2030.0, 6.0)},
        },
    },
    "summary": {
        "get_class": {
            "headline": "requests_per_s at concurrency 10",
            "value": 859.0,
            "fraction_of_raw": 0.2,
            "target": {"requests_per_s": 1500},
            "met": False,
        },
        "relay": {"status": "not_available", "reason": "no broker"},
    },
}


def plotted(html: str) -> list[dict[str, Any]]:
    """The traces plotly was given, from the page's Plotly.newPlot calls."""
    traces: list[dict[str, Any]] = []
    for call in re.findall(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S):
        traces.extend(json.loads(call))
    return traces


def test_the_report_plots_service_and_raw_by_concurrency_in_order() -> None:
    traces = plotted(render(RESULTS))
    service = [t for t in traces if t["name"] == "service"]
    raw = [t for t in traces if t["name"] == "raw_asyncpg"]
    # Throughput and p95 panels for two operations, each with both series.
    assert len(service) == len(raw) == 4
    get_class_rps = next(t for t in service if t["y"] == [859.0, 507.0])
    assert get_class_rps["x"] == [10, 50]
    assert any(t["y"] == [17.0, 181.0] for t in service)
    assert any(t["y"] == [3.0, 12.0] for t in raw)


def test_the_report_is_self_contained_and_lists_the_headlines() -> None:
    html = render(RESULTS)
    assert not re.search(r"<script[^>]+src=", html)
    assert html.count("plotly.js v") >= 1
    assert "<td>get_class</td>" in html
    assert "<td>no</td>" in html
    assert "not_available" in html


def test_the_report_is_written_beside_the_json(tmp_path: Path) -> None:
    json_path = tmp_path / "bench-20261202T120000Z.json"
    written = write_html_report(RESULTS, json_path)
    assert written == tmp_path / "bench-20261202T120000Z.html"
    assert (tmp_path / "latest.html").read_text() == written.read_text()


def test_the_report_draws_each_write_cases_backlog_and_the_scale_model() -> None:
    results = json.loads(json.dumps(RESULTS))
    create = results["cases"]["http"]["create_class"]["10"]
    create["outbox"] = {"timeline": [[0.0, 0, 0], [0.5, 40, 40], [1.0, 5, 5]]}
    results["cases"]["district"] = {
        "http": {"get_class": figures(800.0, 21.0)},
        "housekeeping": {"get_class_during": figures(700.0, 30.0)},
    }

    traces = plotted(render(results))

    backlog = next(t for t in traces if t["name"] == "c=10")
    assert (backlog["x"], backlog["y"]) == ([0.0, 0.5, 1.0], [0, 80, 10])
    bars = {t["name"]: t["y"] for t in traces if t.get("type") == "bar"}
    assert bars == {
        "small database": [17.0],
        "district database": [21.0],
        "district, during housekeeping": [30.0],
    }
