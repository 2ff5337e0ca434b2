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

    def __init__(self, store: InMemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._working: Tables | None = None
        self.committed = False

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        self._working = self._store.tables.copy()
        self.committed = False
        self.classes = InMemoryClassRepository(self._working)
        self.students = InMemoryStudentRepository(self._working)
        self.outbox = InMemoryOutbox(self._working, self._clock, self._store.next_seq)
        self.associations = InMemoryAssociationRepository(self._working)
        self.inbox = InMemoryInbox(self._working)
        return self

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
        # Later statements in the same block must see their own writes on top of the commit.
        self._working = self._store.tables.copy()
        self.classes = InMemoryClassRepository(self._working)
        self.students = InMemoryStudentRepository(self._working)
        self.outbox = InMemoryOutbox(self._working, self._clock, self._store.next_seq)
        self.associations = InMemoryAssociationRepository(self._working)
        self.inbox = InMemoryInbox(self._working)
        self.committed = True
