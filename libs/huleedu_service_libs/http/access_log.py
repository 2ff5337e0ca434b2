"""One structured access-log line per request."""

from __future__ import annotations

import time

import structlog
from quart import Quart, Response, g, request

from huleedu_service_libs.http.correlation import current_correlation_id
from huleedu_service_libs.http.metrics import endpoint_label

logger = structlog.get_logger("huleedu.access")


async def _start_timer() -> None:
    g.access_log_started = time.perf_counter()


async def _log_request(response: Response) -> Response:
    started = g.get("access_log_started")
    duration_ms = (
        round((time.perf_counter() - started) * 1000, 3) if isinstance(started, float) else None
    )
    # The route template, never the raw path: paths carry ids and would explode log cardinality.
    # Spelled as the metrics' endpoint label ("/v1/classes/{class_id}", "unmatched"), so a log
    # line and its series can be matched by eye.
    route = endpoint_label(request.url_rule.rule if request.url_rule is not None else None)
    logger.info(
        "http_request",
        method=request.method,
        route=route,
        status=response.status_code,
        duration_ms=duration_ms,
        correlation_id=str(current_correlation_id()),
    )
    return response


def register_access_log(app: Quart) -> None:
    """Log method, route template, status, duration and correlation id after each request.

    Register before other before_request hooks so the timer starts first.
    """
    app.before_request(_start_timer)
    app.after_request(_log_request)
