"""In-memory class, student and outbox repositories implementing the application ports."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID, uuid4

from class_management_service.domain.errors import EmailAlreadyUsed, EnrolmentConflict
from class_management_service.domain.models import ClassReference, Page, SchoolClass, Student
from class_management_service.implementations.memory.store import (
    ClassRow,
    OutboxRow,
    StudentRow,
    Tables,
)
from class_management_service.protocols import ClockProtocol
from common_core.topics import SYSTEM_TIMEOUT
from huleedu_service_libs.outbox.message import OutboxMessage


def placeholder_email(class_id: UUID) -> str:
    return f"unknown.{class_id}@huleedu.system"


def _newest_first(created_at: datetime, row_id: UUID) -> tuple[datetime, UUID]:
    return (created_at, row_id)


class InMemoryClasses:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _to_domain(self, row: ClassRow) -> SchoolClass:
        count = sum(
            1
            for class_id, student_id in self._t.enrolments
            if class_id == row.id and self._t.students[student_id].owner_id != SYSTEM_TIMEOUT
        )
        return SchoolClass(
            id=row.id,
            name=row.name,
            course=row.course,
            owner_id=row.owner_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            student_count=count,
        )

    async def add(self, school_class: SchoolClass) -> None:
        self._t.classes[school_class.id] = ClassRow(
            id=school_class.id,
            name=school_class.name,
            course=school_class.course,
            owner_id=school_class.owner_id,
            created_at=school_class.created_at,
            updated_at=school_class.updated_at,
        )

    async def get(
        self, class_id: UUID, *, owner_id: str | None, for_update: bool = False
    ) -> SchoolClass | None:
        row = self._t.classes.get(class_id)
        if row is None or (owner_id is not None and row.owner_id != owner_id):
            return None
        return self._to_domain(row)

    async def get_many(
        self, owner_id: str, class_ids: Collection[UUID]
    ) -> dict[UUID, ClassReference]:
        found = {}
        for class_id in class_ids:
            row = self._t.classes.get(class_id)
            if row is not None and row.owner_id == owner_id:
                found[class_id] = ClassReference(row.id, row.name)
        return found

    async def list_page(self, owner_id: str, *, limit: int, offset: int) -> Page[SchoolClass]:
        rows = sorted(
            (row for row in self._t.classes.values() if row.owner_id == owner_id),
            key=lambda row: _newest_first(row.created_at, row.id),
            reverse=True,
        )
        return Page([self._to_domain(row) for row in rows[offset : offset + limit]], len(rows))

    async def save(self, school_class: SchoolClass) -> None:
        await self.add(school_class)

    async def delete(self, school_class: SchoolClass) -> None:
        del self._t.classes[school_class.id]
        self._t.enrolments = {pair for pair in self._t.enrolments if pair[0] != school_class.id}
        for name in ("associations",):
            rows = self._t.extra.get(name, {})
            for key in [k for k, v in rows.items() if v.class_id == school_class.id]:
                del rows[key]
        email = placeholder_email(school_class.id)
        for row in list(self._t.students.values()):
            if row.owner_id == SYSTEM_TIMEOUT and row.email == email:
                del self._t.students[row.id]
                self._t.enrolments = {p for p in self._t.enrolments if p[1] != row.id}

    async def get_for_share(self, class_id: UUID) -> SchoolClass | None:
        return await self.get(class_id, owner_id=None)

    async def enrolled_student_ids(self, class_id: UUID) -> set[UUID]:
        return {student_id for enrolled, student_id in self._t.enrolments if enrolled == class_id}

    async def unknown_student(self, class_id: UUID, now: datetime) -> UUID:
        email = placeholder_email(class_id)
        found = next(
            (
                row
                for row in self._t.students.values()
                if row.owner_id == SYSTEM_TIMEOUT and row.email == email
            ),
            None,
        )
        if found is None:
            found = StudentRow(
                id=uuid4(),
                first_name="UNKNOWN",
                last_name="STUDENT",
                legal_full_name="UNKNOWN STUDENT",
                email=email,
                owner_id=SYSTEM_TIMEOUT,
                created_at=now,
                updated_at=now,
            )
            self._t.students[found.id] = found
        self._t.enrolments.add((class_id, found.id))
        return found.id

    async def roster(self, class_id: UUID) -> list[Student]:
        rows = [
            self._t.students[student_id]
            for enrolled_class, student_id in self._t.enrolments
            if enrolled_class == class_id
            and self._t.students[student_id].owner_id != SYSTEM_TIMEOUT
        ]
        students = _students(self._t, rows)
        return sorted(
            students, key=lambda s: (s.last_name.lower(), s.first_name.lower(), str(s.id))
        )


def _students(tables: Tables, rows: list[StudentRow]) -> list[Student]:
    """Several students with their classes from one pass over the enrolments (a roster of a
    5,000-row import would otherwise scan every enrolment once per student)."""
    class_ids: dict[UUID, list[UUID]] = {row.id: [] for row in rows}
    for class_id, student_id in tables.enrolments:
        if student_id in class_ids:
            class_ids[student_id].append(class_id)
    return [_student(tables, row, class_ids[row.id]) for row in rows]


def _student(tables: Tables, row: StudentRow, class_ids: list[UUID] | None = None) -> Student:
    if class_ids is None:
        class_ids = [c for c, s in tables.enrolments if s == row.id]
    return Student(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        legal_full_name=row.legal_full_name,
        email=row.email,
        owner_id=row.owner_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        class_ids=sorted(class_ids),
    )


def _matches(student: StudentRow, needle: str) -> bool:
    haystacks = (
        student.first_name,
        student.last_name,
        student.legal_full_name,
        student.email or "",
        f"{student.first_name} {student.last_name}",
    )
    return any(needle in value.lower() for value in haystacks)


class InMemoryStudents:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _check_email(self, student: Student) -> None:
        if student.email is None:
            return
        for row in self._t.students.values():
            if (
                row.id != student.id
                and row.owner_id == student.owner_id
                and row.email == student.email
            ):
                raise EmailAlreadyUsed(student.email)

    def _put(self, student: Student) -> None:
        self._t.students[student.id] = StudentRow(
            id=student.id,
            first_name=student.first_name,
            last_name=student.last_name,
            legal_full_name=student.legal_full_name,
            email=student.email,
            owner_id=student.owner_id,
            created_at=student.created_at,
            updated_at=student.updated_at,
        )

    async def add(self, student: Student) -> None:
        self._check_email(student)
        self._put(student)
        for class_id in student.class_ids:
            self._t.enrolments.add((class_id, student.id))

    async def add_many(self, students: Sequence[Student]) -> None:
        for student in students:
            await self.add(student)

    async def get(
        self, student_id: UUID, *, owner_id: str, for_update: bool = False
    ) -> Student | None:
        row = self._t.students.get(student_id)
        if row is None or row.owner_id != owner_id:
            return None
        return _student(self._t, row)

    async def get_by_emails(self, owner_id: str, emails: Collection[str]) -> dict[str, Student]:
        wanted = set(emails)
        rows = [
            row
            for row in self._t.students.values()
            if row.owner_id == owner_id and row.email is not None and row.email in wanted
        ]
        return {student.email: student for student in _students(self._t, rows) if student.email}

    async def list_page(
        self,
        owner_id: str,
        *,
        class_id: UUID | None,
        query: str | None,
        limit: int,
        offset: int,
    ) -> Page[Student]:
        needle = query.lower() if query else None
        rows = [
            row
            for row in self._t.students.values()
            if row.owner_id == owner_id
            and (class_id is None or (class_id, row.id) in self._t.enrolments)
            and (needle is None or _matches(row, needle))
        ]
        rows.sort(key=lambda row: _newest_first(row.created_at, row.id), reverse=True)
        page = _students(self._t, rows[offset : offset + limit])
        return Page(page, len(rows))

    async def save(
        self, student: Student, *, enrolled: Collection[UUID], left: Collection[UUID]
    ) -> None:
        self._check_email(student)
        for class_id in enrolled:
            if (class_id, student.id) in self._t.enrolments:
                raise EnrolmentConflict(class_id)
        self._put(student)
        for class_id in enrolled:
            self._t.enrolments.add((class_id, student.id))
        for class_id in left:
            self._t.enrolments.discard((class_id, student.id))

    async def enroll(self, class_id: UUID, student_ids: Sequence[UUID], now: datetime) -> None:
        for student_id in student_ids:
            if (class_id, student_id) in self._t.enrolments:
                raise EnrolmentConflict(class_id)
            self._t.enrolments.add((class_id, student_id))
            row = self._t.students[student_id]
            self._t.students[student_id] = replace(row, updated_at=now)

    async def delete(self, student: Student) -> None:
        del self._t.students[student.id]
        self._t.enrolments = {pair for pair in self._t.enrolments if pair[1] != student.id}
        rows = self._t.extra.get("associations", {})
        for key, row in list(rows.items()):
            if student.id in (row.student_id, row.suggested_student_id):
                rows[key] = row.without_student(student.id)


class InMemoryEventPublisher:
    def __init__(self, tables: Tables, clock: ClockProtocol, next_seq: Callable[[], int]) -> None:
        self._t = tables
        self._clock = clock
        self._next_seq = next_seq

    async def publish(self, messages: Sequence[OutboxMessage]) -> None:
        now = self._clock.now()
        for message in messages:
            row_id = uuid4()
            self._t.outbox[row_id] = OutboxRow(
                id=row_id,
                seq=self._next_seq(),
                aggregate_type=message.aggregate_type,
                aggregate_id=message.aggregate_id,
                event_type=message.event_type,
                topic=message.topic,
                destination=message.destination,
                event_key=message.event_key,
                event_data=message.event_data,
                created_at=now,
                next_attempt_at=now,
            )
