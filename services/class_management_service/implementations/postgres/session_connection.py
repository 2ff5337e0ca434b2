"""``SessionConnection``: the repository parts' handle on the open session's connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncSession

Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class SessionConnection:
    """Executes Core statements on the connection of one ``AsyncSession``.

    The connection is asked of the session for each statement (the session hands back the one it
    holds): after a ``commit`` the session has released its connection, and only a further
    statement checks one out again and begins a new transaction, as it would on a session used
    directly. Execution options (a reading session's autocommit) are set once, when the
    repository first checks the connection out. Core statements skip the ORM's execution path,
    which this service does not need.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def execute(
        self, statement: Executable, parameters: Parameters = None
    ) -> CursorResult[Any]:
        connection = await self._session.connection()
        return await connection.execute(statement, parameters)
