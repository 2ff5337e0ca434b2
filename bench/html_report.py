"""``make bench``'s HTML report: the run's figures as charts, in one self-contained file.

Written next to the JSON (``bench-<stamp>.html`` and ``latest.html``). plotly draws the charts;
its script is embedded once, so the file opens offline and can be mailed or attached to an issue.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.io import to_html
from plotly.subplots import make_subplots

SERVICE_COLOUR = "#1f77b4"
RAW_COLOUR = "#7f7f7f"


def _series(by_concurrency: dict[str, Any], *path: str) -> tuple[list[int], list[float]]:
    """(concurrencies ascending, the figure at ``path`` for each) of one operation."""
    points = []
    for concurrency, item in by_concurrency.items():
        value: Any = item
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            points.append((int(concurrency), float(value)))
    points.sort()
    return [c for c, _ in points], [v for _, v in points]


def http_figure(results: dict[str, Any], metric: str) -> go.Figure | None:
    """One panel per operation: ``metric`` ("throughput" or "p95") by concurrency, service
    against raw_asyncpg (the same SQL on a bare asyncpg pool)."""
    http = results["cases"].get("http", {})
    raw = results["cases"].get("raw_asyncpg", {})
    operations = sorted(http)
    if not operations:
        return None
    path = ("requests_per_s",) if metric == "throughput" else ("latency_ms", "p95")
    unit = "requests/s" if metric == "throughput" else "p95 latency, ms"
    columns = min(3, len(operations))
    rows = -(-len(operations) // columns)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=operations)
    for index, operation in enumerate(operations):
        row, col = index // columns + 1, index % columns + 1
        for label, source, colour in (
            ("service", http, SERVICE_COLOUR),
            ("raw_asyncpg", raw, RAW_COLOUR),
        ):
            xs, ys = _series(source.get(operation, {}), *path)
            if not xs:
                continue
            figure.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    name=label,
                    legendgroup=label,
                    showlegend=index == 0,
                    mode="lines+markers",
                    line={"color": colour},
                ),
                row=row,
                col=col,
            )
        figure.update_xaxes(title_text="concurrency", type="log", row=row, col=col)
        figure.update_yaxes(title_text=unit, rangemode="tozero", row=row, col=col)
    title = "Throughput" if metric == "throughput" else "p95 latency"
    figure.update_layout(
        title=f"{title} by concurrency: the service against raw asyncpg",
        height=320 * rows,
    )
    return figure


def backlog_figure(results: dict[str, Any]) -> go.Figure | None:
    """Pending outbox rows over each write case's run (``OutboxWatch``), one line per
    concurrency: a line that does not come back to zero is delivery falling behind."""
    cases = results["cases"]
    panels: list[tuple[str, dict[str, Any]]] = [
        (operation, cases.get("http", {}).get(operation, {}))
        for operation in ("create_class", "create_student")
    ]
    panels.append(("bulk_import", cases.get("bulk_import", {})))
    panels = [
        (name, runs)
        for name, runs in panels
        if any(isinstance(item, dict) and "outbox" in item for item in runs.values())
    ]
    if not panels:
        return None
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=[name for name, _ in panels])
    for col, (_, runs) in enumerate(panels, start=1):
        for concurrency, item in sorted(runs.items(), key=lambda pair: int(pair[0])):
            timeline = item.get("outbox", {}).get("timeline", []) if isinstance(item, dict) else []
            if not timeline:
                continue
            figure.add_trace(
                go.Scatter(
                    x=[point[0] for point in timeline],
                    y=[point[1] + point[2] for point in timeline],
                    name=f"c={concurrency}",
                    mode="lines",
                ),
                row=1,
                col=col,
            )
        figure.update_xaxes(title_text="seconds into the case", row=1, col=col)
        figure.update_yaxes(title_text="pending outbox rows", rangemode="tozero", row=1, col=col)
    figure.update_layout(title="Outbox backlog during the write cases", height=360)
    return figure


def district_figure(results: dict[str, Any]) -> go.Figure | None:
    """p95 at the headline concurrency on the small database against the district's."""
    district = results["cases"].get("district", {})
    measured = district.get("http", {}) if isinstance(district, dict) else {}
    if not measured:
        return None
    small = results["cases"].get("http", {})
    operations = sorted(measured)
    figure = go.Figure()
    for label, values in (
        (
            "small database",
            [small[op]["10"]["latency_ms"]["p95"] for op in operations],
        ),
        ("district database", [measured[op]["latency_ms"]["p95"] for op in operations]),
    ):
        figure.add_trace(go.Bar(x=operations, y=values, name=label))
    during = district.get("housekeeping", {}).get("get_class_during")
    if during:
        figure.add_trace(
            go.Bar(
                x=["get_class"],
                y=[during["latency_ms"]["p95"]],
                name="district, during housekeeping",
            )
        )
    figure.update_layout(
        title="Scale model: p95 at concurrency 10, small against district database",
        yaxis_title="p95 latency, ms",
        barmode="group",
        height=380,
    )
    return figure


def summary_table(summary: dict[str, Any]) -> str:
    """The headline figures with their targets, as an HTML table."""
    rows = []
    for name, entry in summary.items():
        if not isinstance(entry, dict):
            continue
        met = entry.get("met")
        rows.append(
            "<tr>"
            f"<td>{html.escape(name)}</td>"
            f"<td>{html.escape(str(entry.get('headline', entry.get('status', ''))))}</td>"
            f"<td>{html.escape(str(entry.get('value', entry.get('reason', ''))))}</td>"
            f"<td>{html.escape(str(entry.get('fraction_of_raw', '')))}</td>"
            f"<td>{html.escape(str(entry.get('target', '')))}</td>"
            f"<td>{'yes' if met else 'no' if met is not None else ''}</td>"
            "</tr>"
        )
    return (
        "<table><thead><tr><th>case</th><th>figure</th><th>value</th><th>ratio to raw</th>"
        "<th>target</th><th>met</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def render(results: dict[str, Any]) -> str:
    figures = [
        figure
        for figure in (
            http_figure(results, "throughput"),
            http_figure(results, "p95"),
            backlog_figure(results),
            district_figure(results),
        )
        if figure is not None
    ]
    # The first chart carries plotly's script (inline), the others reuse it.
    charts = [
        to_html(figure, full_html=False, include_plotlyjs="inline" if index == 0 else False)
        for index, figure in enumerate(figures)
    ]
    started = html.escape(str(results.get("started_at", "")))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Class Management Service benchmark</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Class Management Service benchmark</h1><p>Run started {started}.</p>"
        "<h2>Headline figures</h2>"
        + summary_table(results.get("summary", {}))
        + "".join(charts)
        + "</body></html>"
    )


def write_html_report(results: dict[str, Any], json_path: Path) -> Path:
    """``<json_path>.html`` and ``latest.html`` beside it."""
    text = render(results)
    path = json_path.with_suffix(".html")
    path.write_text(text)
    (json_path.parent / "latest.html").write_text(text)
    return path
