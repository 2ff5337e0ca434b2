"""Who may read a roster (http-api.md §2.3): the owner, a service, or the platform's NLP service.

The NLP service fetches rosters with no identity header at all (only ``Accept`` and
``X-Correlation-ID``). The API gateway always sets ``X-User-ID`` on what it forwards, so such a
request can only come from inside the platform's network; it may read any class unless
``ROSTER_REQUIRE_SERVICE_CREDENTIALS`` is on. Every decision is counted by caller kind, so
operators can see who still calls without credentials before they turn the requirement on.
"""

from __future__ import annotations

from enum import StrEnum

from quart import Request

from class_management_service.api.actor import current_service, current_teacher
from class_management_service.config import Settings
from class_management_service.metrics import ServiceMetrics
from huleedu_service_libs.error_handling import HuleEduError, authentication_error
from huleedu_service_libs.http.auth import (
    API_KEY_HEADER,
    SERVICE_ID_HEADER,
    USER_ID_HEADER,
    has_service_credentials,
)


class RosterCaller(StrEnum):
    OWNER = "owner"
    SERVICE = "service"
    ANONYMOUS_INTERNAL = "anonymous_internal"


def roster_caller(request: Request) -> RosterCaller:
    """Service headers win over ``X-User-ID``; no identity header at all is the NLP service."""
    if has_service_credentials(request):
        return RosterCaller.SERVICE
    if USER_ID_HEADER in request.headers:
        return RosterCaller.OWNER
    return RosterCaller.ANONYMOUS_INTERNAL


def authorize_roster_read(
    request: Request, settings: Settings, metrics: ServiceMetrics
) -> tuple[RosterCaller, str | None]:
    """The caller's kind and the owner the class must belong to (``None``: any class).

    Counted here: ``refused`` when the caller may not read rosters, else ``served`` (whatever the
    lookup then answers: a 404 is still a roster read the caller was allowed to make)."""
    caller = roster_caller(request)
    try:
        owner = _owner_for(caller, request, settings)
    except HuleEduError:
        metrics.roster_request(caller, "refused")
        raise
    metrics.roster_request(caller, "served")
    return caller, owner


def _owner_for(caller: RosterCaller, request: Request, settings: Settings) -> str | None:
    if caller is RosterCaller.SERVICE:
        current_service(settings)
        return None
    if caller is RosterCaller.OWNER:
        return current_teacher().teacher_id
    if settings.roster_require_service_credentials:
        raise authentication_error(
            "missing_service_credentials",
            f"{API_KEY_HEADER} and {SERVICE_ID_HEADER} headers are required",
        )
    return None
