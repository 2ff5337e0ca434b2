"""Which failures mean "database unavailable" (→ 502) and which do not."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import pytest
from asyncpg.exceptions import _base  # type: ignore[import-untyped]
from sqlalchemy import exc as sa_exc

from huleedu_service_libs.http.db_errors import is_database_unavailable


def _wrapped(
    orig: BaseException, kind: type[sa_exc.DBAPIError] = sa_exc.DBAPIError
) -> BaseException:
    return kind("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(Exception("server closed"), sa_exc.OperationalError),
        _wrapped(Exception("connection is closed"), sa_exc.InterfaceError),
        sa_exc.DBAPIError("SELECT 1", {}, Exception("x"), connection_invalidated=True),
        sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
        ConnectionRefusedError(111, "Connect call failed"),
        OSError("Multiple exceptions: [Errno 111], [Errno 99]"),
        TimeoutError(),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        _wrapped(asyncpg.exceptions.QueryCanceledError("statement timeout")),
    ],
)
def test_unavailable(error: BaseException) -> None:
    assert is_database_unavailable(error)


def test_cause_chain_is_followed() -> None:
    outer = RuntimeError("repository failed")
    outer.__cause__ = ConnectionResetError("reset")

    assert is_database_unavailable(outer)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("bug"),
        _wrapped(Exception("duplicate key"), sa_exc.IntegrityError),
        # A bad query argument: asyncpg's client-side DataError, reported as an InterfaceError.
        _wrapped(_base.DataError("invalid input for query argument"), sa_exc.InterfaceError),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        FileNotFoundError("x"),
        PermissionError("x"),
    ],
)
def test_not_unavailable(error: BaseException) -> None:
    assert not is_database_unavailable(error)
