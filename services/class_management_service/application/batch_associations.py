"""Reads of a batch's associations: the teacher's review and the internal service look-ups."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from class_management_service.application.context import Actor
from class_management_service.domain.associations import (
    AssociationDetail,
    BatchClass,
    ValidationStatus,
)
from class_management_service.domain.errors import AssociationNotFound, BatchNotFound
from class_management_service.protocols import ClassRepositoryProtocol


@dataclass(frozen=True, slots=True)
class BatchReview:
    batch_class: BatchClass
    associations: list[AssociationDetail]


def names_a_student(detail: AssociationDetail) -> bool:
    """Whether the row currently names a student other services may use (not rejected)."""
    row = detail.association
    return row.student_id is not None and row.validation_status is not ValidationStatus.REJECTED


class ReviewBatch:
    def __init__(self, repository: ClassRepositoryProtocol) -> None:
        self._repository = repository

    async def review(self, actor: Actor, batch_id: UUID) -> BatchReview:
        """Every association of the batch; 404 unless the caller owns the batch's class."""
        async with self._repository.reading() as uow:
            batch_class = (await uow.associations.batch_classes([batch_id])).get(batch_id)
            if batch_class is None or batch_class.owner_id != actor.teacher_id:
                raise BatchNotFound(batch_id)
            details = await uow.associations.details_of_batch(batch_id)
        return BatchReview(batch_class, details)


class AssociationLookups:
    """Service-to-service reads; the callers are authenticated, ownership does not apply."""

    def __init__(self, repository: ClassRepositoryProtocol) -> None:
        self._repository = repository

    async def student_names(self, batch_id: UUID) -> list[AssociationDetail]:
        """Rows of the batch that name a student; an unknown batch has none."""
        async with self._repository.reading() as uow:
            details = await uow.associations.details_of_batch(batch_id)
        return [detail for detail in details if names_a_student(detail)]

    async def of_essay(self, essay_id: UUID) -> AssociationDetail:
        async with self._repository.reading() as uow:
            detail = await uow.associations.detail_of_essay(essay_id)
        if detail is None or not names_a_student(detail):
            raise AssociationNotFound(essay_id)
        return detail

    async def batch_classes(self, batch_ids: Collection[UUID]) -> dict[UUID, BatchClass]:
        async with self._repository.reading() as uow:
            return await uow.associations.batch_classes(batch_ids)
