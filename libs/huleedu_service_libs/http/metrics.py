"""Prometheus HTTP metrics by route template, and the ``/metrics`` exposition."""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from quart import Quart, Response, g, request
from quart_schema import tag

from huleedu_service_libs.http.openapi_document import document_media
from huleedu_service_libs.http.openapi_errors import document_errors

_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
UNMATCHED = "unmatched"
# The classic text format (what generate_latest renders), as the contract names it.
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@functools.lru_cache(maxsize=1024)
def endpoint_label(rule: str | None) -> str:
    """``/v1/classes/<class_id:class_id>`` → ``/v1/classes/{class_id}``; ids never in labels.

    Cached: the rules are the app's fixed set, and this runs twice per request.
    """
    if rule is None:
        return UNMATCHED
    template = _PLACEHOLDER.sub(r"{\1}", rule)
    return template.rstrip("/") or "/"


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry, prefix: str) -> None:
        self.requests = Counter(
            f"{prefix}_http_requests_total",
            "HTTP requests by method, route template and status",
            ["method", "endpoint", "http_status"],
            registry=registry,
        )
        self.duration = Histogram(
            f"{prefix}_http_request_duration_seconds",
            "HTTP request duration by method and route template",
            ["method", "endpoint"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.errors = Counter(
            f"{prefix}_api_errors_total",
            "Error responses by route template and lower-cased error code",
            ["endpoint", "error_type"],
            registry=registry,
        )
        # labels() locks and validates on every call; the label sets are few and fixed.
        self._timers: dict[tuple[str, str], Histogram] = {}
        self._counters: dict[tuple[str, str, int], Counter] = {}

    def observe(self, method: str, endpoint: str, status: int, seconds: float | None) -> None:
        if seconds is not None:
            timer = self._timers.get((method, endpoint))
            if timer is None:
                timer = self._timers[(method, endpoint)] = self.duration.labels(method, endpoint)
            timer.observe(seconds)
        counter = self._counters.get((method, endpoint, status))
        if counter is None:
            counter = self._counters[(method, endpoint, status)] = self.requests.labels(
                method, endpoint, str(status)
            )
        counter.inc()


async def _error_type(response: Response) -> str:
    try:
        body = json.loads(await response.get_data())
        return str(body["error"]["code"]).lower()
    except (ValueError, KeyError, TypeError):
        return "unknown_error"


def register_http_metrics(
    app: Quart,
    registry: CollectorRegistry,
    *,
    prefix: str,
    before_scrape: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Count and time every request, and serve ``GET /metrics`` from ``registry``.

    ``before_scrape`` refreshes gauges that are read from storage (e.g. outbox depth)."""
    metrics = HttpMetrics(registry, prefix)

    @app.before_request
    async def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    async def _observe(response: Response) -> Response:
        endpoint = endpoint_label(request.url_rule.rule if request.url_rule else None)
        started = g.get("metrics_started")
        elapsed = time.perf_counter() - started if isinstance(started, float) else None
        metrics.observe(request.method, endpoint, response.status_code, elapsed)
        if response.status_code >= 400:
            metrics.errors.labels(endpoint, await _error_type(response)).inc()
        return response

    @app.get("/metrics")
    @tag(["operations"])
    @document_media(
        "text/plain", {"type": "string"}, status=200, description="Prometheus text exposition"
    )
    @document_errors(500, 502)
    async def metrics_exposition() -> Response:
        """Prometheus metrics of this replica."""
        if before_scrape is not None:
            await before_scrape()
        return Response(generate_latest(registry), status=200, content_type=PROMETHEUS_CONTENT_TYPE)
