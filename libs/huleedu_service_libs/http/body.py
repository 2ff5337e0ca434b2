"""Request bodies in the contract's order (§4.4 steps 5-7): size, media type, JSON, validation."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar, overload

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from quart import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from common_core.error_enums import ErrorCode
from huleedu_service_libs.error_handling import (
    HuleEduError,
    field_error,
    invalid_body,
    validation_error,
)
from huleedu_service_libs.http.responses import JSON_MEDIA_TYPE

MAX_BODY_BYTES = 1_048_576

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class RawBody:
    """A body that passed the size and media-type checks, not yet decoded."""

    media_type: str
    data: bytes


def payload_too_large(max_bytes: int = MAX_BODY_BYTES) -> HuleEduError:
    return HuleEduError(
        error_code=ErrorCode.VALIDATION_ERROR,
        message=f"Request body exceeds {max_bytes} bytes",
        details={"reason": "payload_too_large", "max_bytes": max_bytes},
        status_code=413,
    )


async def read_body(
    request: Request,
    *,
    content_types: Collection[str] = (JSON_MEDIA_TYPE,),
    max_bytes: int = MAX_BODY_BYTES,
) -> RawBody:
    """Steps 5 and 6a: the body within ``max_bytes``, sent as one of ``content_types``.

    Call it only after authentication and parameter checks: nothing here runs earlier, so those
    errors win over 413. Quart's own MAX_CONTENT_LENGTH check is lazy too (it raises only when
    the body is awaited), and it stops buffering once over the limit.
    """
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise payload_too_large(max_bytes)
    try:
        data = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    except RequestEntityTooLarge:
        raise payload_too_large(max_bytes) from None
    # The app's MAX_CONTENT_LENGTH may be larger than ours (or unset), and chunked bodies carry
    # no Content-Length, so the length read is checked as well.
    if len(data) > max_bytes:
        raise payload_too_large(max_bytes)
    return RawBody(media_type=_require_media_type(request, content_types), data=data)


def _require_media_type(request: Request, allowed: Collection[str]) -> str:
    received = request.headers.get("Content-Type")
    media_type = parse_options_header(received)[0].lower() if received is not None else ""
    if media_type and media_type in {item.lower() for item in allowed}:
        return media_type
    raise validation_error(
        "unsupported_media_type",
        "Content-Type must be " + " or ".join(allowed),
        content_type=received,
    )


def decode_json(data: bytes) -> Any:
    """Step 6b: strict UTF-8 and strict JSON (no NaN/Infinity, no lone surrogates)."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        _raise_invalid_json()
    if _has_lone_surrogate(value):
        # "\ud800" is JSON syntax but not Unicode text; PostgreSQL would reject it later as a 500.
        _raise_invalid_json()
    return value


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _raise_invalid_json() -> NoReturn:
    raise validation_error("invalid_json", "Request body is not valid UTF-8 JSON") from None


def _has_lone_surrogate(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii() and any("\ud800" <= char <= "\udfff" for char in item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse_model(model_cls: type[ModelT], data: Any) -> ModelT:
    """Step 7 (structure and field rules): all field errors as one 400 ``invalid_body``."""
    try:
        return model_cls.model_validate(data)
    except ValidationError as error:
        raise invalid_body([_field_error(detail) for detail in error.errors()]) from None


def _field_error(detail: ErrorDetails) -> dict[str, Any]:
    field = ".".join(str(part) for part in detail["loc"]) or "body"
    message = detail["msg"]
    # For validators raising ValueError pydantic prefixes "Value error, "; the original message
    # is what the validator author wrote for the client.
    cause = detail.get("ctx", {}).get("error")
    if detail["type"] in {"value_error", "assertion_error"} and cause is not None:
        message = str(cause)
    return field_error(field, message)


@overload
async def read_json_body(
    request: Request, model_cls: type[ModelT], *, extra_content_types: tuple[()] = ()
) -> ModelT: ...


@overload
async def read_json_body(
    request: Request, model_cls: type[ModelT], *, extra_content_types: tuple[str, ...]
) -> ModelT | RawBody: ...


@overload
async def read_json_body(
    request: Request, model_cls: None = None, *, extra_content_types: tuple[str, ...] = ()
) -> Any: ...


async def read_json_body(
    request: Request,
    model_cls: type[BaseModel] | None = None,
    *,
    extra_content_types: tuple[str, ...] = (),
) -> Any:
    """Read, check, decode and (with ``model_cls``) validate a JSON request body.

    A body sent as one of ``extra_content_types`` (e.g. ``text/csv``) is returned undecoded as
    a RawBody after the size check, for the route to parse itself.
    """
    body = await read_body(request, content_types=(JSON_MEDIA_TYPE, *extra_content_types))
    if body.media_type != JSON_MEDIA_TYPE:
        return body
    data = decode_json(body.data)
    if model_cls is None:
        return data
    return parse_model(model_cls, data)
