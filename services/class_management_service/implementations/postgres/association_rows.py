"""Association rows ⇄ domain values: reading Core rows, writing values as column arrays."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    DateTime,
    Double,
    String,
    Text,
    Uuid,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)

from class_management_service.domain.associations import (
    AssociationDetail,
    EssayAssociation,
    StudentName,
    ValidationStatus,
)
from class_management_service.implementations.postgres.student_rows import AnyRow
from class_management_service.models_db import essay_student_associations as esa
from common_core.enums import ValidationMethod


def array_param(name: str, item_type: Any) -> Any:
    return bindparam(name, type_=ARRAY(item_type))


# Every row of a call travels as one array per column and is unnested server-side: one
# statement with a fixed text (cached, prepared once) whatever the row count, and no limit on
# the number of bind parameters.
INSERTED = (
    func.unnest(
        array_param("id", Uuid()),
        array_param("essay_id", Uuid()),
        array_param("batch_id", Uuid()),
        array_param("class_id", Uuid()),
        array_param("student_id", Uuid()),
        array_param("suggested_student_id", Uuid()),
        array_param("confidence_score", Double()),
        array_param("match_reasons", Text()),
        array_param("no_match_reason", Text()),
        array_param("created_by_user_id", String()),
        array_param("created_at", DateTime(timezone=True)),
        array_param("validation_status", String()),
        array_param("validated_by", String()),
        array_param("validated_at", DateTime(timezone=True)),
        array_param("validation_method", String()),
    )
    .table_valued(
        "id",
        "essay_id",
        "batch_id",
        "class_id",
        "student_id",
        "suggested_student_id",
        "confidence_score",
        "match_reasons",
        "no_match_reason",
        "created_by_user_id",
        "created_at",
        "validation_status",
        "validated_by",
        "validated_at",
        "validation_method",
    )
    .render_derived(name="new_rows")
)
INSERT_ASSOCIATIONS = insert(esa).from_select(
    [column.name for column in INSERTED.c],
    select(
        *(
            cast(column, JSON).label(column.name) if column.name == "match_reasons" else column
            for column in INSERTED.c
        )
    ),
)

DECISION_COLUMNS = (
    "id",
    "student_id",
    "validation_status",
    "validated_by",
    "validated_at",
    "validation_method",
)
# UPDATE reserves bind names equal to column names, hence the prefix.
_DECIDED = (
    func.unnest(
        array_param("decided_id", Uuid()),
        array_param("decided_student_id", Uuid()),
        array_param("decided_validation_status", String()),
        array_param("decided_validated_by", String()),
        array_param("decided_validated_at", DateTime(timezone=True)),
        array_param("decided_validation_method", String()),
    )
    .table_valued(*DECISION_COLUMNS)
    .render_derived(name="decided")
)
SAVE_DECISIONS = (
    update(esa)
    .where(esa.c.id == _DECIDED.c.id)
    .values(
        student_id=_DECIDED.c.student_id,
        validation_status=_DECIDED.c.validation_status,
        validated_by=_DECIDED.c.validated_by,
        validated_at=_DECIDED.c.validated_at,
        validation_method=_DECIDED.c.validation_method,
    )
)


def association_from_row(row: AnyRow) -> EssayAssociation:
    reasons = row.match_reasons
    method = row.validation_method
    return EssayAssociation(
        id=row.id,
        essay_id=row.essay_id,
        batch_id=row.batch_id,
        class_id=row.class_id,
        student_id=row.student_id,
        suggested_student_id=row.suggested_student_id,
        confidence_score=row.confidence_score,
        match_reasons=tuple(reasons) if reasons is not None else None,
        no_match_reason=row.no_match_reason,
        created_at=row.created_at,
        created_by_user_id=row.created_by_user_id,
        validation_status=ValidationStatus(row.validation_status),
        validated_by=row.validated_by,
        validated_at=row.validated_at,
        validation_method=ValidationMethod(method) if method is not None else None,
    )


def _name(first: str | None, last: str | None, legal: str | None) -> StudentName | None:
    if first is None or last is None:
        return None
    # legal_full_name is nullable in the schema; the service always writes it.
    return StudentName(first, last, legal or f"{first} {last}")


def detail_from_row(row: AnyRow) -> AssociationDetail:
    return AssociationDetail(
        association=association_from_row(row),
        suggested_student_name=_name(
            row.suggested_first_name, row.suggested_last_name, row.suggested_legal_full_name
        ),
        student_name=_name(
            row.current_first_name, row.current_last_name, row.current_legal_full_name
        ),
    )


def _json_text(reasons: tuple[str, ...]) -> str:
    return json.dumps(list(reasons), ensure_ascii=False)


def _enum_value(value: ValidationStatus | ValidationMethod) -> str:
    return value.value


# Columns whose Python value differs from what the array parameter carries.
_TO_PARAMETER: dict[str, Callable[[Any], Any]] = {
    "match_reasons": _json_text,
    "validation_status": _enum_value,
    "validation_method": _enum_value,
}


def column_arrays(rows: Sequence[EssayAssociation], *names: str) -> dict[str, list[Any]]:
    """Column-wise parameters for the unnest statements."""
    params: dict[str, list[Any]] = {}
    for name in names:
        values = [getattr(row, name) for row in rows]
        convert = _TO_PARAMETER.get(name)
        if convert is not None:
            values = [None if value is None else convert(value) for value in values]
        params[name] = values
    return params


def insert_params(rows: Sequence[EssayAssociation]) -> dict[str, list[Any]]:
    return column_arrays(rows, *(column.name for column in INSERTED.c))


def decision_params(rows: Sequence[EssayAssociation]) -> dict[str, list[Any]]:
    columns = column_arrays(rows, *DECISION_COLUMNS)
    return {f"decided_{name}": values for name, values in columns.items()}
