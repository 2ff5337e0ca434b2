"""Checks that class ids named in a request body belong to the caller (``unknown_reference``)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from class_management_service.domain.models import ClassReference
from class_management_service.protocols import ClassesProtocol
from huleedu_service_libs.error_handling import field_error, validation_error


def first_occurrences(field: str, ids: Sequence[UUID] | None) -> dict[UUID, str]:
    """Collapse duplicates, remembering the request path of each id's first occurrence."""
    seen: dict[UUID, str] = {}
    for index, item in enumerate(ids or ()):
        seen.setdefault(item, f"{field}.{index}")
    return seen


async def load_owned_classes(
    classes: ClassesProtocol, owner_id: str, *fields: dict[UUID, str]
) -> dict[UUID, ClassReference]:
    """The referenced classes that exist and belong to ``owner_id``, locked against deletion.

    Callers that also lock a student take these class locks first: bulk imports and class
    deletes lock the class row before touching its students, and one lock order keeps
    concurrent requests waiting for each other instead of deadlocking.
    """
    wanted: dict[UUID, str] = {}
    for mapping in fields:
        for class_id, path in mapping.items():
            wanted.setdefault(class_id, path)
    if not wanted:
        return {}
    return await classes.get_many(owner_id, wanted.keys())


def require_all_found(found: dict[UUID, ClassReference], *fields: dict[UUID, str]) -> None:
    """Report every missing or foreign class together (400 ``unknown_reference``)."""
    errors = [
        field_error(path, "class does not exist", id=str(class_id))
        for mapping in fields
        for class_id, path in mapping.items()
        if class_id not in found
    ]
    if errors:
        raise validation_error(
            "unknown_reference", "Referenced classes do not exist", errors=errors
        )


async def require_owned_classes(
    classes: ClassesProtocol, owner_id: str, *fields: dict[UUID, str]
) -> dict[UUID, ClassReference]:
    """Load every referenced class; report all missing or foreign ones together."""
    found = await load_owned_classes(classes, owner_id, *fields)
    require_all_found(found, *fields)
    return found
