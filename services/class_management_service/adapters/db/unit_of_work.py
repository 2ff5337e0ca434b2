"""``SqlUnitOfWork``: one session and transaction per ``async with``; only ``commit`` keeps it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
    """Repositories share the session and only execute; leaving without ``commit`` rolls back.

    Re-entrant in sequence (each ``async with`` opens a fresh session), not concurrently.
    """

    classes: ClassRepository
    students: StudentRepository
    outbox: Outbox
    associations: AssociationRepository
    inbox: InboxRepository

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        observer: CommitObserver | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None
        self._observer = observer
        self._recording: RecordingOutbox | None = None

    @property
    def session(self) -> AsyncSession:
        """The open session, for adapters that join this transaction (inbox, associations)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("the unit of work is already open")
        session = self._sessionmaker()
        self._session = session
        self.classes = SqlClassRepository(session)
        self.students = SqlStudentRepository(session)
        self._recording = RecordingOutbox(SqlOutbox(session))
        self.outbox = self._recording
        self.associations = SqlAssociationRepository(session)
        self.inbox = SqlInbox(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            # Closing returns the connection to the pool, which rolls back anything uncommitted.
            await session.close()

    async def commit(self) -> None:
        await self.session.commit()
        if self._recording is not None:
            written = self._recording.drain()
            if self._observer is not None and written:
                self._observer.committed(written)
