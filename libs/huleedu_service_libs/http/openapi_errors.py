"""The standard error body (contract §4.1) as a model: the OpenAPI document's error component.

Responses are rendered by ``error_handlers``; this model only describes them. The contract tests
(schemathesis' response-schema check) prove the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from quart_schema import document_response

from common_core.error_enums import ErrorCode

ErrorReason = Literal[
    "invalid_json",
    "unsupported_media_type",
    "invalid_body",
    "invalid_parameter",
    "unknown_course_code",
    "multiple_course_codes",
    "unknown_reference",
    "invalid_rows",
    "too_many_rows",
    "too_many_ids",
    "conflict",
    "payload_too_large",
    "method_not_allowed",
    "missing_user_id",
    "invalid_user_id",
    "missing_service_credentials",
    "invalid_service_credentials",
    "service_not_allowed",
    "not_found",
    "route_not_found",
    "dependency_unavailable",
    "processing_failed",
]


class ErrorItem(BaseModel):
    """One problem of a request: where (a dot path, a parameter name, ``body`` or ``header``)."""

    model_config = ConfigDict(extra="allow")

    field: str
    message: str
    id: UUID | None = Field(default=None, description="the offending id (`unknown_reference`)")
    row: int | None = Field(default=None, ge=1, description="1-based import row (`invalid_rows`)")


class ErrorDetails(BaseModel):
    """Machine-readable details; the keys besides ``reason`` depend on it (contract §4.3)."""

    model_config = ConfigDict(extra="allow")

    reason: ErrorReason | None = None
    errors: list[ErrorItem] | None = None


class ErrorObject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: ErrorCode
    message: str
    correlation_id: UUID
    service: str
    timestamp: datetime
    details: ErrorDetails


class ErrorBody(BaseModel):
    """The standard error body of every error response."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorObject


# What each status means on this platform, shown as the response's description.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid request: parameter, media type, JSON or body validation (`VALIDATION_ERROR`)",
    401: "Missing or invalid identity (`AUTHENTICATION_ERROR`)",
    404: "Not found, or owned by someone else (`RESOURCE_NOT_FOUND`)",
    409: "A uniqueness rule was violated (`VALIDATION_ERROR`, reason `conflict`)",
    413: "Body larger than 1 MiB (`VALIDATION_ERROR`, reason `payload_too_large`)",
    500: "Unexpected failure (`UNKNOWN_ERROR` or `PROCESSING_ERROR`)",
    502: "PostgreSQL unreachable or timed out (`EXTERNAL_SERVICE_ERROR`)",
}

FuncT = TypeVar("FuncT", bound=Callable[..., object])


def document_errors(*statuses: int) -> Callable[[FuncT], FuncT]:
    """Document the error body for each of ``statuses`` on a route (descriptions above)."""

    def decorator(func: FuncT) -> FuncT:
        for status in statuses:
            func = document_response(ErrorBody, status)(func)
        return func

    return decorator
