"""One access-log line per request, keyed by the route template."""

from __future__ import annotations

from quart.typing import TestClientProtocol as Client
from structlog.testing import capture_logs

from tests.unit.huleedu_service_libs.http.conftest import CLASS_ID, TEACHER


async def test_one_line_per_request_with_route_template(client: Client) -> None:
    incoming = "1dadebc3-de19-442c-bd92-c7a1c7eae297"

    with capture_logs() as logs:
        await client.get(
            f"/v1/classes/{CLASS_ID}", headers={"X-User-ID": TEACHER, "X-Correlation-ID": incoming}
        )

    lines = [entry for entry in logs if entry["event"] == "http_request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET"
    assert line["route"] == "/v1/classes/{class_id}"
    assert line["status"] == 200
    assert line["correlation_id"] == incoming
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0


async def test_unmatched_routes_log_no_raw_path(client: Client) -> None:
    with capture_logs() as logs:
        await client.get("/v1/secret-looking/path")

    line = next(entry for entry in logs if entry["event"] == "http_request")
    assert line["route"] == "unmatched"
    assert line["status"] == 404
    assert "secret-looking" not in repr(line)


async def test_unexpected_errors_are_logged_with_the_exception(client: Client) -> None:
    with capture_logs() as logs:
        await client.get("/boom")

    failure = next(entry for entry in logs if entry["event"] == "unhandled_exception")
    assert isinstance(failure["exc_info"], RuntimeError)
    assert next(entry for entry in logs if entry["event"] == "http_request")["status"] == 500
