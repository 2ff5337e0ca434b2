"""PostgreSQL ``StudentsProtocol``: Core statements, bulk writes as single unnest inserts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    Uuid,
    any_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from class_management_service.domain.models import Page, Student
from class_management_service.implementations.postgres.constraints import conflict_from
from class_management_service.implementations.postgres.session_connection import SessionConnection
from class_management_service.implementations.postgres.student_rows import (
    STUDENT_COLUMNS,
    STUDENT_TABLE_COLUMNS,
    class_ids_of,
    student_arrays,
    student_from_row,
)
from class_management_service.models_db import enrolments
from class_management_service.models_db import students as student_table

# Many rows in one statement: the rows travel as one array per column and unnest zips them
# back together. An executemany would make PostgreSQL run one single-row INSERT per row.
# Every array is cast explicitly, so the text does not depend on how binds are rendered.
_INSERT_STUDENTS = text(
    "INSERT INTO students (id, first_name, last_name, legal_full_name, email,"
    " created_by_user_id, created_at, updated_at)"
    " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:first_names AS text[]),"
    " CAST(:last_names AS text[]), CAST(:legal_full_names AS text[]), CAST(:emails AS text[]),"
    " CAST(:owner_ids AS text[]), CAST(:created_ats AS timestamptz[]),"
    " CAST(:updated_ats AS timestamptz[]))"
)
_INSERT_ENROLMENTS = text(
    "INSERT INTO class_student_association (class_id, student_id)"
    " SELECT * FROM unnest(CAST(:class_ids AS uuid[]), CAST(:student_ids AS uuid[]))"
)
_BY_ID = student_table.c.id == bindparam("student_id")
_OWNED = student_table.c.created_by_user_id == bindparam("owner_id")

_GET = select(*STUDENT_COLUMNS).where(_BY_ID, _OWNED)
_GET_FOR_UPDATE = _GET.with_for_update(of=student_table)
# Locked FOR KEY SHARE: a student found here is about to be enrolled (bulk import), and a
# concurrent delete must either finish first (then the row is simply not found) or wait, rather
# than make the enrolment insert fail on its foreign key.
_BY_EMAILS = (
    select(*STUDENT_COLUMNS)
    .where(_OWNED, student_table.c.email == any_(bindparam("emails", type_=ARRAY(String()))))
    .order_by(student_table.c.id)
    .with_for_update(read=True, key_share=True, of=student_table)
)
_UPDATE = (
    update(student_table)
    .where(_BY_ID)
    .values(
        first_name=bindparam("first_name"),
        last_name=bindparam("last_name"),
        legal_full_name=bindparam("legal_full_name"),
        email=bindparam("email"),
        updated_at=bindparam("updated_at"),
    )
)
_LEAVE = delete(enrolments).where(
    enrolments.c.student_id == bindparam("student_id"),
    enrolments.c.class_id == any_(bindparam("class_ids", type_=ARRAY(Uuid()))),
)
_TOUCH = (
    update(student_table)
    .where(student_table.c.id == any_(bindparam("student_ids", type_=ARRAY(Uuid()))))
    .values(updated_at=bindparam("now"))
)
_DELETE = delete(student_table).where(_BY_ID)


def like_pattern(query: str) -> str:
    """A substring pattern in which ``%``, ``_`` and ``\\`` match themselves."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(*, in_class: bool, searching: bool) -> list[ColumnElement[bool]]:
    conditions = [_OWNED]
    if in_class:
        enrolled = (
            select(enrolments.c.student_id)
            .where(
                enrolments.c.class_id == bindparam("class_id"),
                enrolments.c.student_id == student_table.c.id,
            )
            # OFFSET keeps PostgreSQL from turning EXISTS into a join. A join's plan rests on
            # row estimates, which are badly stale right after a bulk import (a nested loop
            # over 5,000 x 5,000 rows took seconds); a per-row primary-key probe never is.
            .offset(literal_column("0"))
        )
        conditions.append(exists(enrolled))
    if searching:
        pattern = bindparam("pattern", type_=String())
        searched = (
            student_table.c.first_name,
            student_table.c.last_name,
            student_table.c.legal_full_name,
            student_table.c.email,
            student_table.c.first_name + " " + student_table.c.last_name,
        )
        conditions.append(or_(*(column.ilike(pattern, escape="\\") for column in searched)))
    return conditions


@cache
def _list_statement(*, in_class: bool, searching: bool) -> Select[Any]:
    # Page first, then aggregate class ids only for the page's rows.
    page = (
        select(*STUDENT_TABLE_COLUMNS, func.count().over().label("total"))
        .where(*_conditions(in_class=in_class, searching=searching))
        .order_by(student_table.c.created_at.desc(), student_table.c.id.desc())
        .limit(bindparam("limit", type_=Integer()))
        # OFFSET is a bigint in PostgreSQL and the API accepts offsets up to 2**63 - 1.
        .offset(bindparam("offset", type_=BigInteger()))
        .subquery("page")
    )
    return select(page, class_ids_of(page.c.id).label("class_ids")).order_by(
        page.c.created_at.desc(), page.c.id.desc()
    )


@cache
def _count_statement(*, in_class: bool, searching: bool) -> Select[Any]:
    return select(func.count()).where(*_conditions(in_class=in_class, searching=searching))


def _enrolment_arrays(pairs: Sequence[tuple[UUID, UUID]]) -> dict[str, list[UUID]]:
    return {
        "class_ids": [class_id for class_id, _ in pairs],
        "student_ids": [student_id for _, student_id in pairs],
    }


class PostgreSQLStudents:
    def __init__(self, connection: SessionConnection) -> None:
        self._connection = connection

    async def add(self, student: Student) -> None:
        await self.add_many([student])

    async def add_many(self, students: Sequence[Student]) -> None:
        if not students:
            return
        pairs = [(class_id, s.id) for s in students for class_id in s.class_ids]
        try:
            await self._connection.execute(_INSERT_STUDENTS, student_arrays(students))
            if pairs:
                await self._connection.execute(_INSERT_ENROLMENTS, _enrolment_arrays(pairs))
        except IntegrityError as exc:
            conflict = conflict_from(
                exc,
                emails=(s.email for s in students),
                class_ids=(class_id for class_id, _ in pairs),
            )
            if conflict is None:
                raise
            raise conflict from exc

    async def get(
        self, student_id: UUID, *, owner_id: str, for_update: bool = False
    ) -> Student | None:
        statement = _GET_FOR_UPDATE if for_update else _GET
        result = await self._connection.execute(
            statement, {"student_id": student_id, "owner_id": owner_id}
        )
        row = result.first()
        return None if row is None else student_from_row(row)

    async def get_by_emails(self, owner_id: str, emails: Collection[str]) -> dict[str, Student]:
        if not emails:
            return {}
        result = await self._connection.execute(
            _BY_EMAILS, {"owner_id": owner_id, "emails": list(emails)}
        )
        found = (student_from_row(row) for row in result)
        return {student.email: student for student in found if student.email is not None}

    async def list_page(
        self,
        owner_id: str,
        *,
        class_id: UUID | None,
        query: str | None,
        limit: int,
        offset: int,
    ) -> Page[Student]:
        filters = {"in_class": class_id is not None, "searching": bool(query)}
        params: dict[str, Any] = {"owner_id": owner_id, "limit": limit, "offset": offset}
        if class_id is not None:
            params["class_id"] = class_id
        if query:
            params["pattern"] = like_pattern(query)
        rows = (await self._connection.execute(_list_statement(**filters), params)).all()
        if rows:
            return Page([student_from_row(row) for row in rows], rows[0].total)
        # An empty page carries no window count; only an offset past the end needs a recount.
        if not offset:
            return Page([], 0)
        total = (await self._connection.execute(_count_statement(**filters), params)).scalar_one()
        return Page([], total)

    async def save(
        self, student: Student, *, enrolled: Collection[UUID], left: Collection[UUID]
    ) -> None:
        try:
            await self._connection.execute(
                _UPDATE,
                {
                    "student_id": student.id,
                    "first_name": student.first_name,
                    "last_name": student.last_name,
                    "legal_full_name": student.legal_full_name,
                    "email": student.email,
                    "updated_at": student.updated_at,
                },
            )
            if enrolled:
                pairs = [(class_id, student.id) for class_id in enrolled]
                await self._connection.execute(_INSERT_ENROLMENTS, _enrolment_arrays(pairs))
        except IntegrityError as exc:
            conflict = conflict_from(exc, emails=[student.email], class_ids=enrolled)
            if conflict is None:
                raise
            raise conflict from exc
        if left:
            await self._connection.execute(
                _LEAVE, {"student_id": student.id, "class_ids": list(left)}
            )

    async def enroll(self, class_id: UUID, student_ids: Sequence[UUID], now: datetime) -> None:
        if not student_ids:
            return
        pairs = [(class_id, student_id) for student_id in student_ids]
        try:
            await self._connection.execute(_INSERT_ENROLMENTS, _enrolment_arrays(pairs))
        except IntegrityError as exc:
            conflict = conflict_from(exc, class_ids=[class_id])
            if conflict is None:
                raise
            raise conflict from exc
        await self._connection.execute(_TOUCH, {"student_ids": list(student_ids), "now": now})

    async def delete(self, student: Student) -> None:
        await self._connection.execute(_DELETE, {"student_id": student.id})
