"""Bulk import of a class roster: all rows or none, upserting students by e-mail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID, uuid4

from class_management_service.application.context import Actor
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.domain.errors import ClassNotFound
from class_management_service.domain.models import Student, default_legal_name
from class_management_service.protocols import ClassRepositoryProtocol, ClockProtocol

MAX_IMPORT_ROWS = 5000

Outcome = Literal["created", "enrolled", "already_enrolled"]


@dataclass(frozen=True)
class ImportRow:
    first_name: str
    last_name: str
    email: str | None
    legal_full_name: str | None


@dataclass(frozen=True)
class RowResult:
    row: int
    outcome: Outcome
    student_id: UUID
    email: str | None


@dataclass(frozen=True)
class ImportResult:
    class_id: UUID
    results: list[RowResult]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)


class BulkImport:
    def __init__(
        self, repository: ClassRepositoryProtocol, clock: ClockProtocol, messages: OutboxMessages
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._messages = messages

    async def run(self, actor: Actor, class_id: UUID, rows: Sequence[ImportRow]) -> ImportResult:
        """Rows are already validated and their e-mails are unique within the request."""
        now = self._clock.now()
        async with self._repository as uow:
            # Locking the class serialises imports into it and keeps it from being deleted.
            school_class = await uow.classes.get(
                class_id, owner_id=actor.teacher_id, for_update=True
            )
            if school_class is None:
                raise ClassNotFound(class_id)
            emails = [row.email for row in rows if row.email is not None]
            existing = await uow.students.get_by_emails(actor.teacher_id, emails)
            results: list[RowResult] = []
            created: list[Student] = []
            newly_enrolled: list[Student] = []
            for number, row in enumerate(rows, start=1):
                known = existing.get(row.email) if row.email is not None else None
                if known is None:
                    student = Student(
                        id=uuid4(),
                        first_name=row.first_name,
                        last_name=row.last_name,
                        legal_full_name=default_legal_name(
                            row.first_name, row.last_name, row.legal_full_name
                        ),
                        email=row.email,
                        owner_id=actor.teacher_id,
                        created_at=now,
                        updated_at=now,
                        class_ids=[class_id],
                    )
                    created.append(student)
                    results.append(RowResult(number, "created", student.id, student.email))
                elif class_id in known.class_ids:
                    results.append(RowResult(number, "already_enrolled", known.id, known.email))
                else:
                    known.class_ids = sorted([*known.class_ids, class_id])
                    known.updated_at = now
                    newly_enrolled.append(known)
                    results.append(RowResult(number, "enrolled", known.id, known.email))
            if created:
                await uow.students.add_many(created)
            if newly_enrolled:
                await uow.students.enroll(class_id, [s.id for s in newly_enrolled], now)
            reference = school_class.reference()
            messages = [
                message
                for student in created
                for message in self._messages.student_created(
                    student, actor, now, [reference], notify=False
                )
            ]
            messages += [
                message
                for student in newly_enrolled
                for message in self._messages.student_updated(
                    student, actor, now, added=[class_id], removed=[], joined=[], notify=False
                )
            ]
            if messages:
                await uow.events.publish(messages)
            await uow.commit()
        return ImportResult(class_id=class_id, results=results)
