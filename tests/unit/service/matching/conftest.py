"""Phase 1 matching use cases on the in-memory store, with a class of three students."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from prometheus_client import CollectorRegistry

from class_management_service.application.batch_associations import (
    AssociationLookups,
    ReviewBatch,
)
from class_management_service.application.classes import ClassUseCases
from class_management_service.application.confirmations import ConfirmAssociations
from class_management_service.application.context import Actor
from class_management_service.application.matching import MatchingRules
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.application.students import PersonName, StudentUseCases
from class_management_service.application.suggestions import StoreSuggestions
from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.domain.associations import EssayAssociation
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.class_repository_mock_impl import (
    MockClassRepositoryImpl,
)
from class_management_service.implementations.memory.store import InMemoryStore
from class_management_service.metrics import ServiceMetrics
from common_core.courses import course_by_code
from huleedu_service_libs.clock import FixedClock
from tests.fixtures.suggestions import envelope, essay, record, suggestion


@dataclass(frozen=True)
class Roster:
    class_id: UUID
    anna: UUID
    omar: UUID
    lea: UUID


@pytest.fixture
def rules() -> MatchingRules:
    return MatchingRules(timeout_hours=24, confidence_threshold=0.7)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> ServiceMetrics:
    return ServiceMetrics(registry)


@pytest.fixture
def handler(
    uow: MockClassRepositoryImpl, clock: FixedClock, messages: OutboxMessages, rules: MatchingRules
) -> SuggestionRecordHandler:
    return SuggestionRecordHandler(StoreSuggestions(uow, clock, messages, rules))


@pytest.fixture
def confirm(
    uow: MockClassRepositoryImpl,
    clock: FixedClock,
    messages: OutboxMessages,
    metrics: ServiceMetrics,
) -> ConfirmAssociations:
    return ConfirmAssociations(uow, clock, messages, metrics)


@pytest.fixture
def review(uow: MockClassRepositoryImpl) -> ReviewBatch:
    return ReviewBatch(uow)


@pytest.fixture
def lookups(uow: MockClassRepositoryImpl) -> AssociationLookups:
    return AssociationLookups(uow)


@pytest.fixture
def monitor(
    uow: MockClassRepositoryImpl,
    clock: FixedClock,
    messages: OutboxMessages,
    rules: MatchingRules,
    metrics: ServiceMetrics,
) -> TimeoutMonitor:
    return TimeoutMonitor(uow, clock, messages, rules, interval_seconds=3600, metrics=metrics)


@pytest.fixture
async def roster(classes: ClassUseCases, students: StudentUseCases, teacher: Actor) -> Roster:
    school_class = await classes.create(teacher, "9B English", course_by_code("ENG5"))
    ids = []
    for first, last in (("Anna", "Lindqvist"), ("Omar", "Haddad"), ("Lea", "Berg")):
        student = await students.create(teacher, PersonName(first, last), None, [school_class.id])
        ids.append(student.id)
    return Roster(school_class.id, *ids)


def associations(store: InMemoryStore) -> dict[UUID, EssayAssociation]:
    """Committed rows keyed by essay id."""
    rows: dict[UUID, EssayAssociation] = store.tables.extra.get("associations", {})
    return {row.essay_id: row for row in rows.values()}


def outbox(store: InMemoryStore, event_type: str) -> list[dict[str, Any]]:
    """``event_data`` of the committed outbox rows of one type, in write order."""
    rows = sorted(store.tables.outbox.values(), key=lambda row: row.seq)
    return [row.event_data for row in rows if row.event_type == event_type]


@dataclass(frozen=True)
class Batch:
    """The events.md example batch: Anna at 0.92, Omar at 0.55, one essay without a name."""

    batch_id: UUID
    anna_essay: UUID
    omar_essay: UUID
    nameless_essay: UUID


async def seed_batch(handler: SuggestionRecordHandler, roster: Roster) -> Batch:
    batch = Batch(uuid4(), uuid4(), uuid4(), uuid4())
    value = envelope(
        batch_id=batch.batch_id,
        class_id=roster.class_id,
        essays=[
            essay(batch.anna_essay, [suggestion(roster.anna, 0.92)]),
            essay(batch.omar_essay, [suggestion(roster.omar, 0.55)]),
            essay(batch.nameless_essay, no_match_reason="No name found in essay"),
        ],
    )
    await handler(record(value))
    return batch


@pytest.fixture
async def batch(handler: SuggestionRecordHandler, roster: Roster) -> Batch:
    return await seed_batch(handler, roster)


def decided_count(registry: CollectorRegistry, method: str, status: str) -> float:
    value = registry.get_sample_value(
        "cms_associations_decided_total", {"validation_method": method, "validation_status": status}
    )
    return value or 0.0
