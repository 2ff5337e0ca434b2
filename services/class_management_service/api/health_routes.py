"""``/healthz``: dependency and worker status (http-api.md §11.1)."""

import asyncio
from typing import Any

import structlog
from dishka import FromDishka
from quart import Blueprint, Response, current_app
from quart_dishka import inject
from quart_schema import document_response, tag

from class_management_service import SERVICE_NAME, SERVICE_VERSION
from class_management_service.api.health_probes import (
    outbox_status,
    outbox_unavailable,
    probe_database,
    probe_kafka,
    probe_redis,
    read_outbox,
)
from class_management_service.api.representations import Health
from class_management_service.background import Background
from class_management_service.config import Settings
from huleedu_service_libs.http.responses import json_response
from huleedu_service_libs.outbox.metrics import OutboxMetrics
from huleedu_service_libs.outbox.ports import OutboxStore

blueprint = Blueprint("health", __name__)
logger = structlog.get_logger(__name__)

BACKGROUND_KEY = "cms_background"


def overall_status(dependencies: dict[str, dict[str, Any]], workers: dict[str, str]) -> str:
    if dependencies["database"]["status"] == "unhealthy" or "stopped" in workers.values():
        return "unhealthy"
    if (
        dependencies["kafka"]["status"] == "unhealthy"
        or dependencies["redis"]["status"] == "unhealthy"
        or dependencies["outbox"]["status"] == "degraded"
    ):
        return "degraded"
    return "healthy"


async def _report(
    settings: Settings, store: OutboxStore, metrics: OutboxMetrics
) -> tuple[dict[str, Any], int]:
    limit = settings.health_check_timeout_seconds
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    database, kafka, redis, stats = await asyncio.gather(
        probe_database(getattr(current_app, "database_engine", None), limit),
        probe_kafka(settings.kafka_bootstrap_servers, limit),
        probe_redis(redis_url, limit),
        read_outbox(store, limit),
    )
    enabled = {
        name
        for name, on in (
            ("kafka", kafka["status"] != "disabled"),
            ("redis", redis["status"] != "disabled"),
        )
        if on
    }
    if isinstance(stats, str):
        outbox = outbox_unavailable(stats)
    else:
        metrics.observe(stats)
        outbox = outbox_status(stats, enabled, settings.outbox_health_max_age_seconds)
    dependencies = {"database": database, "kafka": kafka, "redis": redis, "outbox": outbox}
    background: Background = current_app.extensions[BACKGROUND_KEY]
    workers: dict[str, str] = dict(background.workers.statuses())
    status = overall_status(dependencies, workers)
    body = {
        "service": SERVICE_NAME,
        "status": status,
        "message": f"Class Management Service is {status}",
        "version": SERVICE_VERSION,
        "environment": settings.environment.value,
        "checks": {
            "service_responsive": True,
            "dependencies_available": all(
                item["status"] != "unhealthy" for item in dependencies.values()
            ),
        },
        "dependencies": dependencies,
        "workers": workers,
    }
    return body, 503 if status == "unhealthy" else 200


@blueprint.get("/healthz")
@tag(["operations"])
@document_response(Health, 200)
@document_response(Health, 503)
@inject
async def healthz(
    settings: FromDishka[Settings],
    store: FromDishka[OutboxStore],
    metrics: FromDishka[OutboxMetrics],
) -> Response:
    """Dependency and worker status of this replica."""
    try:
        body, status_code = await _report(settings, store, metrics)
    except Exception as exc:  # the contract's fallback body when the health handler itself fails
        logger.exception("health_check_failed")
        body = {
            "service": SERVICE_NAME,
            "status": "unhealthy",
            "message": "Health check failed",
            "version": SERVICE_VERSION,
            "error": type(exc).__name__,
        }
        status_code = 503
    return json_response(body, status=status_code)
