"""Request bodies and query strings of the public API.

The body models validate requests and describe them in the OpenAPI document. Where a rule is a
validator rather than a constraint pydantic can render (trimming, NUL, e-mail syntax, exactly one
course), ``WithJsonSchema`` states it for clients, so that a request the document calls valid is
accepted and one it calls invalid is refused. The query models only document: the routes parse
query strings themselves (digits-only integers, first occurrence wins, §5).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from class_management_service.domain.rules import normalize_email, parse_canonical_uuid
from common_core.courses import CourseCode


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


# JSON Schema patterns (ECMA-262 and Python re alike): no U+0000 anywhere, and for required
# texts at least one character that trimming keeps.
NO_NUL = "^[^\\u0000]*$"
BLANK = {"type": "string", "pattern": "^\\s*$"}
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
# The accepted e-mail syntax of domain.rules.normalize_email: a dot-atom local part of at most
# 64 characters (written as bounded atoms: generators cannot satisfy a look-ahead), a domain of
# at least two labels, optional surrounding whitespace (trimmed).
_ATOM_CHAR = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_PART = f"{_ATOM_CHAR}{{1,32}}(?:\\.{_ATOM_CHAR}{{1,15}}){{0,2}}"
_LABEL_CHAR = "A-Za-z0-9\\u00a1-\\ud7ff\\ue000-\\uffff"
_LABEL = f"[{_LABEL_CHAR}](?:[{_LABEL_CHAR}-]{{0,61}}[{_LABEL_CHAR}])?"
EMAIL_PATTERN = f"^\\s*{_LOCAL_PART}@{_LABEL}(?:\\.{_LABEL})+\\s*$"


def _text_schema(min_length: int, max_length: int, pattern: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "minLength": min_length, "maxLength": max_length, "pattern": pattern}
    )


CanonicalUUID = Annotated[
    UUID, BeforeValidator(_canonical_uuid), WithJsonSchema({"type": "string", "format": "uuid"})
]
ClassName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_no_nul),
    _text_schema(1, 100, NOT_BLANK),
]
PersonNamePart = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(_no_nul),
    _text_schema(1, 255, NOT_BLANK),
]
LegalName = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=512),
    AfterValidator(_no_nul),
    AfterValidator(_blank_to_none),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "maxLength": 512, "pattern": NO_NUL}, {"type": "null"}]}
    ),
]
Email = Annotated[
    str,
    AfterValidator(normalize_email),
    _text_schema(3, 255, EMAIL_PATTERN),
]
# Exactly one course per class: the list is the platform's shape, not a choice (§6.3).
CourseCodes = Annotated[
    list[Annotated[str, Field(strict=True)]],
    Field(min_length=1),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "enum": [code.value for code in CourseCode]},
            "minItems": 1,
            "maxItems": 1,
        }
    ),
]
ClassIds = Annotated[list[CanonicalUUID], Field(max_length=100)]


class _Body(BaseModel):
    # Unknown fields are ignored (contract §1); strings are never coerced from numbers.
    model_config = ConfigDict(extra="ignore", strict=False, str_strip_whitespace=False)


class CreateClassBody(_Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "9B English", "course_codes": ["ENG5"]}]}
    )

    name: ClassName
    course_codes: CourseCodes


class UpdateClassBody(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "9B English (spring)"}]})

    name: ClassName | None = None
    course_codes: CourseCodes | None = None


class PersonNameBody(_Body):
    first_name: PersonNamePart
    last_name: PersonNamePart
    legal_full_name: LegalName = None


class CreateStudentBody(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_name": {
                        "first_name": "Anna",
                        "last_name": "Lindqvist",
                        "legal_full_name": "Anna Maria Lindqvist",
                    },
                    "email": "Anna.Lindqvist@example.com",
                }
            ]
        }
    )

    person_name: PersonNameBody
    email: Email | None = None
    class_ids: ClassIds | None = None


class UpdateStudentBody(_Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "anna.lindqvist@example.se"}]}
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "associations": [
                        {"essay_id": "50fb4250-26f8-4206-bec0-9167fbe84389", "confirmed": True},
                        {"essay_id": "eb2399a7-5152-4f06-a0dd-2f643cb6454f", "confirmed": False},
                    ]
                }
            ]
        }
    )

    associations: Annotated[list[ConfirmItemBody], Field(min_length=1, max_length=5000)]


class ImportRows(RootModel[list[ImportRowBody]]):
    """The JSON form of a bulk import: 1-5,000 row objects, e-mails distinct (§7.7)."""

    root: Annotated[list[ImportRowBody], Field(min_length=1, max_length=5000)]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                [
                    {
                        "first_name": "Anna",
                        "last_name": "Lindqvist",
                        "email": "Anna.Lindqvist@example.com",
                        "legal_full_name": "Anna Maria Lindqvist",
                    },
                    {"first_name": "Omar", "last_name": "Haddad", "email": None},
                ]
            ]
        }
    )


class PageQuery(BaseModel):
    limit: int = Field(default=20, ge=1, description="values above 100 are clamped to 100")
    offset: int = Field(default=0, ge=0)


class StudentListQuery(PageQuery):
    class_id: UUID | None = Field(default=None, description="only students of this class")
    q: str | None = Field(
        default=None,
        max_length=100,
        pattern=NO_NUL,
        description="case-insensitive substring of a name or the e-mail; trimmed",
    )


class BatchIdsQuery(BaseModel):
    batch_ids: Annotated[
        list[str],
        WithJsonSchema(
            {
                "type": "array",
                # Blank elements are skipped (http-api.md §10.3): "a,,b" and "" are valid.
                "items": {"anyOf": [{"type": "string", "format": "uuid"}, BLANK]},
                # No maxItems: the limit counts distinct ids (duplicates collapse), which JSON
                # Schema cannot say; more than 100 distinct answer 400 too_many_ids.
            }
        ),
    ] = Field(default_factory=list, description="comma-separated batch ids, at most 100 distinct")
