"""In-memory unit of work: one store-wide lock per transaction, copy-on-begin, swap-on-commit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from class_management_service.adapters.memory.associations import (
    InMemoryAssociationRepository,
    InMemoryInbox,
)
from class_management_service.adapters.memory.repositories import (
    InMemoryClassRepository,
    InMemoryOutbox,
    InMemoryStudentRepository,
)
from class_management_service.adapters.memory.store import InMemoryStore, Tables
from class_management_service.application.committed_outbox import CommitObserver, RecordingOutbox
from class_management_service.application.ports import (
    AssociationRepository,
    ClassRepository,
    Clock,
    InboxRepository,
    Outbox,
    StudentRepository,
)


class InMemoryUnitOfWork:
    classes: ClassRepository
    students: StudentRepository
    outbox: Outbox
    associations: AssociationRepository
    inbox: InboxRepository

    def __init__(
        self, store: InMemoryStore, clock: Clock, observer: CommitObserver | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._observer = observer
        self._recording: RecordingOutbox | None = None
        self._working: Tables | None = None
        self.committed = False

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        self._working = self._store.tables.copy()
        self.committed = False
        self._bind_repositories(self._working)
        return self

    def _bind_repositories(self, tables: Tables) -> None:
        self.classes = InMemoryClassRepository(tables)
        self.students = InMemoryStudentRepository(tables)
        self._recording = RecordingOutbox(InMemoryOutbox(tables, self._clock, self._store.next_seq))
        self.outbox = self._recording
        self.associations = InMemoryAssociationRepository(tables)
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
        self._store.tables = self._working
        written = self._recording.drain() if self._recording is not None else []
        # Later statements in the same block must see their own writes on top of the commit.
        self._working = self._store.tables.copy()
        self._bind_repositories(self._working)
        self.committed = True
        if self._observer is not None and written:
            self._observer.committed(written)
