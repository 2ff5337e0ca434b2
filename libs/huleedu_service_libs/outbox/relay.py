"""The relay loop of one destination (``data-model.md`` §7.3): claim, publish, record, wait."""

from __future__ import annotations

import asyncio
import enum
import random
import time
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog

from huleedu_service_libs.outbox.backoff import Jitter, RetryPolicy
from huleedu_service_libs.outbox.metrics import OutboxMetrics
from huleedu_service_libs.outbox.ports import OutboxClaim, OutboxStore, Publisher
from huleedu_service_libs.outbox.records import OutboxRecord
from huleedu_service_libs.outbox.waiting import wait_any

logger = structlog.get_logger(__name__)

RelayStatus = Literal["running", "stopped"]


class Wakeups(Protocol):
    """Sets ``event`` when rows for the relay's destination may have been written."""

    event: asyncio.Event

    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """The ``OUTBOX_*`` settings of ``configuration.md`` §2.6 that drive a relay."""

    batch_size: int = 100
    poll_interval_seconds: float = 5.0
    max_attempts: int = 20
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    # How often the gauges are refreshed from the store; None: every poll interval.
    stats_interval_seconds: float | None = None
    # How long run() lets the LISTEN task close politely on the way out before cancelling it
    # (it may be stuck connecting to an unreachable database).
    listener_close_timeout_seconds: float = 1.0

    def retry_policy(self, jitter: Jitter = random.uniform) -> RetryPolicy:
        return RetryPolicy(
            self.max_attempts, self.backoff_initial_seconds, self.backoff_max_seconds, jitter
        )


class Outcome(enum.Enum):
    PUBLISHED = "published"  # rows published, no failure: claim again at once
    FAILED = "failed"  # a row's publish or the claim itself failed: back off
    IDLE = "idle"  # nothing eligible: wait for NOTIFY, the next due row or the poll interval


@dataclass(frozen=True, slots=True)
class CycleResult:
    outcome: Outcome
    published: int = 0
    next_due_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class _Failure:
    record: OutboxRecord
    parked: bool
    error: str


def describe_error(exc: BaseException) -> str:
    """``Type: message`` for ``last_error`` and logs (some messages already start with the type)."""
    name, text = type(exc).__name__, str(exc)
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"


class OutboxRelay:
    """Publishes one destination's rows in ``seq`` order per key, at least once.

    Exceptions inside a cycle are logged and backed off, never raised: the loop ends only when
    ``stop`` is set (after the current claim) or its task is cancelled (the claim rolls back).
    """

    def __init__(
        self,
        *,
        store: OutboxStore,
        publisher: Publisher,
        config: RelayConfig,
        metrics: OutboxMetrics | None = None,
        wakeups: Wakeups | None = None,
        jitter: Jitter = random.uniform,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._destination = publisher.destination
        self._config = config
        self._policy = config.retry_policy(jitter)
        self._metrics = metrics
        self._wakeups = wakeups
        self._failed_claims = 0
        self._stats_due = 0.0
        self._running = False

    @property
    def destination(self) -> str:
        return self._destination

    @property
    def wakeups(self) -> Wakeups | None:
        return self._wakeups

    @property
    def status(self) -> RelayStatus:
        return "running" if self._running else "stopped"

    async def run(self, stop: asyncio.Event) -> None:
        self._running = True
        listener_stop = asyncio.Event()
        listener = (
            asyncio.create_task(self._wakeups.run(listener_stop), name="outbox-listener")
            if self._wakeups is not None
            else None
        )
        logger.info("outbox_relay_started", destination=self._destination)
        try:
            await self._loop(stop)
        finally:
            listener_stop.set()
            if listener is not None:
                _, pending = await asyncio.wait(
                    [listener], timeout=self._config.listener_close_timeout_seconds
                )
                for task in pending:
                    task.cancel()
                    await asyncio.wait([task])
            self._running = False
            logger.info("outbox_relay_stopped", destination=self._destination)

    async def _loop(self, stop: asyncio.Event) -> None:
        wake = self._wakeups.event if self._wakeups is not None else asyncio.Event()
        while not stop.is_set():
            # Cleared before the claim, so a NOTIFY that arrives during it is not lost.
            wake.clear()
            result = await self.run_once()
            await self._refresh_gauges()
            if result.outcome is Outcome.PUBLISHED:
                self._failed_claims = 0
                continue
            if result.outcome is Outcome.FAILED:
                self._failed_claims += 1
                await wait_any(stop, seconds=self._policy.delay(self._failed_claims))
                continue
            idle = self._config.poll_interval_seconds
            if result.next_due_seconds is not None:
                idle = min(idle, max(result.next_due_seconds, 0.0))
            await wait_any(stop, wake, seconds=idle)

    async def run_once(self) -> CycleResult:
        """One claim: publish its rows together, record each row's outcome, commit."""
        published: list[OutboxRecord] = []
        failures: list[_Failure] = []
        try:
            async with self._store.claim(self._destination, self._config.batch_size) as claim:
                records = claim.records
                if records:
                    outcomes = await self._publisher.publish_batch(records)
                    # Per key, rows count in seq order up to the key's first failure; the rows
                    # after it stay as they were (no attempt counted), even if they were sent:
                    # they go again after it, with their event_id. Other keys go on regardless.
                    failed_keys: set[str] = set()
                    for record, error in zip(records, outcomes, strict=True):
                        if record.event_key in failed_keys:
                            continue
                        if error is None:
                            await claim.mark_published(record)
                            published.append(record)
                        else:
                            failed_keys.add(record.event_key)
                            failures.append(await self._record_failure(claim, record, error))
                next_due = claim.next_due_seconds
        except Exception:
            logger.exception("outbox_claim_failed", destination=self._destination)
            return CycleResult(Outcome.FAILED)
        self._count(published, failures)
        if failures:
            self._log_failed_claim(published, failures)
            return CycleResult(Outcome.FAILED, published=len(published))
        if published:
            return CycleResult(Outcome.PUBLISHED, published=len(published))
        return CycleResult(Outcome.IDLE, next_due_seconds=next_due)

    def _log_failed_claim(self, published: list[OutboxRecord], failures: list[_Failure]) -> None:
        errors = sorted({failure.error for failure in failures})
        logger.warning(
            "outbox_publish_failed",
            destination=self._destination,
            rows_failed=len(failures),
            rows_parked=sum(1 for failure in failures if failure.parked),
            rows_published=len(published),
            first_seq=min(failure.record.seq for failure in failures),
            error=errors[0],
            distinct_errors=len(errors),
        )

    async def _record_failure(
        self, claim: OutboxClaim, record: OutboxRecord, exc: Exception
    ) -> _Failure:
        decision = self._policy.after_failure(record.retry_count)
        error = describe_error(exc)
        await claim.mark_failed(
            record,
            error=error,
            retry_delay_seconds=decision.retry_delay_seconds,
            park=decision.park,
        )
        # A parked row needs an operator, so it is reported on its own. Failed attempts are
        # summarised once per claim (run_once): while a broker is down every row of every claim
        # fails, and a line per row would be most of the service's log.
        log = logger.error if decision.park else logger.debug
        log(
            "outbox_row_parked" if decision.park else "outbox_row_publish_failed",
            destination=self._destination,
            outbox_id=str(record.id),
            seq=record.seq,
            event_type=record.event_type,
            topic=record.topic,
            retry_count=decision.retry_count,
            retry_in_seconds=None if decision.park else round(decision.retry_delay_seconds, 3),
            error=error,
        )
        return _Failure(record, decision.park, error)

    def _count(self, published: list[OutboxRecord], failures: list[_Failure]) -> None:
        # Counted only after the commit, so a rolled-back claim is not reported as done.
        if self._metrics is None:
            return
        for record in published:
            self._metrics.event_published(self._destination, record.event_type)
        for failure in failures:
            self._metrics.event_failed(
                self._destination, failure.record.event_type, parked=failure.parked
            )

    async def _refresh_gauges(self) -> None:
        if self._metrics is None or time.monotonic() < self._stats_due:
            return
        interval = self._config.stats_interval_seconds or self._config.poll_interval_seconds
        self._stats_due = time.monotonic() + interval
        try:
            self._metrics.observe(await self._store.stats())
        except Exception:
            logger.exception("outbox_stats_failed", destination=self._destination)
