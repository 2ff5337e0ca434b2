"""``MockClassRepositoryImpl``: the in-memory repository, one store lock per transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from class_management_service.application.committed_outbox import (
    CommitObserver,
    RecordingEventPublisher,
)
from class_management_service.implementations.memory.associations import (
    InMemoryAssociations,
    InMemoryInbox,
)
from class_management_service.implementations.memory.repositories import (
    InMemoryClasses,
    InMemoryEventPublisher,
    InMemoryStudents,
)
from class_management_service.implementations.memory.store import InMemoryStore, Tables
from class_management_service.protocols import (
    AssociationsProtocol,
    ClassesProtocol,
    ClassEventPublisherProtocol,
    ClockProtocol,
    InboxProtocol,
    StudentsProtocol,
)


class MockClassRepositoryImpl:
    classes: ClassesProtocol
    students: StudentsProtocol
    events: ClassEventPublisherProtocol
    associations: AssociationsProtocol
    inbox: InboxProtocol

    def __init__(
        self, store: InMemoryStore, clock: ClockProtocol, observer: CommitObserver | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._observer = observer
        self._recording: RecordingEventPublisher | None = None
        self._working: Tables | None = None
        self._reading = False
        self.committed = False

    async def __aenter__(self) -> Self:
        if self._working is not None:
            raise RuntimeError("the unit of work is already open")
        await self._store.lock.acquire()
        self._working = self._store.tables.copy()
        self._reading = False
        self.committed = False
        self._bind_repositories(self._working)
        return self

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Self]:
        """A copy of the committed tables, taken without the lock: a read outside a transaction.

        Every change to the committed tables (a commit's swap, the outbox store's updates) runs
        without yielding to the event loop, so a synchronous copy is consistent without the lock.
        Working on a copy keeps a stray write out of the committed tables.
        """
        if self._working is not None:
            raise RuntimeError("the unit of work is already open")
        self._working = self._store.tables.copy()
        self._reading = True
        self.committed = False
        self._bind_repositories(self._working)
        try:
            yield self
        finally:
            self._working = None
            self._reading = False

    def _bind_repositories(self, tables: Tables) -> None:
        self.classes = InMemoryClasses(tables)
        self.students = InMemoryStudents(tables)
        self._recording = RecordingEventPublisher(
            InMemoryEventPublisher(tables, self._clock, self._store.next_seq)
        )
        self.events = self._recording
        self.associations = InMemoryAssociations(tables)
        self.inbox = InMemoryInbox(tables)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._working = None
        self._store.lock.release()

    async def commit(self) -> None:
        if self._working is None:
            raise RuntimeError("commit outside a transaction")
        if self._reading:
            raise RuntimeError("a reading unit of work cannot commit")
        self._store.tables = self._working
        written = self._recording.drain() if self._recording is not None else []
        # Later statements in the same block must see their own writes on top of the commit.
        self._working = self._store.tables.copy()
        self._bind_repositories(self._working)
        self.committed = True
        if self._observer is not None and written:
            self._observer.committed(written)
