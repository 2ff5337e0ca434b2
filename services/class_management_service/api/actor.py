"""The acting teacher of the current request (``X-User-ID`` plus the correlation id)."""

from __future__ import annotations

from quart import request

from class_management_service.application.context import Actor
from huleedu_service_libs.http.auth import require_teacher
from huleedu_service_libs.http.correlation import current_correlation_id


def current_teacher() -> Actor:
    return Actor(teacher_id=require_teacher(request), correlation_id=current_correlation_id())
