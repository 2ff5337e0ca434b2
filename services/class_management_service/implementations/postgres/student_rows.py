"""The student read shared by the repositories: row columns plus ascending ``class_ids``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from class_management_service.domain.models import Student
from class_management_service.models_db import enrolments, students

AnyRow: TypeAlias = Row[*tuple[Any, ...]]


def class_ids_of(student_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """Correlated ``array_agg`` of the student's class ids, ascending (NULL when none)."""
    # An alias, so the subquery never correlates with an enrolment join in the outer query.
    own = enrolments.alias("own_enrolments")
    return (
        select(func.array_agg(aggregate_order_by(own.c.class_id, own.c.class_id)))
        .where(own.c.student_id == student_id)
        .scalar_subquery()
    )


STUDENT_TABLE_COLUMNS = (
    students.c.id,
    students.c.first_name,
    students.c.last_name,
    students.c.legal_full_name,
    students.c.email,
    students.c.created_by_user_id,
    students.c.created_at,
    students.c.updated_at,
)
STUDENT_COLUMNS = (*STUDENT_TABLE_COLUMNS, class_ids_of(students.c.id).label("class_ids"))


def student_from_row(row: AnyRow) -> Student:
    first_name: str = row.first_name
    last_name: str = row.last_name
    return Student(
        id=row.id,
        first_name=first_name,
        last_name=last_name,
        # Always written by the service; the fallback only covers rows from other writers.
        legal_full_name=row.legal_full_name or f"{first_name} {last_name}",
        email=row.email,
        owner_id=row.created_by_user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        class_ids=list(row.class_ids or ()),
    )


def student_arrays(students: Sequence[Student]) -> dict[str, list[Any]]:
    """Insert parameters for ``students`` rows: one array per column, in row order."""
    return {
        "ids": [s.id for s in students],
        "first_names": [s.first_name for s in students],
        "last_names": [s.last_name for s in students],
        "legal_full_names": [s.legal_full_name for s in students],
        "emails": [s.email for s in students],
        "owner_ids": [s.owner_id for s in students],
        "created_ats": [s.created_at for s in students],
        "updated_ats": [s.updated_at for s in students],
    }
