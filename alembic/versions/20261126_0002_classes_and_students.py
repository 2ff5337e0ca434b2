"""Classes, students and enrolments.

Revision ID: 0002_classes_and_students
Revises: 0001_courses
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002_classes_and_students"
down_revision: str | None = "0001_courses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_by_user_id", sa.String(255), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="classes_pkey"),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name="classes_course_id_fkey", ondelete="RESTRICT"
        ),
    )
    op.create_index("ix_classes_created_by_user_id", "classes", ["created_by_user_id"])
    op.create_index(
        "ix_classes_owner_created_at",
        "classes",
        ["created_by_user_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )

    op.create_table(
        "students",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("first_name", sa.String(255), nullable=False),
        sa.Column("last_name", sa.String(255), nullable=False),
        sa.Column("legal_full_name", sa.String(512), nullable=True),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("created_by_user_id", sa.String(255), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="students_pkey"),
        sa.UniqueConstraint("email", "created_by_user_id", name="uix_student_email_user"),
        sa.CheckConstraint(
            "email IS NULL OR email = lower(email)", name="ck_students_email_lowercase"
        ),
    )
    op.create_index("ix_students_created_by_user_id", "students", ["created_by_user_id"])
    op.create_index(
        "ix_students_owner_created_at",
        "students",
        ["created_by_user_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )

    op.create_table(
        "class_student_association",
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "student_id", name="class_student_association_pkey"),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name="class_student_association_class_id_fkey",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name="class_student_association_student_id_fkey",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_class_student_association_student_id", "class_student_association", ["student_id"]
    )


def downgrade() -> None:
    op.drop_table("class_student_association")
    op.drop_table("students")
    op.drop_table("classes")
