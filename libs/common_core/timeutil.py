"""Platform timestamp encoding: UTC ISO-8601 ending in ``Z``."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_iso_z(moment: datetime) -> str:
    """Render an aware datetime as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC.

    The fraction is written only when non-zero, as the platform contract requires.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not allowed on the wire")
    # isoformat() of the naive UTC time already omits a zero fraction, at a fraction of
    # strftime's cost (this runs for every timestamp of every response and event).
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def parse_iso(text: str) -> datetime:
    """Parse a platform timestamp (``Z`` or an explicit offset) into an aware UTC datetime."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return parsed.astimezone(UTC)
