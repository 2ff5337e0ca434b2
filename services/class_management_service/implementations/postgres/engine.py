"""The process's single async engine: one pool shared by HTTP, workers and health checks."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from class_management_service.config import Settings

_ACCEPTED_SCHEMES = ("postgresql+asyncpg://", "postgresql://", "postgres://")
APPLICATION_NAME = "class_management_service"


def asyncpg_url(raw: str) -> str:
    """Normalise an accepted PostgreSQL URL to the asyncpg driver, as ``Settings`` does."""
    for scheme in _ACCEPTED_SCHEMES:
        if raw.startswith(scheme):
            return "postgresql+asyncpg://" + raw[len(scheme) :]
    raise ValueError("database URL must start with postgresql:// or postgresql+asyncpg://")


def create_engine_for_url(
    url: str,
    *,
    pool_size: int = 30,
    max_overflow: int = 0,
    pool_recycle_seconds: int = 3600,
    pool_pre_ping: bool = True,
    connect_timeout_seconds: float = 5.0,
    pool_timeout_seconds: float = 5.0,
    command_timeout_seconds: float = 10.0,
) -> AsyncEngine:
    """The pool, with every wait bounded (configuration.md §2.2).

    A server that stops answering without refusing (a partition, a stalled host) would otherwise
    hang each request for as long as the kernel keeps the TCP connection: asyncpg's connect
    ``timeout`` bounds opening a connection, its ``command_timeout`` every statement's round
    trip, SQLAlchemy's ``pool_timeout`` the wait for a free connection, and the pre-ping gets the
    connect timeout (a ``;`` round trip needs no longer than a new connection would).
    """
    engine = _create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        # The contract's 0 means "never"; SQLAlchemy spells that -1.
        pool_recycle=pool_recycle_seconds or -1,
        pool_timeout=pool_timeout_seconds,
        connect_args={
            "server_settings": {"application_name": APPLICATION_NAME},
            "timeout": connect_timeout_seconds,
            "command_timeout": command_timeout_seconds,
        },
    )
    if pool_pre_ping:
        event.listen(
            engine.sync_engine, "checkout", partial(_ping, timeout=connect_timeout_seconds)
        )
    return engine


def _ping(dbapi_connection: Any, _record: Any, _proxy: Any, *, timeout: float) -> None:
    """Pre-ping in one round trip.

    SQLAlchemy's built-in asyncpg pre-ping wraps its probe in BEGIN/ROLLBACK (for pgbouncer
    transaction mode), three round trips on every checkout; on the hot paths that was a quarter
    of the client CPU per request. Raising ``DisconnectionError`` makes the pool discard the
    connection and check out another, exactly like the built-in pre-ping.
    """
    try:
        dbapi_connection.run_async(lambda connection: connection.fetchrow(";", timeout=timeout))
    except Exception as exc:
        raise DisconnectionError("pooled connection failed its pre-ping") from exc


def create_engine(settings: Settings) -> AsyncEngine:
    """The one engine (and pool) of this process, shared by HTTP, workers and health checks."""
    if settings.database_url is None:
        raise ValueError("CLASS_MANAGEMENT_SERVICE_DATABASE_URL is not set")
    return create_engine_for_url(
        settings.database_url.get_secret_value(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle_seconds=settings.db_pool_recycle_seconds,
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_timeout_seconds=settings.db_connect_timeout_seconds,
        pool_timeout_seconds=settings.db_pool_timeout_seconds,
        command_timeout_seconds=settings.db_command_timeout_seconds,
    )
