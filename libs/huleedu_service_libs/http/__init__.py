"""Reusable HTTP parts for HuleEdu Quart services (contract: http-api.md §1-§5)."""

from huleedu_service_libs.http.app import HuleEduApp
from huleedu_service_libs.http.auth import has_service_credentials, require_service, require_teacher
from huleedu_service_libs.http.body import (
    MAX_BODY_BYTES,
    RawBody,
    decode_json,
    parse_model,
    read_body,
    read_json_body,
)
from huleedu_service_libs.http.correlation import CORRELATION_HEADER, current_correlation_id
from huleedu_service_libs.http.error_handlers import register_error_handlers
from huleedu_service_libs.http.params import ClassIdConverter, parse_pagination, parse_uuid
from huleedu_service_libs.http.responses import json_response
from huleedu_service_libs.http.setup import configure_http
from huleedu_service_libs.http.uuids import CanonicalUUID

__all__ = [
    "CORRELATION_HEADER",
    "MAX_BODY_BYTES",
    "CanonicalUUID",
    "ClassIdConverter",
    "HuleEduApp",
    "RawBody",
    "configure_http",
    "current_correlation_id",
    "decode_json",
    "has_service_credentials",
    "json_response",
    "parse_model",
    "parse_pagination",
    "parse_uuid",
    "read_body",
    "read_json_body",
    "register_error_handlers",
    "require_service",
    "require_teacher",
]
