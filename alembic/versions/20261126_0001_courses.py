"""Course enumerations and the six seeded courses with their fixed ids.

Revision ID: 0001_courses
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001_courses"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when application constants change later.
COURSE_CODES = ("ENG5", "ENG6", "ENG7", "SV1", "SV2", "SV3")
LANGUAGES = ("en", "sv")
SEEDS = (
    ("c48e526d-99e0-4be9-8d79-0c3eec060b20", "ENG5", "English 5", "en"),
    ("e513fe6f-214f-428d-9aaa-dcc9bda0dd51", "ENG6", "English 6", "en"),
    ("9de916a0-ea6e-47b3-b283-b7e3ae50b3c4", "ENG7", "English 7", "en"),
    ("cb663a51-d287-44b5-8974-a6b6ac50df4a", "SV1", "Svenska 1", "sv"),
    ("6d4ba959-99a0-45e7-8437-bed12bebfb64", "SV2", "Svenska 2", "sv"),
    ("20cee185-b9b1-4fcb-bb3f-5f67d8120214", "SV3", "Svenska 3", "sv"),
)


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    op.execute(f"CREATE TYPE course_code_enum AS ENUM ({_quoted(COURSE_CODES)})")
    op.execute(f"CREATE TYPE language_enum AS ENUM ({_quoted(LANGUAGES)})")
    courses = op.create_table(
        "courses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "course_code",
            postgresql.ENUM(name="course_code_enum", create_type=False),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column(
            "language",
            postgresql.ENUM(name="language_enum", create_type=False),
            server_default=sa.text("'sv'"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="courses_pkey"),
        sa.UniqueConstraint("course_code", name="courses_course_code_key"),
    )
    op.bulk_insert(
        courses,
        [
            {"id": uuid.UUID(course_id), "course_code": code, "name": name, "language": language}
            for course_id, code, name, language in SEEDS
        ],
    )


def downgrade() -> None:
    op.drop_table("courses")
    op.execute("DROP TYPE language_enum")
    op.execute("DROP TYPE course_code_enum")
