"""Per-dependency probes of ``/healthz``: each returns a status object and never raises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from huleedu_service_libs.outbox.ports import OutboxStore
from huleedu_service_libs.outbox.records import OutboxStats

DISABLED: dict[str, Any] = {"status": "disabled"}


def _short_error(exc: Exception, limit_seconds: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {limit_seconds:g} s"
    return type(exc).__name__


async def _timed(check: Callable[[], Awaitable[None]], limit_seconds: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_seconds):
            await check()
    except Exception as exc:  # a probe reports every failure, it never raises
        return {"status": "unhealthy", "error": _short_error(exc, limit_seconds)}
    elapsed_ms = (time.perf_counter() - started) * 1000
    return {"status": "healthy", "response_time_ms": round(elapsed_ms, 1)}


async def probe_database(engine: AsyncEngine | None, limit_seconds: float) -> dict[str, Any]:
    if engine is None:
        return dict(DISABLED)

    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return await _timed(check, limit_seconds)


async def probe_kafka(bootstrap_servers: str | None, limit_seconds: float) -> dict[str, Any]:
    if bootstrap_servers is None:
        return dict(DISABLED)

    async def check() -> None:
        client = AIOKafkaClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=max(int(limit_seconds * 1000), 1000),
        )
        try:
            await client.bootstrap()  # a cluster metadata request
        finally:
            await client.close()

    return await _timed(check, limit_seconds)


async def probe_redis(url: str | None, limit_seconds: float) -> dict[str, Any]:
    if url is None:
        return dict(DISABLED)

    async def check() -> None:
        client = Redis.from_url(url, socket_connect_timeout=limit_seconds)
        try:
            await client.ping()
        finally:
            await client.aclose()

    return await _timed(check, limit_seconds)


async def read_outbox(store: OutboxStore, limit_seconds: float) -> OutboxStats | str:
    """The outbox counts, or a short error when they cannot be read (database down).

    Bounded like the probes, so an unreachable database cannot hang ``/healthz``."""
    try:
        async with asyncio.timeout(limit_seconds):
            return await store.stats()
    except Exception as exc:
        return _short_error(exc, limit_seconds)


def outbox_unavailable(error: str) -> dict[str, Any]:
    """Counts unknown: ``degraded`` (the database check already says why), never made-up zeros."""
    return {
        "status": "degraded",
        "pending": None,
        "failed": None,
        "oldest_pending_age_seconds": None,
        "destinations": {},
        "error": error,
    }


def outbox_status(
    stats: OutboxStats, enabled_destinations: set[str], max_age_seconds: float
) -> dict[str, Any]:
    """``degraded`` when rows are parked, or an enabled destination's oldest row is too old."""
    stale = any(
        (stats.destinations[name].oldest_pending_age_seconds or 0) > max_age_seconds
        for name in enabled_destinations
        if name in stats.destinations
    )
    degraded = stats.failed > 0 or stale
    return {
        "status": "degraded" if degraded else "healthy",
        "pending": stats.pending,
        "failed": stats.failed,
        "oldest_pending_age_seconds": stats.oldest_pending_age_seconds,
        "destinations": {
            name: {"pending": item.pending, "failed": item.failed}
            for name, item in sorted(stats.destinations.items())
        },
    }
