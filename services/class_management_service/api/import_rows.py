"""Bulk-import bodies (a JSON array or RFC 4180 CSV) as validated rows, all errors at once."""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import ValidationError

from class_management_service.api.schemas import ImportRowBody
from class_management_service.application.bulk_import import MAX_IMPORT_ROWS, ImportRow
from huleedu_service_libs.error_handling import field_error, invalid_body, validation_error

CSV_HEADERS = (
    ("first_name", "last_name", "email"),
    ("first_name", "last_name", "email", "legal_full_name"),
)

# The CSV form for the OpenAPI document: an uploaded file (``format: binary``, the way OpenAPI
# describes one and client generators type it), whose rules the description gives.
CSV_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "binary",
    "contentMediaType": "text/csv",
    "description": (
        "RFC 4180 CSV, UTF-8 (an initial BOM is ignored): the header `first_name,last_name,email`"
        " or `first_name,last_name,email,legal_full_name`, then one record per student "
        "(1-5,000); blank lines are skipped and an empty cell means absent. E-mails must be "
        "distinct."
    ),
    "maxLength": 1_048_576,
    "examples": [
        "first_name,last_name,email\nAnna,Lindqvist,anna.lindqvist@example.com\nOmar,Haddad,\n"
    ],
}


def rows_from_json(data: Any) -> list[ImportRow]:
    if not isinstance(data, list):
        raise invalid_body([field_error("body", "must be a JSON array of rows")])
    return _validate_rows(data)


def rows_from_csv(raw: bytes) -> list[ImportRow]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid_body([field_error("body", "CSV must be UTF-8")]) from None
    records = [record for record in csv.reader(io.StringIO(text, newline="")) if record]
    if not records:
        raise invalid_body([field_error("header", "CSV header line is missing")])
    header = tuple(name.strip().lower() for name in records[0])
    if header not in CSV_HEADERS:
        raise invalid_body(
            [field_error("header", "must be first_name,last_name,email[,legal_full_name]")]
        )
    rows: list[Any] = []
    for record in records[1:]:
        if len(record) != len(header):
            rows.append(_WrongFieldCount(len(record), len(header)))
            continue
        # An empty cell means the field is absent.
        rows.append({name: cell for name, cell in zip(header, record, strict=True) if cell != ""})
    return _validate_rows(rows)


class _WrongFieldCount:
    def __init__(self, got: int, expected: int) -> None:
        self.message = f"has {got} fields, the header has {expected}"


def _validate_rows(rows: list[Any]) -> list[ImportRow]:
    if not rows:
        raise invalid_body([field_error("body", "must contain at least one row")])
    if len(rows) > MAX_IMPORT_ROWS:
        raise validation_error(
            "too_many_rows",
            f"At most {MAX_IMPORT_ROWS} rows can be imported at once",
            max_rows=MAX_IMPORT_ROWS,
            rows=len(rows),
        )
    errors: list[dict[str, Any]] = []
    valid: list[ImportRow] = []
    for number, raw in enumerate(rows, start=1):
        if isinstance(raw, _WrongFieldCount):
            errors.append(field_error("row", raw.message, row=number))
            continue
        if not isinstance(raw, dict):
            errors.append(field_error("row", "must be an object", row=number))
            continue
        try:
            parsed = ImportRowBody.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                path = ".".join(str(part) for part in error["loc"]) or "row"
                errors.append(field_error(path, error["msg"], row=number))
            continue
        valid.append(
            ImportRow(parsed.first_name, parsed.last_name, parsed.email, parsed.legal_full_name)
        )
    errors.extend(_duplicate_email_errors(rows))
    if errors:
        errors.sort(key=lambda item: item["row"])
        raise validation_error("invalid_rows", "Some rows are invalid", errors=errors)
    return valid


def _duplicate_email_errors(rows: list[Any]) -> list[dict[str, Any]]:
    """Every row whose e-mail (lower-cased) appears on another row is invalid."""
    emails: dict[str, list[int]] = {}
    for number, raw in enumerate(rows, start=1):
        email = raw.get("email") if isinstance(raw, dict) else None
        if isinstance(email, str) and email.strip():
            emails.setdefault(email.strip().lower(), []).append(number)
    return [
        field_error("email", "e-mail appears on more than one row", row=number)
        for numbers in emails.values()
        if len(numbers) > 1
        for number in numbers
    ]
