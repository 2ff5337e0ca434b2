"""``SqlUnitOfWork``: one pooled connection per ``async with``; only ``commit`` keeps its writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from class_management_service.adapters.db.association_repository import SqlAssociationRepository
from class_management_service.adapters.db.class_repository import SqlClassRepository
from class_management_service.adapters.db.inbox import SqlInbox
from class_management_service.adapters.db.outbox import SqlOutbox
from class_management_service.adapters.db.student_repository import SqlStudentRepository
from class_management_service.application.committed_outbox import CommitObserver, RecordingOutbox
from class_management_service.application.ports import (
    AssociationRepository,
    ClassRepository,
    InboxRepository,
    Outbox,
    StudentRepository,
)


class SqlUnitOfWork:
    """Repositories share one connection and only execute; leaving without ``commit`` rolls back.

    Core statements on Table objects need no ORM session, so the unit works on a bare
    ``AsyncConnection``. Re-entrant in sequence (each ``async with`` checks out a connection),
    not concurrently.
    """

    classes: ClassRepository
    students: StudentRepository
    outbox: Outbox
    associations: AssociationRepository
    inbox: InboxRepository

    def __init__(self, engine: AsyncEngine, observer: CommitObserver | None = None) -> None:
        self._engine = engine
        self._observer = observer
        # Set before the connection is awaited, so a second entry fails even while the first
        # is still checking out its connection.
        self._entered = False
        self._reading = False
        self._connection: AsyncConnection | None = None
        self._recording: RecordingOutbox | None = None

    @property
    def connection(self) -> AsyncConnection:
        """The open connection, for adapters that join this transaction (inbox, associations)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    async def __aenter__(self) -> Self:
        await self._open(reading=False)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Self]:
        """The same repositories without a transaction: no BEGIN and no ROLLBACK round trips.

        Under PostgreSQL's READ COMMITTED every statement takes its own snapshot even inside a
        transaction, so reads see exactly what they would see in a transactional unit. Writes
        are a programming error here: ``commit`` raises, but each statement that already ran
        was committed by the server on its own.
        """
        await self._open(reading=True)
        try:
            yield self
        finally:
            await self._close()

    async def commit(self) -> None:
        connection = self.connection
        if self._reading:
            raise RuntimeError("a reading unit of work cannot commit")
        await connection.commit()
        if self._recording is not None:
            written = self._recording.drain()
            if self._observer is not None and written:
                self._observer.committed(written)

    async def _open(self, *, reading: bool) -> None:
        if self._entered:
            raise RuntimeError("the unit of work is already open")
        self._entered = True
        try:
            connection = self._connection = await self._engine.connect()
            if reading:
                # The pool restores its default isolation level when the connection returns.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
        except BaseException:
            await self._close()
            raise
        self._reading = reading
        self._bind_repositories(connection)

    def _bind_repositories(self, connection: AsyncConnection) -> None:
        self.classes = SqlClassRepository(connection)
        self.students = SqlStudentRepository(connection)
        self._recording = RecordingOutbox(SqlOutbox(connection))
        self.outbox = self._recording
        self.associations = SqlAssociationRepository(connection)
        self.inbox = SqlInbox(connection)

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        try:
            if connection is not None:
                # Closing rolls back anything uncommitted and returns the connection to the pool.
                await connection.close()
        finally:
            self._entered = False
