"""Declarative models of every table; they must match the Alembic migrations exactly."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common_core.courses import CourseCode, Language
from huleedu_service_libs.outbox.models import EventOutbox

# The schema's defaults are written by the database for writers other than the service; the
# service always passes its own clock's values (data-model.md §1).
NOW = text("now()")


class Base(DeclarativeBase):
    metadata = MetaData()


def _tz() -> DateTime:
    return DateTime(timezone=True)


course_code_enum = Enum(*(code.value for code in CourseCode), name="course_code_enum")
language_enum = Enum(*(lang.value for lang in Language), name="language_enum")


class CourseRow(Base):
    __tablename__ = "courses"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="courses_pkey"),
        UniqueConstraint("course_code", name="courses_course_code_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    course_code: Mapped[str] = mapped_column(course_code_enum)
    name: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(language_enum, server_default=text("'sv'"))


class ClassRow(Base):
    __tablename__ = "classes"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="classes_pkey"),
        ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name="classes_course_id_fkey", ondelete="RESTRICT"
        ),
        Index("ix_classes_created_by_user_id", "created_by_user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(255))
    created_by_user_id: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(_tz(), server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(_tz(), server_default=NOW)


Index(
    "ix_classes_owner_created_at",
    ClassRow.created_by_user_id,
    ClassRow.created_at.desc(),
    ClassRow.id.desc(),
)


class StudentRow(Base):
    __tablename__ = "students"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="students_pkey"),
        UniqueConstraint("email", "created_by_user_id", name="uix_student_email_user"),
        CheckConstraint(
            "email IS NULL OR email = lower(email)", name="ck_students_email_lowercase"
        ),
        Index("ix_students_created_by_user_id", "created_by_user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(255))
    legal_full_name: Mapped[str | None] = mapped_column(String(512))
    email: Mapped[str | None] = mapped_column(String(255))
    created_by_user_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(_tz(), server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(_tz(), server_default=NOW)


Index(
    "ix_students_owner_created_at",
    StudentRow.created_by_user_id,
    StudentRow.created_at.desc(),
    StudentRow.id.desc(),
)


class EnrolmentRow(Base):
    __tablename__ = "class_student_association"
    __table_args__ = (
        PrimaryKeyConstraint("class_id", "student_id", name="class_student_association_pkey"),
        ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name="class_student_association_class_id_fkey",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name="class_student_association_student_id_fkey",
            ondelete="CASCADE",
        ),
        Index("ix_class_student_association_student_id", "student_id"),
    )

    class_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class EssayStudentAssociationRow(Base):
    __tablename__ = "essay_student_associations"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="essay_student_associations_pkey"),
        UniqueConstraint("essay_id", name="essay_student_associations_essay_id_key"),
        ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name="essay_student_associations_class_id_fkey",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name="essay_student_associations_student_id_fkey",
            ondelete="SET NULL",
        ),
        ForeignKeyConstraint(
            ["suggested_student_id"],
            ["students.id"],
            name="essay_student_associations_suggested_student_id_fkey",
            ondelete="SET NULL",
        ),
        CheckConstraint(
            "validation_status IN "
            "('pending_validation', 'confirmed', 'rejected', 'timeout_confirmed')",
            name="ck_essay_student_associations_validation_status",
        ),
        CheckConstraint(
            "validation_method IS NULL OR validation_method IN ('human', 'timeout', 'auto')",
            name="ck_essay_student_associations_validation_method",
        ),
        CheckConstraint(
            "confidence_score IS NULL OR (confidence_score >= 0 AND confidence_score <= 1)",
            name="ck_essay_student_associations_confidence_score",
        ),
        CheckConstraint(
            "(validation_status = 'pending_validation' AND validated_by IS NULL"
            " AND validated_at IS NULL AND validation_method IS NULL)"
            " OR (validation_status <> 'pending_validation' AND validated_by IS NOT NULL"
            " AND validated_at IS NOT NULL AND validation_method IS NOT NULL)",
            name="ck_essay_student_associations_decision",
        ),
        Index("ix_essay_student_associations_batch_id", "batch_id"),
        Index("ix_essay_student_associations_batch_essay_composite", "batch_id", "essay_id"),
        Index("idx_essay_associations_batch", "batch_id", "validation_status"),
        Index("idx_essay_associations_validation_status", "class_id", "validation_status"),
        Index("ix_essay_student_associations_status_created", "validation_status", "created_at"),
        Index("ix_essay_student_associations_created_by_user_id", "created_by_user_id"),
        Index("ix_essay_student_associations_student_id", "student_id"),
        Index("ix_essay_student_associations_suggested_student_id", "suggested_student_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    essay_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    class_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    student_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    suggested_student_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    confidence_score: Mapped[float | None] = mapped_column(Double)
    match_reasons: Mapped[Any | None] = mapped_column(JSON)
    no_match_reason: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(_tz(), server_default=NOW)
    validation_status: Mapped[str] = mapped_column(
        String(50), server_default=text("'pending_validation'")
    )
    validated_by: Mapped[str | None] = mapped_column(String(255))
    validated_at: Mapped[datetime | None] = mapped_column(_tz())
    validation_method: Mapped[str | None] = mapped_column(String(50))


class ProcessedEventRow(Base):
    __tablename__ = "processed_events"
    __table_args__ = (
        PrimaryKeyConstraint("event_id", name="processed_events_pkey"),
        Index("ix_processed_events_processed_at", "processed_at"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    kafka_partition: Mapped[int] = mapped_column(Integer)
    kafka_offset: Mapped[int] = mapped_column(BigInteger)
    correlation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    processed_at: Mapped[datetime] = mapped_column(_tz(), server_default=NOW)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# Core tables: the repositories issue Core statements on a connection (no ORM session).
courses = _table(CourseRow)
classes = _table(ClassRow)
students = _table(StudentRow)
enrolments = _table(EnrolmentRow)
essay_student_associations = _table(EssayStudentAssociationRow)
processed_events = _table(ProcessedEventRow)
# The shared library's model, copied into this metadata so that one MetaData describes the
# whole schema (Alembic's autogenerate and the drift test compare against it).
event_outbox = cast(Table, EventOutbox.__table__).to_metadata(Base.metadata)
