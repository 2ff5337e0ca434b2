"""Use cases wired to the in-memory adapters that USE_MOCK_REPOSITORY selects."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from class_management_service.application.bulk_import import BulkImport
from class_management_service.application.classes import ClassUseCases
from class_management_service.application.context import Actor
from class_management_service.application.outbox_messages import NotificationPolicy, OutboxMessages
from class_management_service.application.students import StudentUseCases
from class_management_service.implementations.class_repository_mock_impl import (
    MockClassRepositoryImpl,
)
from class_management_service.implementations.memory.store import InMemoryStore
from huleedu_service_libs.clock import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 26, 9, 15, 2, 481516, tzinfo=UTC))


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def messages() -> OutboxMessages:
    return OutboxMessages(NotificationPolicy(redis=True, kafka=False))


@pytest.fixture
def uow(store: InMemoryStore, clock: FixedClock) -> MockClassRepositoryImpl:
    return MockClassRepositoryImpl(store, clock)


@pytest.fixture
def classes(
    uow: MockClassRepositoryImpl, clock: FixedClock, messages: OutboxMessages
) -> ClassUseCases:
    return ClassUseCases(uow, clock, messages)


@pytest.fixture
def students(
    uow: MockClassRepositoryImpl, clock: FixedClock, messages: OutboxMessages
) -> StudentUseCases:
    return StudentUseCases(uow, clock, messages)


@pytest.fixture
def bulk(uow: MockClassRepositoryImpl, clock: FixedClock, messages: OutboxMessages) -> BulkImport:
    return BulkImport(uow, clock, messages)


@pytest.fixture
def teacher() -> Actor:
    return Actor(teacher_id="teacher-a", correlation_id=uuid4())


@pytest.fixture
def other_teacher() -> Actor:
    return Actor(teacher_id="teacher-b", correlation_id=uuid4())
