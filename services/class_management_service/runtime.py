"""Process lifecycle: settings → database → schema check → HTTP server and workers → shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.adapters.db.embedded import EmbeddedPostgres, resolve_database_url
from class_management_service.adapters.db.engine import create_engine_for_url
from class_management_service.adapters.db.migrations import assert_at_head, upgrade_to_head
from class_management_service.app import create_app
from class_management_service.config import Settings
from class_management_service.di import make_container
from class_management_service.listener import bind_listener

logger = structlog.get_logger(__name__)

# Requests get this long to finish on SIGTERM; workers then get WORKER_STOP_SECONDS (app.py).
GRACEFUL_TIMEOUT_SECONDS = 5.0
# From the first SIGTERM/SIGINT, the process exits by this time whatever still runs (exit code
# 1): a clean-up step that hangs must not keep a replica from stopping within its 10 s.
SHUTDOWN_DEADLINE_SECONDS = 9.5


@dataclass
class Database:
    engine: AsyncEngine | None
    embedded: EmbeddedPostgres | None


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


def _arm_shutdown_deadline() -> None:
    # A thread, not the event loop: the loop may be what is stuck.
    def abort() -> None:
        logger.error("shutdown_deadline_exceeded", seconds=SHUTDOWN_DEADLINE_SECONDS)
        os._exit(1)

    timer = threading.Timer(SHUTDOWN_DEADLINE_SECONDS, abort)
    timer.daemon = True
    timer.start()


def _hypercorn_config(listen_fd: int) -> HypercornConfig:
    config = HypercornConfig()
    # hypercorn adopts (and closes on shutdown) the socket this process was given.
    config.bind = [f"fd://{listen_fd}"]
    config.graceful_timeout = GRACEFUL_TIMEOUT_SECONDS
    config.accesslog = None  # the app writes its own structured access log
    # A Logger (not the default "-") keeps hypercorn from adding its own plain-text stderr
    # handler; its records reach the structured root handler instead.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 75
    return config


async def serve(settings: Settings, *, listen_fd: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then drain requests and close everything in order.

    ``listen_fd`` is a socket inherited from the supervisor (``HTTP_WORKERS`` > 1); without it
    this process binds ``HTTP_HOST:HTTP_PORT`` itself.
    """
    stop = asyncio.Event()

    def on_signal() -> None:
        if not stop.is_set():
            stop.set()
            _arm_shutdown_deadline()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    if listen_fd is None:
        # Hand the descriptor over: hypercorn closes it, so this object must not close it too.
        listen_fd = bind_listener(settings).detach()
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
        await hypercorn_serve(app, _hypercorn_config(listen_fd), shutdown_trigger=stop.wait)
    logger.info("service_stopped")
