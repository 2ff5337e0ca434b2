"""Use cases of classes: create, read, list, update, delete and the roster."""

from __future__ import annotations

from uuid import UUID, uuid4

from class_management_service.application.context import Actor
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.domain.errors import ClassNotFound
from class_management_service.domain.models import Page, SchoolClass, Student
from class_management_service.protocols import ClassRepositoryProtocol, ClockProtocol
from common_core.courses import Course


class ClassUseCases:
    def __init__(
        self, repository: ClassRepositoryProtocol, clock: ClockProtocol, messages: OutboxMessages
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._messages = messages

    async def create(self, actor: Actor, name: str, course: Course) -> SchoolClass:
        now = self._clock.now()
        school_class = SchoolClass(
            id=uuid4(),
            name=name,
            course=course,
            owner_id=actor.teacher_id,
            created_at=now,
            updated_at=now,
        )
        async with self._repository as uow:
            await uow.classes.add(school_class)
            await uow.events.publish(self._messages.class_created(school_class, actor, now))
            await uow.commit()
        return school_class

    async def get(self, actor: Actor, class_id: UUID) -> SchoolClass:
        async with self._repository.reading() as uow:
            school_class = await uow.classes.get(class_id, owner_id=actor.teacher_id)
        if school_class is None:
            raise ClassNotFound(class_id)
        return school_class

    async def list_page(self, actor: Actor, *, limit: int, offset: int) -> Page[SchoolClass]:
        async with self._repository.reading() as uow:
            return await uow.classes.list_page(actor.teacher_id, limit=limit, offset=offset)

    async def update(
        self, actor: Actor, class_id: UUID, *, name: str | None, course: Course | None
    ) -> SchoolClass:
        now = self._clock.now()
        async with self._repository as uow:
            school_class = await uow.classes.get(
                class_id, owner_id=actor.teacher_id, for_update=True
            )
            if school_class is None:
                raise ClassNotFound(class_id)
            if school_class.apply_changes(name, course, now):
                await uow.classes.save(school_class)
                await uow.events.publish(self._messages.class_updated(school_class, actor, now))
                await uow.commit()
        return school_class

    async def delete(self, actor: Actor, class_id: UUID) -> None:
        async with self._repository as uow:
            school_class = await uow.classes.get(
                class_id, owner_id=actor.teacher_id, for_update=True
            )
            if school_class is None:
                raise ClassNotFound(class_id)
            await uow.classes.delete(school_class)
            await uow.commit()

    async def roster(self, class_id: UUID, *, owner_id: str | None) -> list[Student]:
        """The class's roster; ``owner_id=None`` is a service caller that may read any class."""
        async with self._repository.reading() as uow:
            school_class = await uow.classes.get(class_id, owner_id=owner_id)
            if school_class is None:
                raise ClassNotFound(class_id)
            return await uow.classes.roster(class_id)
