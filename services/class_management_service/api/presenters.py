"""JSON representations of classes and students (http-api.md §6)."""

from __future__ import annotations

from typing import Any

from class_management_service.domain.models import Page, SchoolClass, Student
from common_core.timeutil import to_iso_z


def class_json(school_class: SchoolClass) -> dict[str, Any]:
    return {
        "id": str(school_class.id),
        "name": school_class.name,
        "course_code": school_class.course.code.value,
        "course_name": school_class.course.name,
        "language": school_class.course.language.value,
        "student_count": school_class.student_count,
        "created_at": to_iso_z(school_class.created_at),
        "updated_at": to_iso_z(school_class.updated_at),
    }


def student_json(student: Student) -> dict[str, Any]:
    return {
        "id": str(student.id),
        "first_name": student.first_name,
        "last_name": student.last_name,
        "legal_full_name": student.legal_full_name,
        "full_name": student.full_name,
        "email": student.email,
        "class_ids": [str(class_id) for class_id in student.class_ids],
        "created_at": to_iso_z(student.created_at),
        "updated_at": to_iso_z(student.updated_at),
    }


def roster_entry_json(student: Student) -> dict[str, Any]:
    return {
        "student_id": str(student.id),
        "first_name": student.first_name,
        "last_name": student.last_name,
        "full_legal_name": student.legal_full_name,
        "email": student.email,
    }


def pagination_json(page: Page[Any], *, limit: int, offset: int) -> dict[str, int]:
    return {"limit": limit, "offset": offset, "returned": len(page.items), "total": page.total}
