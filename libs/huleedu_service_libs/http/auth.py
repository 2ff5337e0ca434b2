"""Caller identity from headers: teachers (contract §2.1) and internal services (§2.2, §2.3)."""

from __future__ import annotations

import hmac
from collections.abc import Collection

from quart import Request

from huleedu_service_libs.error_handling import authentication_error

USER_ID_HEADER = "X-User-ID"
API_KEY_HEADER = "X-Internal-API-Key"
SERVICE_ID_HEADER = "X-Service-ID"

MAX_USER_ID_LENGTH = 255
RESERVED_USER_IDS = frozenset({"SYSTEM_TIMEOUT", "nlp_service_phase1"})


def require_teacher(request: Request) -> str:
    """The caller's teacher id: the ``X-User-ID`` value exactly as sent."""
    user_id = request.headers.get(USER_ID_HEADER)
    if user_id is None or not user_id.strip():
        raise authentication_error("missing_user_id", f"{USER_ID_HEADER} header is required")
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise authentication_error(
            "invalid_user_id", f"{USER_ID_HEADER} must be at most {MAX_USER_ID_LENGTH} characters"
        )
    if "\x00" in user_id:
        # HTTP forbids NUL in header values and PostgreSQL cannot store it: never a valid owner.
        raise authentication_error("invalid_user_id", f"{USER_ID_HEADER} contains a NUL character")
    # Compared trimmed so padding cannot smuggle a system identity past the check.
    if user_id.strip() in RESERVED_USER_IDS:
        raise authentication_error("invalid_user_id", f"{USER_ID_HEADER} is a reserved identity")
    return user_id


def has_service_credentials(request: Request) -> bool:
    """Whether the caller chose service mode (§2.3): either service header is present."""
    return API_KEY_HEADER in request.headers or SERVICE_ID_HEADER in request.headers


def require_service(
    request: Request, *, api_key: str | None, allowed_service_ids: Collection[str]
) -> str:
    """The calling service's id after checking the shared key and the allow-list.

    ``api_key`` None or empty means no key is configured: every call is refused.
    An empty ``allowed_service_ids`` accepts any non-blank service id.
    """
    provided_key = request.headers.get(API_KEY_HEADER)
    service_id = request.headers.get(SERVICE_ID_HEADER)
    if (
        provided_key is None
        or not provided_key.strip()
        or service_id is None
        or not service_id.strip()
    ):
        raise authentication_error(
            "missing_service_credentials",
            f"{API_KEY_HEADER} and {SERVICE_ID_HEADER} headers are required",
        )
    if not api_key or not hmac.compare_digest(_wire_bytes(provided_key), api_key.encode("utf-8")):
        raise authentication_error("invalid_service_credentials", "Service credentials are invalid")
    if allowed_service_ids and service_id not in allowed_service_ids:
        raise authentication_error("service_not_allowed", "Service is not allowed to call this API")
    return service_id


def _wire_bytes(header_value: str) -> bytes:
    # ASGI servers decode header bytes as latin-1; encoding back recovers what was sent, so a
    # UTF-8 key configured in the environment compares equal to the same key on the wire.
    try:
        return header_value.encode("latin-1")
    except UnicodeEncodeError:
        return header_value.encode("utf-8")
