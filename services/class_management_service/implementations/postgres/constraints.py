"""Turn unique-constraint violations from PostgreSQL into the domain's conflict errors."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy.exc import IntegrityError

from class_management_service.domain.errors import EmailAlreadyUsed, EnrolmentConflict

EMAIL_PER_OWNER = "uix_student_email_user"
ENROLMENT_KEY = "class_student_association_pkey"


def _driver_error(exc: IntegrityError) -> BaseException | None:
    """The asyncpg exception behind SQLAlchemy's wrapper (it carries ``constraint_name``)."""
    wrapper = exc.orig
    for candidate in (getattr(wrapper, "orig", None), getattr(wrapper, "__cause__", None), wrapper):
        if candidate is not None and hasattr(candidate, "constraint_name"):
            return candidate
    return None


def violated_constraint(exc: IntegrityError) -> tuple[str | None, str]:
    """The violated constraint's name and PostgreSQL's DETAIL line (``Key (...)=(...) ...``)."""
    driver = _driver_error(exc)
    if driver is None:
        return None, ""
    return getattr(driver, "constraint_name", None), str(getattr(driver, "detail", "") or "")


def _key_named_in(detail: str, candidates: Iterable[str]) -> str | None:
    # Both constraints list the distinguishing column first: "Key (email, ...)=(value, ...)".
    values = list(candidates)
    for value in values:
        if f"=({value}, " in detail:
            return value
    return values[0] if values else None


def conflict_from(
    exc: IntegrityError,
    *,
    emails: Iterable[str | None] = (),
    class_ids: Iterable[UUID] = (),
) -> EmailAlreadyUsed | EnrolmentConflict | None:
    """The domain error for a known uniqueness violation, else ``None`` (re-raise the original)."""
    name, detail = violated_constraint(exc)
    if name == EMAIL_PER_OWNER:
        email = _key_named_in(detail, (e for e in emails if e is not None))
        return EmailAlreadyUsed(email or "")
    if name == ENROLMENT_KEY:
        by_text = {str(class_id): class_id for class_id in class_ids}
        named = _key_named_in(detail, by_text)
        if named is not None:
            return EnrolmentConflict(by_text[named])
    return None
