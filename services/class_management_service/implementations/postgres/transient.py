"""Which consumer failures are transient (matching.md §2.4): retried, never dead-lettered."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError

from class_management_service.implementations.postgres.constraints import violated_constraint
from huleedu_service_libs.http.db_errors import is_database_unavailable

# serialization_failure, deadlock_detected
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# Another consumer stored the same essay or event concurrently; on retry the essay is skipped
# or the event is detected as a duplicate.
_CONCURRENT_DUPLICATES = frozenset(
    {"essay_student_associations_essay_id_key", "processed_events_pkey"}
)


def is_transient(error: BaseException) -> bool:
    """The ``TransientPredicate`` of the suggestion consumer."""
    if is_database_unavailable(error):
        return True
    if isinstance(error, IntegrityError):
        name, _detail = violated_constraint(error)
        return name in _CONCURRENT_DUPLICATES
    if isinstance(error, DBAPIError):
        wrapper = error.orig
        # SQLAlchemy's asyncpg adapter keeps the driver's exception (with its SQLSTATE) inside.
        candidates = (wrapper, getattr(wrapper, "orig", None), getattr(wrapper, "__cause__", None))
        return any(getattr(c, "sqlstate", None) in _RETRYABLE_SQLSTATES for c in candidates)
    return False
