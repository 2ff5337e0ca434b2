"""Phase 1 matching on the migrated PostgreSQL: a seeded class, the handler, the monitor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.application.matching import MatchingRules
from class_management_service.application.outbox_messages import NotificationPolicy, OutboxMessages
from class_management_service.application.suggestions import StoreSuggestions
from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.domain.associations import EssayAssociation
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.association_rows import association_from_row
from class_management_service.models_db import essay_student_associations, event_outbox
from huleedu_service_libs.clock import FixedClock
from tests.fixtures.suggestions import envelope, essay, record, suggestion
from tests.integration.db.builders import TEACHER, a_class, a_student

RULES = MatchingRules(timeout_hours=24, confidence_threshold=0.7)
MESSAGES = OutboxMessages(NotificationPolicy(redis=True, kafka=False))


@dataclass(frozen=True)
class Roster:
    class_id: UUID
    anna: UUID
    omar: UUID
    lea: UUID


@dataclass(frozen=True)
class Batch:
    """The events.md §5 example: Anna at 0.92, Omar at 0.55, one essay without a name."""

    batch_id: UUID
    anna_essay: UUID
    omar_essay: UUID
    nameless_essay: UUID

    def value(self, roster: Roster, event_id: UUID | None = None) -> dict[str, Any]:
        return envelope(
            batch_id=self.batch_id,
            class_id=roster.class_id,
            event_id=event_id,
            essays=[
                essay(self.anna_essay, [suggestion(roster.anna, 0.92, ["Full name in header"])]),
                essay(self.omar_essay, [suggestion(roster.omar, 0.55)]),
                essay(self.nameless_essay, no_match_reason="No name found in essay"),
            ],
        )


def new_batch() -> Batch:
    return Batch(uuid4(), uuid4(), uuid4(), uuid4())


@pytest.fixture
def clock() -> FixedClock:
    # Real time: rows written here are compared with the HTTP app's system clock.
    return FixedClock(datetime.now(UTC))


@pytest.fixture
def handler(clean_database: AsyncEngine, clock: FixedClock) -> SuggestionRecordHandler:
    return SuggestionRecordHandler(
        StoreSuggestions(PostgreSQLClassRepositoryImpl(clean_database), clock, MESSAGES, RULES)
    )


@pytest.fixture
def make_monitor(
    engine: AsyncEngine,
) -> Callable[[FixedClock], TimeoutMonitor]:
    """A monitor with its own unit of work (one per replica) and the given clock."""

    def make(clock: FixedClock) -> TimeoutMonitor:
        return TimeoutMonitor(
            PostgreSQLClassRepositoryImpl(engine), clock, MESSAGES, RULES, interval_seconds=3600
        )

    return make


async def seed_roster(uow: PostgreSQLClassRepositoryImpl, owner: str = TEACHER) -> Roster:
    school_class = a_class(owner)
    people = [
        a_student(owner, first_name=first, last_name=last, class_ids=[school_class.id])
        for first, last in (("Anna", "Lindqvist"), ("Omar", "Haddad"), ("Lea", "Berg"))
    ]
    async with uow:
        await uow.classes.add(school_class)
        await uow.students.add_many(people)
        await uow.commit()
    return Roster(school_class.id, *(person.id for person in people))


@pytest_asyncio.fixture(loop_scope="session")
async def roster(uow: PostgreSQLClassRepositoryImpl) -> Roster:
    return await seed_roster(uow)


@pytest_asyncio.fixture(loop_scope="session")
async def batch(handler: SuggestionRecordHandler, roster: Roster) -> Batch:
    stored = new_batch()
    await handler(record(stored.value(roster)))
    return stored


async def stored_rows(uow: PostgreSQLClassRepositoryImpl) -> dict[UUID, EssayAssociation]:
    """Committed associations keyed by essay id."""
    async with uow:
        result = await uow.connection.execute(select(essay_student_associations))
        return {row.essay_id: row for row in map(association_from_row, result)}


async def outbox_data(uow: PostgreSQLClassRepositoryImpl, event_type: str) -> list[dict[str, Any]]:
    """``event_data`` of committed outbox rows of one type, in write order."""
    async with uow:
        result = await uow.connection.execute(
            select(event_outbox.c.event_data)
            .where(event_outbox.c.event_type == event_type)
            .order_by(event_outbox.c.seq)
        )
        return list(result.scalars())
