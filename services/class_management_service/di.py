"""Dishka providers: one container per process, storage chosen by settings."""

from __future__ import annotations

from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container, provide
from prometheus_client import CollectorRegistry
from quart_dishka import QuartProvider
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service import SERVICE_NAME
from class_management_service.application.batch_associations import (
    AssociationLookups,
    ReviewBatch,
)
from class_management_service.application.bulk_import import BulkImport
from class_management_service.application.classes import ClassUseCases
from class_management_service.application.committed_outbox import CommitObserver
from class_management_service.application.confirmations import ConfirmAssociations
from class_management_service.application.matching import MatchingRules
from class_management_service.application.outbox_messages import NotificationPolicy, OutboxMessages
from class_management_service.application.students import StudentUseCases
from class_management_service.application.suggestions import StoreSuggestions
from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.config import Settings
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.class_repository_mock_impl import (
    MockClassRepositoryImpl,
)
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.memory.outbox_store import InMemoryOutboxStore
from class_management_service.implementations.memory.store import InMemoryStore
from class_management_service.metrics import CommittedOutboxMetrics, ServiceMetrics
from class_management_service.protocols import ClassRepositoryProtocol, ClockProtocol
from huleedu_service_libs.clock import SystemClock
from huleedu_service_libs.outbox.metrics import OutboxMetrics
from huleedu_service_libs.outbox.ports import OutboxStore
from huleedu_service_libs.outbox.postgres_store import PostgresOutboxStore


class CoreProvider(Provider):
    """Settings, clock, outbox rendering and the use cases, whatever the storage."""

    settings = from_context(provides=Settings, scope=Scope.APP)
    registry = from_context(provides=CollectorRegistry, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def clock(self) -> ClockProtocol:
        return SystemClock()

    @provide(scope=Scope.APP)
    def outbox_messages(self, settings: Settings) -> OutboxMessages:
        return OutboxMessages(
            NotificationPolicy(
                redis=settings.notifications_redis_enabled,
                kafka=settings.notifications_kafka_enabled,
            )
        )

    @provide(scope=Scope.APP)
    def outbox_metrics(self, registry: CollectorRegistry) -> OutboxMetrics:
        return OutboxMetrics(registry, SERVICE_NAME)

    @provide(scope=Scope.APP)
    def commit_observer(
        self, outbox_metrics: OutboxMetrics, service_metrics: ServiceMetrics
    ) -> CommitObserver:
        return CommittedOutboxMetrics(outbox_metrics, service_metrics)

    class_use_cases = provide(ClassUseCases, scope=Scope.REQUEST)
    student_use_cases = provide(StudentUseCases, scope=Scope.REQUEST)
    bulk_import = provide(BulkImport, scope=Scope.REQUEST)


class MatchingProvider(Provider):
    """Phase 1 matching: review, confirmation, the suggestion handler and the timeout monitor.

    The handler and the monitor are request-scoped because they hold a unit of work; a worker
    opens one scope for its whole life (the unit of work starts a new transaction each time)."""

    @provide(scope=Scope.APP)
    def service_metrics(self, registry: CollectorRegistry) -> ServiceMetrics:
        return ServiceMetrics(registry)

    @provide(scope=Scope.APP)
    def matching_rules(self, settings: Settings) -> MatchingRules:
        return MatchingRules(
            timeout_hours=settings.association_timeout_hours,
            confidence_threshold=settings.association_confidence_threshold,
        )

    review_batch = provide(ReviewBatch, scope=Scope.REQUEST)
    association_lookups = provide(AssociationLookups, scope=Scope.REQUEST)
    store_suggestions = provide(StoreSuggestions, scope=Scope.REQUEST)
    suggestion_handler = provide(SuggestionRecordHandler, scope=Scope.REQUEST)

    @provide(scope=Scope.REQUEST)
    def confirm_associations(
        self,
        repository: ClassRepositoryProtocol,
        clock: ClockProtocol,
        messages: OutboxMessages,
        metrics: ServiceMetrics,
    ) -> ConfirmAssociations:
        return ConfirmAssociations(repository, clock, messages, metrics)

    @provide(scope=Scope.REQUEST)
    def timeout_monitor(
        self,
        repository: ClassRepositoryProtocol,
        clock: ClockProtocol,
        messages: OutboxMessages,
        rules: MatchingRules,
        settings: Settings,
        metrics: ServiceMetrics,
    ) -> TimeoutMonitor:
        return TimeoutMonitor(
            repository,
            clock,
            messages,
            rules,
            interval_seconds=settings.association_check_interval_seconds,
            metrics=metrics,
        )


class PostgresProvider(Provider):
    # The engine is created (and disposed) by the app's lifecycle, which also checks the schema.
    engine = from_context(provides=AsyncEngine, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def outbox_store(self, engine: AsyncEngine) -> OutboxStore:
        return PostgresOutboxStore(engine)

    @provide(scope=Scope.REQUEST)
    def repository(self, engine: AsyncEngine, observer: CommitObserver) -> ClassRepositoryProtocol:
        # Built from the engine, it owns its session factory (the seed's repository-managed
        # sessions); request-scoped because an open session belongs to one use case at a time.
        return PostgreSQLClassRepositoryImpl(engine, observer)


class InMemoryProvider(Provider):
    @provide(scope=Scope.APP)
    def store(self) -> InMemoryStore:
        return InMemoryStore()

    @provide(scope=Scope.APP)
    def outbox_store(self, store: InMemoryStore, clock: ClockProtocol) -> OutboxStore:
        return InMemoryOutboxStore(store, clock)

    @provide(scope=Scope.REQUEST)
    def repository(
        self, store: InMemoryStore, clock: ClockProtocol, observer: CommitObserver
    ) -> ClassRepositoryProtocol:
        return MockClassRepositoryImpl(store, clock, observer)


def make_container(
    settings: Settings,
    engine: AsyncEngine | None,
    *extra: Provider,
    registry: CollectorRegistry | None = None,
) -> AsyncContainer:
    """The process's container; ``engine`` is None exactly in the in-memory mode."""
    context: dict[object, object] = {
        Settings: settings,
        CollectorRegistry: registry if registry is not None else CollectorRegistry(),
    }
    if engine is None:
        storage: Provider = InMemoryProvider()
    else:
        storage = PostgresProvider()
        context[AsyncEngine] = engine
    return make_async_container(
        CoreProvider(), MatchingProvider(), storage, QuartProvider(), *extra, context=context
    )
