"""``PostgreSQLClassRepositoryImpl``: the seed's repository-managed sessions, one transaction each.

The seed builds the repository from the engine and lets it own the session factory; so does this
one. What the seed's code then did wrong — writing the outbox row through a second session, in a
second transaction that could fail after the change had committed — is what the unit-of-work
shape prevents: every part of the repository and its event publisher run on the one session
that ``async with`` opens, and one ``commit`` makes the change and its events durable together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from class_management_service.application.committed_outbox import (
    CommitObserver,
    RecordingEventPublisher,
)
from class_management_service.implementations.event_publisher_impl import (
    OutboxEventPublisherImpl,
)
from class_management_service.implementations.postgres.associations import PostgreSQLAssociations
from class_management_service.implementations.postgres.classes import PostgreSQLClasses
from class_management_service.implementations.postgres.inbox import PostgreSQLInbox
from class_management_service.implementations.postgres.session_connection import SessionConnection
from class_management_service.implementations.postgres.students import PostgreSQLStudents
from class_management_service.protocols import (
    AssociationsProtocol,
    ClassesProtocol,
    ClassEventPublisherProtocol,
    InboxProtocol,
    StudentsProtocol,
)

_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


class PostgreSQLClassRepositoryImpl:
    """The service's PostgreSQL repository: each ``async with`` is one session and transaction.

    The parts execute Core statements on the session's connection (no ORM identity map: the
    domain objects are plain dataclasses). Re-entrant in sequence, not concurrently.
    """

    classes: ClassesProtocol
    students: StudentsProtocol
    events: ClassEventPublisherProtocol
    associations: AssociationsProtocol
    inbox: InboxProtocol

    def __init__(self, engine: AsyncEngine, observer: CommitObserver | None = None) -> None:
        self.session = async_sessionmaker(engine, expire_on_commit=False)
        self._observer = observer
        # Set before the connection is awaited, so a second entry fails even while the first
        # is still checking out its connection.
        self._entered = False
        self._reading = False
        self._session: AsyncSession | None = None
        self._connection: SessionConnection | None = None
        self._recording: RecordingEventPublisher | None = None

    @property
    def connection(self) -> SessionConnection:
        """The open session's connection, for statements that join this session's transaction."""
        if self._connection is None:
            raise RuntimeError("the repository has no open session")
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
        """The same parts on an autocommit session: no BEGIN and no ROLLBACK round trips.

        Under PostgreSQL's READ COMMITTED every statement takes its own snapshot even inside a
        transaction, so reads see exactly what they would see in a transactional session.
        Writes are a programming error here: ``commit`` raises, but each statement that already
        ran was committed by the server on its own.
        """
        await self._open(reading=True)
        try:
            yield self
        finally:
            await self._close()

    async def commit(self) -> None:
        if self._session is None:
            raise RuntimeError("the repository has no open session")
        if self._reading:
            raise RuntimeError("a reading session cannot commit")
        await self._session.commit()
        if self._connection is not None:
            self._connection.released()
        if self._recording is not None:
            written = self._recording.drain()
            if self._observer is not None and written:
                self._observer.committed(written)

    async def _open(self, *, reading: bool) -> None:
        if self._entered:
            raise RuntimeError("the repository is already open (one session at a time)")
        self._entered = True
        try:
            session = self._session = self.session()
            options = _AUTOCOMMIT if reading else None
            # Checked out now, so an unreachable database fails here rather than mid-use-case.
            # The pool restores the default isolation level when the connection returns.
            checked_out = await session.connection(execution_options=options)
            connection = self._connection = SessionConnection(session, checked_out)
        except BaseException:
            await self._close()
            raise
        self._reading = reading
        self._bind_parts(connection)

    def _bind_parts(self, connection: SessionConnection) -> None:
        self.classes = PostgreSQLClasses(connection)
        self.students = PostgreSQLStudents(connection)
        self._recording = RecordingEventPublisher(OutboxEventPublisherImpl(connection))
        self.events = self._recording
        self.associations = PostgreSQLAssociations(connection)
        self.inbox = PostgreSQLInbox(connection)

    async def _close(self) -> None:
        session, self._session, self._connection = self._session, None, None
        try:
            if session is not None:
                # Closing rolls back anything uncommitted and returns the connection to the pool.
                await session.close()
        finally:
            self._entered = False
