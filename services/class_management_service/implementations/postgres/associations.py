"""PostgreSQL ``AssociationsProtocol``: set-based Core statements, one round trip each."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Integer, Uuid, all_, and_, any_, bindparam, exists, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.sql.elements import ColumnElement

from class_management_service.domain.associations import (
    AssociationDetail,
    BatchClass,
    EssayAssociation,
    ValidationStatus,
)
from class_management_service.implementations.postgres.association_rows import (
    INSERT_ASSOCIATIONS,
    SAVE_DECISIONS,
    array_param,
    association_from_row,
    decision_params,
    detail_from_row,
    insert_params,
)
from class_management_service.implementations.postgres.session_connection import SessionConnection
from class_management_service.models_db import classes, students
from class_management_service.models_db import essay_student_associations as esa
from common_core.courses import course_by_id

_PENDING = ValidationStatus.PENDING.value


def advisory_lock_key(batch_id: UUID) -> int:
    """The batch's advisory lock key: its first 8 bytes as a signed 64-bit integer."""
    return int.from_bytes(batch_id.bytes[:8], "big", signed=True)


_EXISTING_ESSAYS = select(esa.c.essay_id).where(
    esa.c.essay_id == any_(array_param("essay_ids", Uuid()))
)
_OTHER_CLASS = select(
    exists().where(esa.c.batch_id == bindparam("batch_id"), esa.c.class_id != bindparam("class_id"))
)
_LOCK_BATCH = (
    select(esa).where(esa.c.batch_id == bindparam("batch_id")).order_by(esa.c.id).with_for_update()
)
_TRY_LOCK = select(func.pg_try_advisory_xact_lock(bindparam("key", type_=BigInteger())))


def _due(cutoff: ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(esa.c.validation_status == _PENDING, esa.c.created_at <= cutoff)


_LOCK_DUE = (
    select(esa)
    .where(esa.c.batch_id == bindparam("batch_id"), _due(bindparam("cutoff")))
    .order_by(esa.c.essay_id)
    .with_for_update(skip_locked=True)
)
_DUE_BATCHES = (
    select(esa.c.batch_id)
    .where(
        _due(bindparam("cutoff")),
        esa.c.batch_id != all_(array_param("exclude", Uuid())),
    )
    .group_by(esa.c.batch_id)
    .order_by(func.min(esa.c.created_at), esa.c.batch_id)
    .limit(bindparam("limit", type_=Integer()))
)

_suggested = students.alias("suggested_student")
_current = students.alias("current_student")
_DETAILS = (
    select(
        esa,
        _suggested.c.first_name.label("suggested_first_name"),
        _suggested.c.last_name.label("suggested_last_name"),
        _suggested.c.legal_full_name.label("suggested_legal_full_name"),
        _current.c.first_name.label("current_first_name"),
        _current.c.last_name.label("current_last_name"),
        _current.c.legal_full_name.label("current_legal_full_name"),
    )
    .select_from(
        esa.outerjoin(_suggested, _suggested.c.id == esa.c.suggested_student_id).outerjoin(
            _current, _current.c.id == esa.c.student_id
        )
    )
    .order_by(esa.c.created_at.desc(), esa.c.essay_id)
)
_DETAILS_OF_BATCH = _DETAILS.where(esa.c.batch_id == bindparam("batch_id"))
_DETAIL_OF_ESSAY = _DETAILS.where(esa.c.essay_id == bindparam("essay_id"))

# All rows of a batch share one class, so any row names it.
_BATCH_CLASSES = (
    select(
        esa.c.batch_id,
        classes.c.id,
        classes.c.name,
        classes.c.course_id,
        classes.c.created_by_user_id,
    )
    .ext(distinct_on(esa.c.batch_id))
    .join(classes, classes.c.id == esa.c.class_id)
    .where(esa.c.batch_id == any_(array_param("batch_ids", Uuid())))
    .order_by(esa.c.batch_id)
)


class PostgreSQLAssociations:
    def __init__(self, connection: SessionConnection) -> None:
        self._connection = connection

    async def add_many(self, associations: Sequence[EssayAssociation]) -> None:
        if associations:
            await self._connection.execute(INSERT_ASSOCIATIONS, insert_params(associations))

    async def existing_essay_ids(self, essay_ids: Collection[UUID]) -> set[UUID]:
        if not essay_ids:
            return set()
        result = await self._connection.execute(_EXISTING_ESSAYS, {"essay_ids": list(essay_ids)})
        return set(result.scalars())

    async def batch_has_other_class(self, batch_id: UUID, class_id: UUID) -> bool:
        result = await self._connection.execute(
            _OTHER_CLASS, {"batch_id": batch_id, "class_id": class_id}
        )
        return bool(result.scalar_one())

    async def lock_batch(self, batch_id: UUID) -> list[EssayAssociation]:
        result = await self._connection.execute(_LOCK_BATCH, {"batch_id": batch_id})
        return [association_from_row(row) for row in result]

    async def try_lock_batch(self, batch_id: UUID) -> bool:
        result = await self._connection.execute(_TRY_LOCK, {"key": advisory_lock_key(batch_id)})
        return bool(result.scalar_one())

    async def lock_due_pending(self, batch_id: UUID, cutoff: datetime) -> list[EssayAssociation]:
        result = await self._connection.execute(_LOCK_DUE, {"batch_id": batch_id, "cutoff": cutoff})
        return [association_from_row(row) for row in result]

    async def due_batch_ids(
        self, cutoff: datetime, *, exclude: Collection[UUID], limit: int
    ) -> list[UUID]:
        result = await self._connection.execute(
            _DUE_BATCHES, {"cutoff": cutoff, "exclude": list(exclude), "limit": limit}
        )
        return list(result.scalars())

    async def save_decisions(self, associations: Sequence[EssayAssociation]) -> None:
        if associations:
            await self._connection.execute(SAVE_DECISIONS, decision_params(associations))

    async def details_of_batch(self, batch_id: UUID) -> list[AssociationDetail]:
        result = await self._connection.execute(_DETAILS_OF_BATCH, {"batch_id": batch_id})
        return [detail_from_row(row) for row in result]

    async def detail_of_essay(self, essay_id: UUID) -> AssociationDetail | None:
        row = (await self._connection.execute(_DETAIL_OF_ESSAY, {"essay_id": essay_id})).first()
        return None if row is None else detail_from_row(row)

    async def batch_classes(self, batch_ids: Collection[UUID]) -> dict[UUID, BatchClass]:
        if not batch_ids:
            return {}
        result = await self._connection.execute(_BATCH_CLASSES, {"batch_ids": list(batch_ids)})
        return {
            row.batch_id: BatchClass(
                batch_id=row.batch_id,
                class_id=row.id,
                class_name=row.name,
                course=course_by_id(row.course_id),
                owner_id=row.created_by_user_id,
            )
            for row in result
        }
