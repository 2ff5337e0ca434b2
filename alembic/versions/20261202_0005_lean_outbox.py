"""Lean outbox: only the indexes the relay and housekeeping read, one NOTIFY per statement.

The claim scans one destination's due rows (``ix_event_outbox_pending`` now leads with
``destination``, so a backlog of the other destination is never stepped over), and the indexes on
``aggregate_type/aggregate_id``, ``event_type`` and ``topic`` go: nothing queries them, and each
cost an entry on every insert and every publish (``data-model.md`` §7.1, README "Decisions").

Revision ID: 0005_lean_outbox
Revises: 0004_inbox_and_outbox
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005_lean_outbox"
down_revision: str | None = "0004_inbox_and_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One call per INSERT statement instead of one per row (a 5,000-row bulk import ran the function
# 5,000 times). Without a transition table the statement cannot see which destinations it wrote,
# so both relays are woken: a wake with nothing to do costs one empty claim, far less than
# keeping a copy of every inserted row for the trigger. NOTIFY is still delivered at commit.
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION event_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('event_outbox', 'kafka');
    PERFORM pg_notify('event_outbox', 'redis');
    RETURN NULL;
END;
$$
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER trg_event_outbox_notify
AFTER INSERT ON event_outbox
FOR EACH STATEMENT EXECUTE FUNCTION event_outbox_notify()
"""

ROW_NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION event_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('event_outbox', NEW.destination);
    RETURN NULL;
END;
$$
"""
ROW_NOTIFY_TRIGGER = """
CREATE TRIGGER trg_event_outbox_notify
AFTER INSERT ON event_outbox
FOR EACH ROW EXECUTE FUNCTION event_outbox_notify()
"""
PENDING = sa.text("status = 'pending'")
UNREAD_INDEXES = (
    ("ix_event_outbox_aggregate", ["aggregate_type", "aggregate_id"]),
    ("ix_event_outbox_event_type", ["event_type"]),
    ("ix_event_outbox_topic", ["topic"]),
)


def upgrade() -> None:
    op.execute("DROP TRIGGER trg_event_outbox_notify ON event_outbox")
    op.execute(NOTIFY_FUNCTION)
    op.execute(NOTIFY_TRIGGER)
    for name, _ in UNREAD_INDEXES:
        op.drop_index(name, table_name="event_outbox")
    op.drop_index("ix_event_outbox_pending", table_name="event_outbox")
    op.create_index(
        "ix_event_outbox_pending",
        "event_outbox",
        ["destination", "next_attempt_at", "seq"],
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_event_outbox_pending", table_name="event_outbox")
    op.create_index(
        "ix_event_outbox_pending",
        "event_outbox",
        ["next_attempt_at", "seq"],
        postgresql_where=PENDING,
    )
    for name, columns in UNREAD_INDEXES:
        op.create_index(name, "event_outbox", columns)
    op.execute("DROP TRIGGER trg_event_outbox_notify ON event_outbox")
    op.execute(ROW_NOTIFY_FUNCTION)
    op.execute(ROW_NOTIFY_TRIGGER)
