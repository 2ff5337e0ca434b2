"""Who calls: the acting teacher (``X-User-ID`` plus the correlation id) or a platform service."""

from __future__ import annotations

from quart import request

from class_management_service.application.context import Actor
from class_management_service.config import Settings
from huleedu_service_libs.http.auth import require_service, require_teacher
from huleedu_service_libs.http.correlation import current_correlation_id


def current_teacher() -> Actor:
    return Actor(teacher_id=require_teacher(request), correlation_id=current_correlation_id())


def current_service(settings: Settings) -> str:
    """The calling service's id, after the shared key and the allow-list of the settings."""
    key = settings.internal_api_key
    return require_service(
        request,
        api_key=key.get_secret_value() if key is not None else None,
        allowed_service_ids=settings.internal_allowed_service_ids,
    )
