"""``/healthz``: dependency and worker status (http-api.md §11.1)."""

import asyncio
import time
from typing import Any

from dishka import FromDishka
from quart import Blueprint, Response, current_app
from quart_dishka import inject
from sqlalchemy import text

from class_management_service import SERVICE_NAME, SERVICE_VERSION
from class_management_service.config import Settings
from huleedu_service_libs.http.responses import json_response

blueprint = Blueprint("health", __name__)


async def _database_status(limit_seconds: float) -> dict[str, Any]:
    engine = getattr(current_app, "database_engine", None)
    if engine is None:
        return {"status": "disabled"}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_seconds), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # a probe reports every failure as unhealthy, never raises
        return {"status": "unhealthy", "error": type(exc).__name__}
    return {
        "status": "healthy",
        "response_time_ms": round((time.perf_counter() - started) * 1000, 1),
    }


@blueprint.get("/healthz")
@inject
async def healthz(settings: FromDishka[Settings]) -> Response:
    database = await _database_status(settings.health_check_timeout_seconds)
    dependencies = {
        "database": database,
        "kafka": {"status": "disabled"},
        "redis": {"status": "disabled"},
    }
    unhealthy = database["status"] == "unhealthy"
    status = "unhealthy" if unhealthy else "healthy"
    body = {
        "service": SERVICE_NAME,
        "status": status,
        "message": f"Class Management Service is {status}",
        "version": SERVICE_VERSION,
        "environment": settings.environment.value,
        "checks": {"service_responsive": True, "dependencies_available": not unhealthy},
        "dependencies": dependencies,
        "workers": {},
    }
    return json_response(body, status=503 if unhealthy else 200)
