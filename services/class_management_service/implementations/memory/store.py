"""Process-local tables for ``USE_MOCK_REPOSITORY``: the in-memory twin of the PostgreSQL schema."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from common_core.courses import Course


@dataclass(frozen=True)
class ClassRow:
    id: UUID
    name: str
    course: Course
    owner_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StudentRow:
    id: UUID
    first_name: str
    last_name: str
    legal_full_name: str
    email: str | None
    owner_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    id: UUID
    seq: int
    aggregate_type: str
    aggregate_id: str
    event_type: str
    topic: str
    destination: str
    event_key: str
    event_data: dict[str, Any]
    created_at: datetime
    status: str = "pending"
    published_at: datetime | None = None
    retry_count: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    failed_at: datetime | None = None

    def updated(self, **changes: Any) -> OutboxRow:
        return replace(self, **changes)


@dataclass
class Tables:
    """One consistent version of every table; a transaction works on a copy of it."""

    classes: dict[UUID, ClassRow] = field(default_factory=dict)
    students: dict[UUID, StudentRow] = field(default_factory=dict)
    enrolments: set[tuple[UUID, UUID]] = field(default_factory=set)
    outbox: dict[UUID, OutboxRow] = field(default_factory=dict)
    # Extension point for other aggregates (associations, inbox) keyed by table name.
    extra: dict[str, dict[Any, Any]] = field(default_factory=dict)

    def copy(self) -> Tables:
        return Tables(
            classes=dict(self.classes),
            students=dict(self.students),
            enrolments=set(self.enrolments),
            outbox=dict(self.outbox),
            extra={name: dict(rows) for name, rows in self.extra.items()},
        )


class InMemoryStore:
    """Serialises transactions with one lock: rows are immutable, tables are copied per
    transaction and swapped in on commit, so a rollback simply drops the copy."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.lock = asyncio.Lock()
        self._seq = itertools.count(1)

    def next_seq(self) -> int:
        return next(self._seq)
