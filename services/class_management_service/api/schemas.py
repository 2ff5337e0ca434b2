"""Request bodies of the public API; they drive both validation and the OpenAPI document."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from class_management_service.domain.rules import normalize_email, parse_canonical_uuid


def _canonical_uuid(value: object) -> object:
    if isinstance(value, str):
        return parse_canonical_uuid(value)
    if isinstance(value, UUID):
        return value
    raise ValueError("must be a UUID string")


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def _no_nul(value: str | None) -> str | None:
    # JSON and CSV can carry U+0000, but PostgreSQL text cannot store it (it would be a 500).
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


CanonicalUUID = Annotated[UUID, BeforeValidator(_canonical_uuid)]
ClassName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_no_nul),
]
PersonNamePart = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(_no_nul),
]
LegalName = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=512),
    AfterValidator(_no_nul),
    AfterValidator(_blank_to_none),
]
Email = Annotated[str, AfterValidator(normalize_email)]
CourseCodes = Annotated[list[Annotated[str, Field(strict=True)]], Field(min_length=1)]
ClassIds = Annotated[list[CanonicalUUID], Field(max_length=100)]


class _Body(BaseModel):
    # Unknown fields are ignored (contract §1); strings are never coerced from numbers.
    model_config = ConfigDict(extra="ignore", strict=False, str_strip_whitespace=False)


class CreateClassBody(_Body):
    name: ClassName
    course_codes: CourseCodes


class UpdateClassBody(_Body):
    name: ClassName | None = None
    course_codes: CourseCodes | None = None


class PersonNameBody(_Body):
    first_name: PersonNamePart
    last_name: PersonNamePart
    legal_full_name: LegalName = None


class CreateStudentBody(_Body):
    person_name: PersonNameBody
    email: Email | None = None
    class_ids: ClassIds | None = None


class UpdateStudentBody(_Body):
    person_name: PersonNameBody | None = None
    email: Email | None = None
    add_class_ids: ClassIds | None = None
    remove_class_ids: ClassIds | None = None


class ImportRowBody(_Body):
    first_name: PersonNamePart
    last_name: PersonNamePart
    email: Email | None = None
    legal_full_name: LegalName = None


class ConfirmItemBody(_Body):
    essay_id: CanonicalUUID
    confirmed: StrictBool
    student_id: CanonicalUUID | None = None


class ConfirmAssociationsBody(_Body):
    associations: Annotated[list[ConfirmItemBody], Field(min_length=1, max_length=5000)]
