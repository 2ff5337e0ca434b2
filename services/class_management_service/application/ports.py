"""Ports the use cases depend on; PostgreSQL and in-memory adapters implement the same ones."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from class_management_service.domain.models import Page, SchoolClass, Student
from huleedu_service_libs.outbox.message import OutboxMessage


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class ClassRepository(Protocol):
    async def add(self, school_class: SchoolClass) -> None: ...

    async def get(
        self, class_id: UUID, *, owner_id: str | None, for_update: bool = False
    ) -> SchoolClass | None:
        """The class with its ``student_count``; ``None`` when missing or not owned by
        ``owner_id`` (``owner_id=None`` reads any owner's class, for service callers).
        ``for_update`` locks the row until the transaction ends."""
        ...

    async def get_many(self, owner_id: str, class_ids: Collection[UUID]) -> dict[UUID, SchoolClass]:
        """The subset of ``class_ids`` that exist and belong to ``owner_id``."""
        ...

    async def list_page(self, owner_id: str, *, limit: int, offset: int) -> Page[SchoolClass]:
        """Ordered ``created_at DESC, id DESC``."""
        ...

    async def save(self, school_class: SchoolClass) -> None:
        """Persist ``name``, course and ``updated_at``."""
        ...

    async def delete(self, school_class: SchoolClass) -> None:
        """Delete the class, its enrolments, associations and its UNKNOWN placeholder."""
        ...

    async def roster(self, class_id: UUID) -> list[Student]:
        """Enrolled students except the UNKNOWN placeholder, in roster order."""
        ...


class StudentRepository(Protocol):
    async def add(self, student: Student) -> None:
        """Insert the student and its enrolments (``student.class_ids``).

        Raises ``EmailAlreadyUsed`` when the owner already has the e-mail."""
        ...

    async def add_many(self, students: Sequence[Student]) -> None:
        """Insert many students with their enrolments (bulk import); same errors as ``add``."""
        ...

    async def get(
        self, student_id: UUID, *, owner_id: str, for_update: bool = False
    ) -> Student | None: ...

    async def get_by_emails(self, owner_id: str, emails: Collection[str]) -> dict[str, Student]:
        """The owner's students having any of ``emails`` (lower-case), keyed by e-mail."""
        ...

    async def list_page(
        self,
        owner_id: str,
        *,
        class_id: UUID | None,
        query: str | None,
        limit: int,
        offset: int,
    ) -> Page[Student]:
        """Ordered ``created_at DESC, id DESC``; ``query`` is a literal, case-insensitive
        substring of first, last, legal or full name or e-mail."""
        ...

    async def save(
        self, student: Student, *, enrolled: Collection[UUID], left: Collection[UUID]
    ) -> None:
        """Persist names, e-mail, ``updated_at`` and the enrolment changes.

        Raises ``EmailAlreadyUsed`` or ``EnrolmentConflict`` on a uniqueness violation."""
        ...

    async def enroll(self, class_id: UUID, student_ids: Sequence[UUID], now: datetime) -> None:
        """Enrol existing students in one class and move their ``updated_at``."""
        ...

    async def delete(self, student: Student) -> None: ...


class Outbox(Protocol):
    async def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Insert outbox rows in the current transaction."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Repositories add and flush; only ``commit`` makes changes durable.

    Leaving the context without ``commit`` rolls everything back, outbox rows included."""

    classes: ClassRepository
    students: StudentRepository
    outbox: Outbox

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
