"""Recognise failures that mean "the database is unreachable or timed out" (→ 502)."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa_exc

_SQLALCHEMY_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # the pool could not hand out a connection in time
)

_ASYNCPG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.QueryCanceledError,  # statement_timeout
    asyncpg.exceptions.InterfaceError,  # "connection is closed"
)

# Programming errors that share the base classes above but say nothing about availability.
_NOT_AVAILABILITY: tuple[type[BaseException], ...] = (
    ValueError,  # asyncpg's client-side DataError (a bad query argument), ClientConfigurationError
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def is_database_unavailable(error: BaseException) -> bool:
    """True when ``error``, or what it was raised from, is a connection failure or DB timeout.

    Bare OSError/TimeoutError count too: asyncpg's connect() raises them unwrapped, and the
    database is the only socket an HTTP request opens in these services.
    """
    chain = _chain(error)
    # SQLAlchemy reports asyncpg's DataError (a bad query argument) as an InterfaceError too.
    if any(isinstance(link, _NOT_AVAILABILITY) for link in chain):
        return False
    return any(_is_unavailable(link) for link in chain)


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` followed by the DBAPI errors and causes it wraps."""
    links: list[BaseException] = []
    pending: list[BaseException] = [error]
    while pending:
        link = pending.pop()
        if any(link is seen for seen in links):
            continue
        links.append(link)
        if isinstance(link, sa_exc.DBAPIError) and isinstance(link.orig, BaseException):
            pending.append(link.orig)
        if link.__cause__ is not None:
            pending.append(link.__cause__)
    return links


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (*_SQLALCHEMY_UNAVAILABLE, *_ASYNCPG_UNAVAILABLE, OSError))
