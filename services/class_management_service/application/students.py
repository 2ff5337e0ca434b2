"""Use cases of students: create, read, list, update and delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

from class_management_service.application.context import Actor
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.application.references import (
    first_occurrences,
    load_owned_classes,
    require_all_found,
    require_owned_classes,
)
from class_management_service.domain.errors import ClassNotFound, StudentNotFound
from class_management_service.domain.models import Page, Student, default_legal_name
from class_management_service.protocols import ClassRepositoryProtocol, ClockProtocol
from huleedu_service_libs.error_handling import field_error, invalid_body


@dataclass(frozen=True)
class PersonName:
    first_name: str
    last_name: str
    legal_full_name: str | None = None


@dataclass(frozen=True)
class StudentChanges:
    person_name: PersonName | None = None
    email: str | None = None
    add_class_ids: Sequence[UUID] | None = None
    remove_class_ids: Sequence[UUID] | None = None


class StudentUseCases:
    def __init__(
        self, repository: ClassRepositoryProtocol, clock: ClockProtocol, messages: OutboxMessages
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._messages = messages

    async def create(
        self,
        actor: Actor,
        name: PersonName,
        email: str | None,
        class_ids: Sequence[UUID] | None,
    ) -> Student:
        now = self._clock.now()
        requested = first_occurrences("class_ids", class_ids)
        async with self._repository as uow:
            classes = await require_owned_classes(uow.classes, actor.teacher_id, requested)
            student = Student(
                id=uuid4(),
                first_name=name.first_name,
                last_name=name.last_name,
                legal_full_name=default_legal_name(
                    name.first_name, name.last_name, name.legal_full_name
                ),
                email=email,
                owner_id=actor.teacher_id,
                created_at=now,
                updated_at=now,
                class_ids=sorted(requested),
            )
            await uow.students.add(student)
            joined = [classes[class_id] for class_id in student.class_ids]
            await uow.events.publish(self._messages.student_created(student, actor, now, joined))
            await uow.commit()
        return student

    async def get(self, actor: Actor, student_id: UUID) -> Student:
        async with self._repository.reading() as uow:
            student = await uow.students.get(student_id, owner_id=actor.teacher_id)
        if student is None:
            raise StudentNotFound(student_id)
        return student

    async def list_page(
        self,
        actor: Actor,
        *,
        class_id: UUID | None,
        query: str | None,
        limit: int,
        offset: int,
    ) -> Page[Student]:
        async with self._repository.reading() as uow:
            if class_id is not None:
                owned = await uow.classes.get(class_id, owner_id=actor.teacher_id)
                if owned is None:
                    raise ClassNotFound(class_id)
            return await uow.students.list_page(
                actor.teacher_id, class_id=class_id, query=query, limit=limit, offset=offset
            )

    async def update(self, actor: Actor, student_id: UUID, changes: StudentChanges) -> Student:
        now = self._clock.now()
        to_add = first_occurrences("add_class_ids", changes.add_class_ids)
        to_remove = first_occurrences("remove_class_ids", changes.remove_class_ids)
        overlap = [path for class_id, path in to_remove.items() if class_id in to_add]
        if overlap:
            raise invalid_body(
                [field_error(path, "must not also be in add_class_ids") for path in overlap]
            )
        async with self._repository as uow:
            # Classes are locked before the student (see load_owned_classes); the errors are
            # still reported in the contract's order: the student (404) before the classes.
            classes = await load_owned_classes(uow.classes, actor.teacher_id, to_add, to_remove)
            student = await uow.students.get(student_id, owner_id=actor.teacher_id, for_update=True)
            if student is None:
                raise StudentNotFound(student_id)
            require_all_found(classes, to_add, to_remove)
            current = set(student.class_ids)
            enrolled = sorted(class_id for class_id in to_add if class_id not in current)
            left = sorted(class_id for class_id in to_remove if class_id in current)
            changed = bool(enrolled or left)
            if changes.person_name is not None:
                name = changes.person_name
                legal = default_legal_name(name.first_name, name.last_name, name.legal_full_name)
                if (student.first_name, student.last_name, student.legal_full_name) != (
                    name.first_name,
                    name.last_name,
                    legal,
                ):
                    student.first_name = name.first_name
                    student.last_name = name.last_name
                    student.legal_full_name = legal
                    changed = True
            if changes.email is not None and changes.email != student.email:
                student.email = changes.email
                changed = True
            if not changed:
                return student
            student.class_ids = sorted((current | set(enrolled)) - set(left))
            student.updated_at = now
            await uow.students.save(student, enrolled=enrolled, left=left)
            joined = [classes[class_id] for class_id in enrolled]
            await uow.events.publish(
                self._messages.student_updated(
                    student, actor, now, added=enrolled, removed=left, joined=joined
                )
            )
            await uow.commit()
        return student

    async def delete(self, actor: Actor, student_id: UUID) -> None:
        async with self._repository as uow:
            student = await uow.students.get(student_id, owner_id=actor.teacher_id, for_update=True)
            if student is None:
                raise StudentNotFound(student_id)
            await uow.students.delete(student)
            await uow.commit()
