"""Essay-student associations: stored suggestions and the decisions about them.

Revision ID: 0003_essay_student_associations
Revises: 0002_classes_and_students
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003_essay_student_associations"
down_revision: str | None = "0002_classes_and_students"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "essay_student_associations"
INDEXES = (
    ("ix_essay_student_associations_batch_id", ["batch_id"]),
    ("ix_essay_student_associations_batch_essay_composite", ["batch_id", "essay_id"]),
    ("idx_essay_associations_batch", ["batch_id", "validation_status"]),
    ("idx_essay_associations_validation_status", ["class_id", "validation_status"]),
    ("ix_essay_student_associations_status_created", ["validation_status", "created_at"]),
    ("ix_essay_student_associations_created_by_user_id", ["created_by_user_id"]),
    ("ix_essay_student_associations_student_id", ["student_id"]),
    ("ix_essay_student_associations_suggested_student_id", ["suggested_student_id"]),
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("essay_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=True),
        sa.Column("suggested_student_id", sa.Uuid(), nullable=True),
        sa.Column("confidence_score", sa.Double(), nullable=True),
        sa.Column("match_reasons", sa.JSON(), nullable=True),
        sa.Column("no_match_reason", sa.Text(), nullable=True),
        sa.Column("created_by_user_id", sa.String(255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "validation_status",
            sa.String(50),
            server_default=sa.text("'pending_validation'"),
            nullable=False,
        ),
        sa.Column("validated_by", sa.String(255), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validation_method", sa.String(50), nullable=True),
        sa.PrimaryKeyConstraint("id", name="essay_student_associations_pkey"),
        sa.UniqueConstraint("essay_id", name="essay_student_associations_essay_id_key"),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name="essay_student_associations_class_id_fkey",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name="essay_student_associations_student_id_fkey",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["suggested_student_id"],
            ["students.id"],
            name="essay_student_associations_suggested_student_id_fkey",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "validation_status IN "
            "('pending_validation', 'confirmed', 'rejected', 'timeout_confirmed')",
            name="ck_essay_student_associations_validation_status",
        ),
        sa.CheckConstraint(
            "validation_method IS NULL OR validation_method IN ('human', 'timeout', 'auto')",
            name="ck_essay_student_associations_validation_method",
        ),
        sa.CheckConstraint(
            "confidence_score IS NULL OR (confidence_score >= 0 AND confidence_score <= 1)",
            name="ck_essay_student_associations_confidence_score",
        ),
        sa.CheckConstraint(
            "(validation_status = 'pending_validation' AND validated_by IS NULL"
            " AND validated_at IS NULL AND validation_method IS NULL)"
            " OR (validation_status <> 'pending_validation' AND validated_by IS NOT NULL"
            " AND validated_at IS NOT NULL AND validation_method IS NOT NULL)",
            name="ck_essay_student_associations_decision",
        ),
    )
    for name, columns in INDEXES:
        op.create_index(name, TABLE, columns)


def downgrade() -> None:
    op.drop_table(TABLE)
