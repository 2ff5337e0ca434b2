"""``EventOutbox``: the transactional outbox table every HuleEdu service shares.

A service keeps its own copy of the table in its own database, written in the same transaction
as the change an event describes; the relay (``huleedu_service_libs.outbox.relay``) publishes
the rows. Services put the table in their metadata with ``EventOutbox.__table__.to_metadata``,
and create it through their own Alembic migration (with the NOTIFY trigger the relay wakes on).

Every index is paid for on each of a row's three writes (insert, publish, delete), so only those
the relay and housekeeping read are kept (``data-model.md`` §7.1).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NOW = text("now()")


class OutboxBase(DeclarativeBase):
    metadata = MetaData()


def _tz() -> DateTime:
    return DateTime(timezone=True)


class EventOutbox(OutboxBase):
    __tablename__ = "event_outbox"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="event_outbox_pkey"),
        UniqueConstraint("seq", name="uq_event_outbox_seq"),
        CheckConstraint("destination IN ('kafka', 'redis')", name="ck_event_outbox_destination"),
        CheckConstraint(
            "status IN ('pending', 'published', 'failed')", name="ck_event_outbox_status"
        ),
        CheckConstraint(
            "(status = 'published') = (published_at IS NOT NULL)", name="ck_event_outbox_published"
        ),
        CheckConstraint(
            "(status = 'failed') = (failed_at IS NOT NULL)", name="ck_event_outbox_failed"
        ),
        # The claim's scan of one destination's due rows, in the order they are taken.
        Index(
            "ix_event_outbox_pending",
            "destination",
            "next_attempt_at",
            "seq",
            postgresql_where=text("status = 'pending'"),
        ),
        # A key's pending rows in seq order: the "earlier row of this key" probe and the tails.
        Index(
            "ix_event_outbox_pending_key",
            "destination",
            "event_key",
            "seq",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_event_outbox_failed", "destination", postgresql_where=text("status = 'failed'")),
        # Housekeeping's delete of rows published before the retention cutoff.
        Index(
            "ix_event_outbox_published_at",
            "published_at",
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    aggregate_type: Mapped[str] = mapped_column(String(100))
    aggregate_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(300))
    destination: Mapped[str] = mapped_column(String(16), server_default=text("'kafka'"))
    event_key: Mapped[str] = mapped_column(String(255))
    event_data: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    created_at: Mapped[datetime] = mapped_column(_tz(), server_default=NOW)
    published_at: Mapped[datetime | None] = mapped_column(_tz())
    retry_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(_tz(), server_default=NOW)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None] = mapped_column(_tz())
