"""The service's protocols (ports): what the use cases depend on.

``implementations/`` holds a PostgreSQL and an in-memory implementation of each; the in-memory
ones are what ``USE_MOCK_REPOSITORY`` selects and what the unit tests run against.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from class_management_service.domain.associations import (
    AssociationDetail,
    BatchClass,
    EssayAssociation,
)
from class_management_service.domain.models import ClassReference, Page, SchoolClass, Student
from huleedu_service_libs.outbox.message import OutboxMessage


class ClockProtocol(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class ClassesProtocol(Protocol):
    async def add(self, school_class: SchoolClass) -> None: ...

    async def get(
        self, class_id: UUID, *, owner_id: str | None, for_update: bool = False
    ) -> SchoolClass | None:
        """The class with its ``student_count``; ``None`` when missing or not owned by
        ``owner_id`` (``owner_id=None`` reads any owner's class, for service callers).
        ``for_update`` locks the row until the transaction ends."""
        ...

    async def get_many(
        self, owner_id: str, class_ids: Collection[UUID]
    ) -> dict[UUID, ClassReference]:
        """The subset of ``class_ids`` that exist and belong to ``owner_id``, locked against
        deletion until the transaction ends (no student counts: enrolments never need them)."""
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

    async def get_for_share(self, class_id: UUID) -> SchoolClass | None:
        """Any owner's class, locked ``FOR SHARE`` so it cannot be deleted meanwhile."""
        ...

    async def enrolled_student_ids(self, class_id: UUID) -> set[UUID]:
        """Ids of every student enrolled in the class (one query)."""
        ...

    async def unknown_student(self, class_id: UUID, now: datetime) -> UUID:
        """Get or create the class's UNKNOWN placeholder and its enrolment (matching.md §5.4).

        Safe against concurrent callers: the unique (e-mail, creator) constraint arbitrates."""
        ...


class StudentsProtocol(Protocol):
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


class AssociationsProtocol(Protocol):
    async def add_many(self, associations: Sequence[EssayAssociation]) -> None:
        """Insert rows in one statement."""
        ...

    async def existing_essay_ids(self, essay_ids: Collection[UUID]) -> set[UUID]:
        """The subset of ``essay_ids`` that already have an association (any batch)."""
        ...

    async def batch_has_other_class(self, batch_id: UUID, class_id: UUID) -> bool:
        """Whether any association of the batch belongs to a class other than ``class_id``."""
        ...

    async def lock_batch(self, batch_id: UUID) -> list[EssayAssociation]:
        """Every row of the batch, locked ``FOR UPDATE`` (waiting) in ``id`` order."""
        ...

    async def try_lock_batch(self, batch_id: UUID) -> bool:
        """A transaction-scoped advisory lock on the batch, without waiting."""
        ...

    async def lock_due_pending(self, batch_id: UUID, cutoff: datetime) -> list[EssayAssociation]:
        """The batch's pending rows created at or before ``cutoff``, ordered by ``essay_id``,
        locked ``FOR UPDATE SKIP LOCKED`` (rows another transaction holds are left out)."""
        ...

    async def due_batch_ids(
        self, cutoff: datetime, *, exclude: Collection[UUID], limit: int
    ) -> list[UUID]:
        """Batches with pending rows created at or before ``cutoff``, oldest such row first."""
        ...

    async def save_decisions(self, associations: Sequence[EssayAssociation]) -> None:
        """Persist ``student_id`` and the decision columns of decided rows."""
        ...

    async def details_of_batch(self, batch_id: UUID) -> list[AssociationDetail]:
        """Every row of the batch with student names, ``created_at DESC, essay_id ASC``."""
        ...

    async def detail_of_essay(self, essay_id: UUID) -> AssociationDetail | None: ...

    async def batch_classes(self, batch_ids: Collection[UUID]) -> dict[UUID, BatchClass]:
        """The class of each batch that has associations (one query)."""
        ...


@dataclass(frozen=True, slots=True)
class ProcessedEvent:
    """An inbox row: the consumed event whose effects commit in the same transaction."""

    event_id: UUID
    event_type: str
    topic: str
    partition: int
    offset: int
    correlation_id: UUID | None
    processed_at: datetime


class InboxProtocol(Protocol):
    async def add(self, event: ProcessedEvent) -> bool:
        """Insert the inbox row; ``False`` when the event id is already recorded (a duplicate).

        A concurrent transaction recording the same id makes this wait for its outcome."""
        ...


class DecisionMetricsProtocol(Protocol):
    def association_decided(self, validation_method: str, validation_status: str) -> None:
        """Count one decided association row."""
        ...


class ClassEventPublisherProtocol(Protocol):
    """Publishes the service's events through the transactional outbox.

    ``publish`` writes the outbox rows in the repository's open transaction: they commit with
    the change that caused them, or not at all. The relay delivers them to Kafka and Redis
    after the commit (never before, so no event describes a change that was rolled back)."""

    async def publish(self, messages: Sequence[OutboxMessage]) -> None: ...


class ClassRepositoryProtocol(Protocol):
    """The service's repository (the seed's ``ClassRepositoryProtocol``) as a unit of work.

    ``async with repository as uow`` opens one session and one transaction; its parts
    (``classes``, ``students``, ``associations``, ``inbox``) and its event publisher all execute
    in it, and only ``commit`` makes their writes durable, outbox rows included. Leaving the
    context without ``commit`` rolls everything back. ``reading()`` opens the same parts without
    a transaction, for use cases that only read and take no locks."""

    classes: ClassesProtocol
    students: StudentsProtocol
    events: ClassEventPublisherProtocol
    associations: AssociationsProtocol
    inbox: InboxProtocol

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    def reading(self) -> AbstractAsyncContextManager[Self]:
        """The repositories for reads only, outside a transaction; ``commit`` raises
        ``RuntimeError``. As under READ COMMITTED, two reads may see different committed states.

        Not for reads that lock rows or must share a transaction with a write."""
        ...
