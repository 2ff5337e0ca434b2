"""Who is acting and under which correlation id; passed from the entrypoints to use cases."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Actor:
    teacher_id: str
    correlation_id: UUID
