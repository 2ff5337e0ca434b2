"""``HuleEduError`` raised as the seed writes it renders its code, message and correlation id."""

from __future__ import annotations

from uuid import uuid4

from quart import Response

from common_core.error_enums import ErrorCode
from huleedu_service_libs.error_handling import HuleEduError
from huleedu_service_libs.http import HuleEduApp
from tests.unit.huleedu_service_libs.http.conftest import error_of

EVENT_CORRELATION = uuid4()


def _with_seed_style_routes(app: HuleEduApp) -> HuleEduApp:
    @app.get("/v1/seed/with-correlation")
    async def with_correlation() -> Response:
        raise HuleEduError(
            error_code=ErrorCode.PROCESSING_ERROR,
            message="Student association processing failed",
            correlation_id=EVENT_CORRELATION,
        )

    @app.get("/v1/seed/without-correlation")
    async def without_correlation() -> Response:
        raise HuleEduError(
            error_code=ErrorCode.VALIDATION_ERROR,
            message="Multiple course codes detected in batch, expected single course per class",
        )

    return app


async def test_the_error_names_the_correlation_id_it_was_raised_with(app: HuleEduApp) -> None:
    client = _with_seed_style_routes(app).test_client()
    response = await client.get("/v1/seed/with-correlation")

    assert response.status_code == 500
    error = error_of(await response.get_json())
    assert error["code"] == "PROCESSING_ERROR"
    assert error["message"] == "Student association processing failed"
    assert error["correlation_id"] == str(EVENT_CORRELATION)


async def test_without_one_the_error_carries_the_requests_correlation_id(
    app: HuleEduApp,
) -> None:
    client = _with_seed_style_routes(app).test_client()
    request_correlation = str(uuid4())
    response = await client.get(
        "/v1/seed/without-correlation", headers={"X-Correlation-ID": request_correlation}
    )

    assert response.status_code == 400
    error = error_of(await response.get_json())
    assert error["code"] == "VALIDATION_ERROR"
    assert error["correlation_id"] == request_correlation
    assert response.headers["X-Correlation-ID"] == request_correlation
