"""PostgreSQL ``ClassesProtocol``: Core statements, each read with its ``student_count``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    Select,
    Uuid,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from class_management_service.domain.models import ClassReference, Page, SchoolClass, Student
from class_management_service.implementations.postgres.session_connection import SessionConnection
from class_management_service.implementations.postgres.student_rows import (
    STUDENT_COLUMNS,
    AnyRow,
    student_from_row,
)
from class_management_service.models_db import classes, enrolments, students
from common_core.courses import course_by_id
from common_core.topics import SYSTEM_TIMEOUT

UNKNOWN_FIRST_NAME = "UNKNOWN"
UNKNOWN_LAST_NAME = "STUDENT"

CLASS_COLUMNS = (
    classes.c.id,
    classes.c.name,
    classes.c.created_by_user_id,
    classes.c.course_id,
    classes.c.created_at,
    classes.c.updated_at,
)


def placeholder_email(class_id: UUID) -> str:
    """The UNKNOWN placeholder's e-mail; with owner ``SYSTEM_TIMEOUT`` it identifies the row."""
    return f"unknown.{class_id}@huleedu.system"


def _student_count(class_id: Any) -> Any:
    # Only the placeholder is enrolled with an owner other than the class's, so excluding
    # SYSTEM_TIMEOUT students excludes exactly the class's UNKNOWN placeholder.
    # Written as NOT EXISTS on "owner = SYSTEM_TIMEOUT" (an index probe on a handful of rows)
    # rather than a join filtered on "owner != SYSTEM_TIMEOUT": with skewed class sizes the
    # planner hash-joined the join form against a sequential scan of every student, ~16 ms per
    # class at 68,000 students, paid by every class read (20 times per list page).
    placeholder = (
        select(students.c.id)
        .where(
            students.c.id == enrolments.c.student_id,
            students.c.created_by_user_id == SYSTEM_TIMEOUT,
        )
        .correlate(enrolments)
    )
    return (
        select(func.count())
        .select_from(enrolments)
        .where(enrolments.c.class_id == class_id, ~exists(placeholder))
        .scalar_subquery()
        .label("student_count")
    )


@cache
def _get_statement(*, by_owner: bool, for_update: bool) -> Select[Any]:
    statement = select(*CLASS_COLUMNS, _student_count(classes.c.id)).where(
        classes.c.id == bindparam("class_id")
    )
    if by_owner:
        statement = statement.where(classes.c.created_by_user_id == bindparam("owner_id"))
    if for_update:
        statement = statement.with_for_update(of=classes)
    return statement


# Referenced classes are locked FOR KEY SHARE (what the enrolment's foreign key check takes
# anyway, but now before the check passes): a concurrent class delete either waits for this
# transaction or has committed first, so the class is reported missing (unknown_reference)
# instead of the enrolment insert failing on the foreign key (a 500).
# Without the student count: counting a large class on every enrolment made student creation
# cost O(class size) in PostgreSQL.
_GET_MANY = (
    select(classes.c.id, classes.c.name)
    .where(
        classes.c.created_by_user_id == bindparam("owner_id"),
        classes.c.id == any_(bindparam("class_ids", type_=ARRAY(Uuid()))),
    )
    .order_by(classes.c.id)
    .with_for_update(read=True, key_share=True, of=classes)
)


def _list_statement() -> Select[Any]:
    # Page first, then count students only for the page's rows.
    page = (
        select(*CLASS_COLUMNS, func.count().over().label("total"))
        .where(classes.c.created_by_user_id == bindparam("owner_id"))
        .order_by(classes.c.created_at.desc(), classes.c.id.desc())
        .limit(bindparam("limit", type_=Integer()))
        # OFFSET is a bigint in PostgreSQL and the API accepts offsets up to 2**63 - 1.
        .offset(bindparam("offset", type_=BigInteger()))
        .subquery("page")
    )
    return select(page, _student_count(page.c.id)).order_by(
        page.c.created_at.desc(), page.c.id.desc()
    )


_LIST = _list_statement()


_COUNT = select(func.count()).where(classes.c.created_by_user_id == bindparam("owner_id"))

_ROSTER = (
    select(*STUDENT_COLUMNS)
    .join(enrolments, enrolments.c.student_id == students.c.id)
    .where(
        enrolments.c.class_id == bindparam("class_id"),
        students.c.created_by_user_id != SYSTEM_TIMEOUT,
    )
    # lower() uses the database's case mapping; COLLATE "C" then compares by code point.
    .order_by(
        func.lower(students.c.last_name).collate("C"),
        func.lower(students.c.first_name).collate("C"),
        students.c.id,
    )
)


_GET_FOR_SHARE = _get_statement(by_owner=False, for_update=False).with_for_update(
    read=True, of=classes
)
_ENROLLED_IDS = select(enrolments.c.student_id).where(
    enrolments.c.class_id == bindparam("class_id")
)
# Get-or-create in two statements (matching.md §5.4): a racing creator's INSERT waits on the
# unique index and then does nothing; the separate SELECT takes a new snapshot that sees the
# winner's committed row, which a single INSERT ... RETURNING statement could not.
_INSERT_PLACEHOLDER = pg_insert(students).on_conflict_do_nothing(
    constraint="uix_student_email_user"
)
_PLACEHOLDER_ID = select(students.c.id).where(
    students.c.email == bindparam("email"), students.c.created_by_user_id == SYSTEM_TIMEOUT
)
_ENROL_PLACEHOLDER = pg_insert(enrolments).on_conflict_do_nothing(
    constraint="class_student_association_pkey"
)


def _class_from_row(row: AnyRow) -> SchoolClass:
    return SchoolClass(
        id=row.id,
        name=row.name,
        course=course_by_id(row.course_id),
        owner_id=row.created_by_user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        student_count=row.student_count,
    )


class PostgreSQLClasses:
    def __init__(self, connection: SessionConnection) -> None:
        self._connection = connection

    async def add(self, school_class: SchoolClass) -> None:
        await self._connection.execute(
            insert(classes),
            {
                "id": school_class.id,
                "name": school_class.name,
                "created_by_user_id": school_class.owner_id,
                "course_id": school_class.course.id,
                "created_at": school_class.created_at,
                "updated_at": school_class.updated_at,
            },
        )

    async def get(
        self, class_id: UUID, *, owner_id: str | None, for_update: bool = False
    ) -> SchoolClass | None:
        statement = _get_statement(by_owner=owner_id is not None, for_update=for_update)
        params: dict[str, Any] = {"class_id": class_id}
        if owner_id is not None:
            params["owner_id"] = owner_id
        row = (await self._connection.execute(statement, params)).first()
        return None if row is None else _class_from_row(row)

    async def get_many(
        self, owner_id: str, class_ids: Collection[UUID]
    ) -> dict[UUID, ClassReference]:
        if not class_ids:
            return {}
        result = await self._connection.execute(
            _GET_MANY, {"owner_id": owner_id, "class_ids": list(class_ids)}
        )
        return {row.id: ClassReference(row.id, row.name) for row in result}

    async def list_page(self, owner_id: str, *, limit: int, offset: int) -> Page[SchoolClass]:
        params: dict[str, Any] = {"owner_id": owner_id, "limit": limit, "offset": offset}
        rows = (await self._connection.execute(_LIST, params)).all()
        if rows:
            return Page([_class_from_row(row) for row in rows], rows[0].total)
        # An empty page carries no window count; only an offset past the end needs a recount.
        total = (await self._connection.execute(_COUNT, params)).scalar_one() if offset else 0
        return Page([], total)

    async def save(self, school_class: SchoolClass) -> None:
        await self._connection.execute(
            update(classes)
            .where(classes.c.id == school_class.id)
            .values(
                name=school_class.name,
                course_id=school_class.course.id,
                updated_at=school_class.updated_at,
            )
        )

    async def delete(self, school_class: SchoolClass) -> None:
        # Enrolments and essay associations go by ON DELETE CASCADE; the placeholder student is
        # not the class's row, so it is removed explicitly in the same transaction.
        await self._connection.execute(delete(classes).where(classes.c.id == school_class.id))
        await self._connection.execute(
            delete(students).where(
                students.c.email == placeholder_email(school_class.id),
                students.c.created_by_user_id == SYSTEM_TIMEOUT,
            )
        )

    async def roster(self, class_id: UUID) -> list[Student]:
        result = await self._connection.execute(_ROSTER, {"class_id": class_id})
        return [student_from_row(row) for row in result]

    async def get_for_share(self, class_id: UUID) -> SchoolClass | None:
        row = (await self._connection.execute(_GET_FOR_SHARE, {"class_id": class_id})).first()
        return None if row is None else _class_from_row(row)

    async def enrolled_student_ids(self, class_id: UUID) -> set[UUID]:
        result = await self._connection.execute(_ENROLLED_IDS, {"class_id": class_id})
        return set(result.scalars())

    async def unknown_student(self, class_id: UUID, now: datetime) -> UUID:
        email = placeholder_email(class_id)
        await self._connection.execute(
            _INSERT_PLACEHOLDER,
            {
                "id": uuid4(),
                "first_name": UNKNOWN_FIRST_NAME,
                "last_name": UNKNOWN_LAST_NAME,
                "legal_full_name": f"{UNKNOWN_FIRST_NAME} {UNKNOWN_LAST_NAME}",
                "email": email,
                "created_by_user_id": SYSTEM_TIMEOUT,
                "created_at": now,
                "updated_at": now,
            },
        )
        student_id: UUID = (
            await self._connection.execute(_PLACEHOLDER_ID, {"email": email})
        ).scalar_one()
        await self._connection.execute(
            _ENROL_PLACEHOLDER, {"class_id": class_id, "student_id": student_id}
        )
        return student_id
