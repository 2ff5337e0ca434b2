"""``SessionConnection``: the repository parts' handle on the open session's connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class SessionConnection:
    """Executes Core statements on the connection of one ``AsyncSession``.

    It holds the connection the session checked out (asking the session again for every
    statement cost a lookup on the hot path). After a ``commit`` the session has released that
    connection: ``released()`` drops it, and only a further statement asks the session for a new
    one, which begins a new transaction, as on a session used directly. Execution options (a
    reading session's autocommit) are set once, when the repository first checks the connection
    out. Core statements skip the ORM's execution path, which this service does not need.
    """

    def __init__(self, session: AsyncSession, connection: AsyncConnection) -> None:
        self._session = session
        self._connection: AsyncConnection | None = connection

    def released(self) -> None:
        """The session committed and gave its connection back to the pool."""
        self._connection = None

    async def execute(
        self, statement: Executable, parameters: Parameters = None
    ) -> CursorResult[Any]:
        if self._connection is None:
            self._connection = await self._session.connection()
        return await self._connection.execute(statement, parameters)
