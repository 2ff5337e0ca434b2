"""Wakes a relay on ``NOTIFY event_outbox, '<destination>'`` over a dedicated asyncpg connection."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from common_core.topics import OUTBOX_NOTIFY_CHANNEL
from huleedu_service_libs.outbox.backoff import backoff_delay
from huleedu_service_libs.outbox.waiting import wait_any

logger = structlog.get_logger(__name__)


class OutboxListener:
    """``LISTEN event_outbox`` on its own connection (a pooled one would be recycled under it).

    ``event`` is set by every notification whose payload is ``destination``. The connection is
    checked every ``keepalive_seconds`` and re-established after a loss with backoff; the relay
    keeps polling meanwhile. After every (re)connection ``event`` is set once, because
    notifications sent while nobody listened are gone.
    """

    def __init__(
        self,
        dsn: str,
        destination: str,
        *,
        channel: str = OUTBOX_NOTIFY_CHANNEL,
        keepalive_seconds: float = 30.0,
        timeout_seconds: float = 10.0,
        reconnect_initial_seconds: float = 1.0,
        reconnect_max_seconds: float = 30.0,
        application_name: str = "outbox-listener",
    ) -> None:
        self._dsn = dsn
        self._destination = destination
        self._channel = channel
        self._keepalive = keepalive_seconds
        self._timeout = timeout_seconds
        self._reconnect_initial = reconnect_initial_seconds
        self._reconnect_max = reconnect_max_seconds
        self._server_settings = {"application_name": application_name}
        self.event = asyncio.Event()
        self.connected = False
        self._established = False

    @classmethod
    def for_engine(cls, engine: AsyncEngine, destination: str, **options: Any) -> OutboxListener:
        """A listener on the engine's database, with the engine's credentials."""
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(dsn, destination, **options)

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            self._established = False
            try:
                await self._listen_until_lost(stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A loss after a good connection starts the backoff over.
                failures = 1 if self._established else failures + 1
                logger.warning(
                    "outbox_listen_failed",
                    destination=self._destination,
                    error=f"{type(exc).__name__}: {exc}",
                    failures=failures,
                )
            self.connected = False
            if stop.is_set():
                return
            delay = backoff_delay(
                max(failures, 1),
                initial_seconds=self._reconnect_initial,
                max_seconds=self._reconnect_max,
            )
            await wait_any(stop, seconds=delay)

    async def _listen_until_lost(self, stop: asyncio.Event) -> None:
        connection = await asyncio.wait_for(
            asyncpg.connect(self._dsn, server_settings=self._server_settings), self._timeout
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await asyncio.wait_for(
                connection.add_listener(self._channel, self._on_notification), self._timeout
            )
            self.connected = self._established = True
            self.event.set()
            logger.info("outbox_listening", destination=self._destination, channel=self._channel)
            while not await wait_any(stop, lost, seconds=self._keepalive):
                # A silently dropped socket is only noticed when used.
                await asyncio.wait_for(connection.fetchval("SELECT 1"), self._timeout)
            if lost.is_set() and not stop.is_set():
                raise ConnectionError("LISTEN connection lost")
        finally:
            self.connected = False
            await self._close(connection)

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == self._destination:
            self.event.set()

    async def _close(self, connection: Any) -> None:
        try:
            await asyncio.wait_for(connection.close(), self._timeout)
        except Exception:
            # A connection that cannot close politely is cut.
            with contextlib.suppress(Exception):
                connection.terminate()
