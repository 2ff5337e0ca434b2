"""Enumerated string values used in event payloads and the outbox."""

from __future__ import annotations

from enum import StrEnum


class ValidationMethod(StrEnum):
    HUMAN = "human"
    TIMEOUT = "timeout"
    # Valid on the wire but never produced by this service.
    AUTO = "auto"


class AggregateType(StrEnum):
    CLASS = "class"
    STUDENT = "student"
    BATCH = "batch"
    TEACHER = "teacher"


class NotificationType(StrEnum):
    CLASS_CREATED = "class_created"
    CLASS_UPDATED = "class_updated"
    STUDENT_ADDED_TO_CLASS = "student_added_to_class"
    STUDENT_MATCHES_SUGGESTED = "student_matches_suggested"
    STUDENT_ASSOCIATIONS_CONFIRMED = "student_associations_confirmed"


class NotificationCategory(StrEnum):
    CLASS_MANAGEMENT = "class_management"
    STUDENT_WORKFLOW = "student_workflow"


class NotificationPriority(StrEnum):
    IMMEDIATE = "immediate"
    HIGH = "high"
    STANDARD = "standard"
    LOW = "low"
