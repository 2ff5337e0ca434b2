"""In-memory association and inbox repositories (``Tables.extra`` "associations" and "inbox")."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from class_management_service.domain.associations import (
    AssociationDetail,
    BatchClass,
    EssayAssociation,
    StudentName,
)
from class_management_service.implementations.memory.store import Tables
from class_management_service.protocols import ProcessedEvent

ASSOCIATIONS = "associations"
INBOX = "inbox"


def _newest_first(rows: list[EssayAssociation]) -> list[EssayAssociation]:
    """``created_at DESC, essay_id ASC`` (two stable sorts, minor key first)."""
    by_essay = sorted(rows, key=lambda row: row.essay_id)
    return sorted(by_essay, key=lambda row: row.created_at, reverse=True)


class InMemoryAssociations:
    """Rows are the immutable domain values themselves, keyed by ``id``.

    The store runs one transaction at a time, so the row locks of the SQL adapter are implicit
    here: every lock is granted and nothing is ever skipped."""

    def __init__(self, tables: Tables) -> None:
        self._t = tables

    @property
    def _rows(self) -> dict[UUID, EssayAssociation]:
        rows: dict[UUID, EssayAssociation] = self._t.extra.setdefault(ASSOCIATIONS, {})
        return rows

    def _of_batch(self, batch_id: UUID) -> list[EssayAssociation]:
        return [row for row in self._rows.values() if row.batch_id == batch_id]

    async def add_many(self, associations: Sequence[EssayAssociation]) -> None:
        known = {row.essay_id for row in self._rows.values()}
        for row in associations:
            if row.essay_id in known:
                # The SQL schema's unique key on essay_id, as an error of the same severity.
                raise ValueError(f"essay {row.essay_id} already has an association")
            known.add(row.essay_id)
            self._rows[row.id] = row

    async def existing_essay_ids(self, essay_ids: Collection[UUID]) -> set[UUID]:
        wanted = set(essay_ids)
        return {row.essay_id for row in self._rows.values() if row.essay_id in wanted}

    async def batch_has_other_class(self, batch_id: UUID, class_id: UUID) -> bool:
        return any(row.class_id != class_id for row in self._of_batch(batch_id))

    async def lock_batch(self, batch_id: UUID) -> list[EssayAssociation]:
        return sorted(self._of_batch(batch_id), key=lambda row: row.id)

    async def try_lock_batch(self, batch_id: UUID) -> bool:
        return True

    async def lock_due_pending(self, batch_id: UUID, cutoff: datetime) -> list[EssayAssociation]:
        due = [
            row for row in self._of_batch(batch_id) if row.is_pending and row.created_at <= cutoff
        ]
        return sorted(due, key=lambda row: row.essay_id)

    async def due_batch_ids(
        self, cutoff: datetime, *, exclude: Collection[UUID], limit: int
    ) -> list[UUID]:
        skipped = set(exclude)
        oldest: dict[UUID, datetime] = {}
        for row in self._rows.values():
            if row.is_pending and row.created_at <= cutoff and row.batch_id not in skipped:
                current = oldest.get(row.batch_id)
                if current is None or row.created_at < current:
                    oldest[row.batch_id] = row.created_at
        ordered = sorted(oldest, key=lambda batch_id: (oldest[batch_id], batch_id))
        return ordered[:limit]

    async def save_decisions(self, associations: Sequence[EssayAssociation]) -> None:
        for row in associations:
            self._rows[row.id] = row

    def _name(self, student_id: UUID | None) -> StudentName | None:
        student = self._t.students.get(student_id) if student_id is not None else None
        if student is None:
            return None
        return StudentName(student.first_name, student.last_name, student.legal_full_name)

    def _detail(self, row: EssayAssociation) -> AssociationDetail:
        return AssociationDetail(
            association=row,
            suggested_student_name=self._name(row.suggested_student_id),
            student_name=self._name(row.student_id),
        )

    async def details_of_batch(self, batch_id: UUID) -> list[AssociationDetail]:
        return [self._detail(row) for row in _newest_first(self._of_batch(batch_id))]

    async def detail_of_essay(self, essay_id: UUID) -> AssociationDetail | None:
        for row in self._rows.values():
            if row.essay_id == essay_id:
                return self._detail(row)
        return None

    async def batch_classes(self, batch_ids: Collection[UUID]) -> dict[UUID, BatchClass]:
        wanted = set(batch_ids)
        found: dict[UUID, BatchClass] = {}
        for row in self._rows.values():
            school_class = self._t.classes.get(row.class_id)
            if row.batch_id in wanted and row.batch_id not in found and school_class is not None:
                found[row.batch_id] = BatchClass(
                    batch_id=row.batch_id,
                    class_id=school_class.id,
                    class_name=school_class.name,
                    course=school_class.course,
                    owner_id=school_class.owner_id,
                )
        return found


class InMemoryInbox:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, event: ProcessedEvent) -> bool:
        rows: dict[Any, Any] = self._t.extra.setdefault(INBOX, {})
        if event.event_id in rows:
            return False
        rows[event.event_id] = event
        return True
