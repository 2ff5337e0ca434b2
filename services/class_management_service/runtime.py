"""Process lifecycle: settings → database → schema check → HTTP server and workers → shutdown."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.adapters.db.embedded import EmbeddedPostgres, start_embedded_postgres
from class_management_service.adapters.db.engine import create_engine_for_url
from class_management_service.adapters.db.migrations import assert_at_head, upgrade_to_head
from class_management_service.app import create_app
from class_management_service.config import Settings
from class_management_service.di import make_container

logger = structlog.get_logger(__name__)

# Requests get this long to finish on SIGTERM; workers then get WORKER_STOP_SECONDS (app.py).
GRACEFUL_TIMEOUT_SECONDS = 5.0


@dataclass
class Database:
    engine: AsyncEngine | None
    embedded: EmbeddedPostgres | None


async def resolve_database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The configured URL, or an embedded server's (development/testing only)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), None
    embedded = await start_embedded_postgres(settings.embedded_database_dir)
    logger.info("embedded_postgres_started", url=embedded.display_url)
    return embedded.url, embedded


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The process's one engine, with the schema at head; nothing at all in in-memory mode."""
    if settings.use_mock_repository:
        yield Database(engine=None, embedded=None)
        return
    url, embedded = await resolve_database_url(settings)
    try:
        if embedded is not None:
            # The embedded database belongs to this process, so it is migrated here.
            await upgrade_to_head(url)
        engine = create_engine_for_url(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_recycle_seconds=settings.db_pool_recycle_seconds,
            pool_pre_ping=settings.db_pool_pre_ping,
        )
        try:
            await assert_at_head(engine)
            yield Database(engine=engine, embedded=embedded)
        finally:
            await engine.dispose()
    finally:
        if embedded is not None:
            embedded.stop()


def _hypercorn_config(settings: Settings) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [f"{settings.http_host}:{settings.http_port}"]
    config.graceful_timeout = GRACEFUL_TIMEOUT_SECONDS
    config.accesslog = None  # the app writes its own structured access log
    config.keep_alive_timeout = 75
    return config


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT, then drain requests and close everything in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with open_database(settings) as database:
        registry = CollectorRegistry()
        container = make_container(settings, database.engine, registry=registry)
        app = create_app(container, database.engine, registry, run_workers=True)
        logger.info(
            "service_starting",
            host=settings.http_host,
            port=settings.http_port,
            environment=settings.environment.value,
            storage="memory" if database.engine is None else "postgresql",
        )
        await hypercorn_serve(app, _hypercorn_config(settings), shutdown_trigger=stop.wait)
    logger.info("service_stopped")
