"""The association timeout monitor (matching.md §5): decides rows nobody decided in time."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import structlog

from class_management_service.application.association_messages import associations_confirmed
from class_management_service.application.matching import MatchingRules, count_decisions
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.domain.associations import BatchClass, EssayAssociation
from class_management_service.protocols import (
    ClassRepositoryProtocol,
    ClockProtocol,
    DecisionMetricsProtocol,
)

logger = structlog.get_logger(__name__)

DUE_BATCH_PAGE = 100


@dataclass
class CycleReport:
    batches_decided: int = 0
    rows_decided: int = 0
    batches_skipped: int = 0
    batches_failed: int = 0


class TimeoutMonitor:
    """One instance per replica; every batch is decided in its own transaction.

    The unit of work is entered once per transaction, never concurrently."""

    def __init__(
        self,
        repository: ClassRepositoryProtocol,
        clock: ClockProtocol,
        messages: OutboxMessages,
        rules: MatchingRules,
        *,
        interval_seconds: float,
        metrics: DecisionMetricsProtocol | None = None,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._messages = messages
        self._rules = rules
        self._interval = interval_seconds
        self._metrics = metrics

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle at once, then every interval, until ``stop`` is set; errors never end it."""
        while not stop.is_set():
            try:
                await self.run_cycle()
            except Exception:
                logger.exception("association_timeout_cycle_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval)

    async def run_cycle(self) -> CycleReport:
        # One "now" for the whole cycle, so every batch uses the same cutoff and timestamp.
        now = self._clock.now()
        cutoff = now - timedelta(hours=self._rules.timeout_hours)
        report = CycleReport()
        visited: set[UUID] = set()
        while True:
            async with self._repository.reading() as uow:
                batch_ids = await uow.associations.due_batch_ids(
                    cutoff, exclude=visited, limit=DUE_BATCH_PAGE
                )
            if not batch_ids:
                break
            for batch_id in batch_ids:
                visited.add(batch_id)
                try:
                    decided = await self._decide_batch(batch_id, now, cutoff)
                except Exception:
                    # Only this batch's transaction is lost; the next cycle retries it.
                    logger.exception("association_timeout_batch_failed", batch_id=str(batch_id))
                    report.batches_failed += 1
                    continue
                if decided is None:
                    report.batches_skipped += 1
                elif decided:
                    report.batches_decided += 1
                    report.rows_decided += len(decided)
                    count_decisions(self._metrics, decided)
        if report.batches_decided or report.batches_failed:
            logger.info(
                "association_timeout_cycle",
                batches_decided=report.batches_decided,
                rows_decided=report.rows_decided,
                batches_skipped=report.batches_skipped,
                batches_failed=report.batches_failed,
            )
        return report

    async def _decide_batch(
        self, batch_id: UUID, now: datetime, cutoff: datetime
    ) -> list[EssayAssociation] | None:
        """The rows decided and committed; ``None`` when another replica holds the batch."""
        async with self._repository as uow:
            # Keeps two monitors from splitting one batch into two events in the same cycle.
            if not await uow.associations.try_lock_batch(batch_id):
                return None
            # The class first, FOR SHARE, as a class delete locks it before the rows: taking the
            # rows first would let a concurrent delete and this transaction deadlock once the
            # placeholder's enrolment checks its foreign key on the class.
            known = (await uow.associations.batch_classes([batch_id])).get(batch_id)
            school_class = await uow.classes.get_for_share(known.class_id) if known else None
            if school_class is None:
                return []  # the class and its rows were deleted meanwhile
            rows = await uow.associations.lock_due_pending(batch_id, cutoff)
            if not rows:
                await uow.commit()
                return []
            unknown_id: UUID | None = None
            decided: list[EssayAssociation] = []
            for row in rows:
                if self._keeps_suggestion(row) and row.student_id is not None:
                    decided.append(row.timed_out(row.student_id, at=now))
                    continue
                if unknown_id is None:
                    unknown_id = await uow.classes.unknown_student(school_class.id, now)
                decided.append(row.timed_out(unknown_id, at=now))
            await uow.associations.save_decisions(decided)
            batch_class = BatchClass.of(batch_id, school_class)
            await uow.events.publish(
                associations_confirmed(
                    self._messages,
                    batch_class,
                    decided,
                    recipient=school_class.owner_id,
                    correlation_id=uuid4(),
                    now=now,
                    timeout_hours=self._rules.timeout_hours,
                )
            )
            await uow.commit()
        return decided

    def _keeps_suggestion(self, row: EssayAssociation) -> bool:
        return (
            row.student_id is not None
            and row.confidence_score is not None
            and row.confidence_score >= self._rules.confidence_threshold
        )
