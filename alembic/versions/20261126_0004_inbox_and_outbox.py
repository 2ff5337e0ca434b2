"""Inbox of consumed events, transactional outbox and its NOTIFY trigger.

Revision ID: 0004_inbox_and_outbox
Revises: 0003_essay_student_associations
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004_inbox_and_outbox"
down_revision: str | None = "0003_essay_student_associations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")

# NOTIFY is delivered at commit, and identical payloads in one transaction are folded into one,
# so a bulk write wakes each relay once.
NOTIFY_FUNCTION = """
CREATE FUNCTION event_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('event_outbox', NEW.destination);
    RETURN NULL;
END;
$$
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER trg_event_outbox_notify
AFTER INSERT ON event_outbox
FOR EACH ROW EXECUTE FUNCTION event_outbox_notify()
"""


def _upgrade_inbox() -> None:
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("correlation_id", sa.Uuid(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="processed_events_pkey"),
    )
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"])


def _upgrade_outbox() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("aggregate_type", sa.String(100), nullable=False),
        sa.Column("aggregate_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(300), nullable=False),
        sa.Column("destination", sa.String(16), server_default=sa.text("'kafka'"), nullable=False),
        sa.Column("event_key", sa.String(255), nullable=False),
        sa.Column("event_data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="event_outbox_pkey"),
        sa.UniqueConstraint("seq", name="uq_event_outbox_seq"),
        sa.CheckConstraint("destination IN ('kafka', 'redis')", name="ck_event_outbox_destination"),
        sa.CheckConstraint(
            "status IN ('pending', 'published', 'failed')", name="ck_event_outbox_status"
        ),
        sa.CheckConstraint(
            "(status = 'published') = (published_at IS NOT NULL)", name="ck_event_outbox_published"
        ),
        sa.CheckConstraint(
            "(status = 'failed') = (failed_at IS NOT NULL)", name="ck_event_outbox_failed"
        ),
    )
    pending = sa.text("status = 'pending'")
    op.create_index(
        "ix_event_outbox_pending",
        "event_outbox",
        ["next_attempt_at", "seq"],
        postgresql_where=pending,
    )
    op.create_index(
        "ix_event_outbox_pending_key",
        "event_outbox",
        ["destination", "event_key", "seq"],
        postgresql_where=pending,
    )
    op.create_index(
        "ix_event_outbox_failed",
        "event_outbox",
        ["destination"],
        postgresql_where=sa.text("status = 'failed'"),
    )
    op.create_index(
        "ix_event_outbox_published_at",
        "event_outbox",
        ["published_at"],
        postgresql_where=sa.text("status = 'published'"),
    )
    op.create_index("ix_event_outbox_aggregate", "event_outbox", ["aggregate_type", "aggregate_id"])
    op.create_index("ix_event_outbox_event_type", "event_outbox", ["event_type"])
    op.create_index("ix_event_outbox_topic", "event_outbox", ["topic"])
    op.execute(NOTIFY_FUNCTION)
    op.execute(NOTIFY_TRIGGER)


def upgrade() -> None:
    _upgrade_inbox()
    _upgrade_outbox()


def downgrade() -> None:
    op.execute("DROP TRIGGER trg_event_outbox_notify ON event_outbox")
    op.execute("DROP FUNCTION event_outbox_notify()")
    op.drop_table("event_outbox")
    op.drop_table("processed_events")
