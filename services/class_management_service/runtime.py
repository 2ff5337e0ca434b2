"""Process lifecycle: settings → database → schema check → HTTP server and workers → shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
import uvicorn
from prometheus_client import CollectorRegistry
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.app import create_app
from class_management_service.config import Settings
from class_management_service.di import make_container
from class_management_service.implementations.postgres.embedded import (
    EmbeddedPostgres,
    resolve_database_url,
)
from class_management_service.implementations.postgres.engine import create_engine_for_url
from class_management_service.implementations.postgres.migrations import (
    assert_at_head,
    upgrade_to_head,
)
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
            connect_timeout_seconds=settings.db_connect_timeout_seconds,
            pool_timeout_seconds=settings.db_pool_timeout_seconds,
            command_timeout_seconds=settings.db_command_timeout_seconds,
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


class _HttpServer(uvicorn.Server):
    """uvicorn with httptools: HTTP parsing in C, about twice hypercorn's requests per core.

    ``serve`` below owns SIGTERM/SIGINT (they also arm the shutdown deadline); uvicorn's own
    handlers would replace them and re-raise the signal once it has finished.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server_config(app: Quart) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="none",  # the running loop: uvloop, chosen by __main__
        http="httptools",
        ws="none",
        lifespan="on",  # before_serving/after_serving start and stop the workers
        timeout_graceful_shutdown=int(GRACEFUL_TIMEOUT_SECONDS),
        timeout_keep_alive=75,
        access_log=False,  # the app writes its own structured access log
        log_config=None,  # uvicorn's records reach the structured root handler
        server_header=False,
        proxy_headers=False,  # the gateway's headers are read by the app, not rewritten here
    )


async def _serve_until(app: Quart, listener: socket.socket, stop: asyncio.Event) -> None:
    """Serve on ``listener`` until ``stop``; then stop accepting, let running requests finish
    (at most GRACEFUL_TIMEOUT_SECONDS) and run the app's shutdown (which stops the workers)."""
    server = _HttpServer(_server_config(app))

    async def exit_on_stop() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(exit_on_stop())
    try:
        await server.serve(sockets=[listener])
    finally:
        watcher.cancel()


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
    listener = (
        bind_listener(settings)
        if listen_fd is None
        else socket.socket(fileno=listen_fd)  # inherited from the supervisor
    )
    with contextlib.closing(listener):
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
            # Everything allocated so far (modules, app, container) lives as long as the
            # process: frozen, the full collections no longer walk it. Measured under load,
            # each full collection went from ~90 ms to ~8 ms, a pause every request in flight
            # would otherwise wait out.
            gc.freeze()
            try:
                await _serve_until(app, listener, stop)
            finally:
                gc.unfreeze()  # a process that serves again (tests) starts from scratch
    logger.info("service_stopped")
