"""One connected consumer's work: fetch, handle one record at a time, commit it alone."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError

from huleedu_service_libs.kafka.backoff import Backoff
from huleedu_service_libs.kafka.dead_letter import DeadLetter, DeadLetterPublisher, describe_error
from huleedu_service_libs.kafka.handling import (
    ConsumedRecord,
    PoisonMessage,
    RecordHandler,
    TransientPredicate,
)
from huleedu_service_libs.kafka.metrics import ConsumerLagObserver, ConsumerMetrics, ConsumerResult

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ProcessingPolicy:
    """What to do with records, shared by every connection of one consumer."""

    topic: str
    handler: RecordHandler
    is_transient: TransientPredicate
    retry_initial: float
    retry_max: float
    max_attempts: int
    metrics: ConsumerMetrics
    lag_observer: ConsumerLagObserver | None
    poll_seconds: float
    max_batch_records: int
    io_timeout_seconds: float

    def backoff(self) -> Backoff:
        return Backoff(initial=self.retry_initial, maximum=self.retry_max)


class AssignmentCounter(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Counts assignments: records fetched under an older one may be stale, because aiokafka
    resets every partition's position to its committed offset when an assignment arrives."""

    def __init__(self) -> None:
        self.assignments = 0

    def on_partitions_revoked(self, revoked: Any) -> None:
        """Nothing to flush: every finished record is already committed."""

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.assignments += 1
        # aiokafka's own INFO logs are usually silenced; ownership changes matter when debugging.
        logger.info(
            "kafka_partitions_assigned",
            partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned),
            assignment=self.assignments,
        )


def _consumed(record: Any) -> ConsumedRecord:
    return ConsumedRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple(record.headers or ()),
    )


class RecordLoop:
    """Runs until ``stop`` is set; raises what the consumer raises, for the caller to reconnect.

    A record is finished when its handler returned or its dead letter was acknowledged, and only
    then is ``{tp: offset + 1}`` committed. Until a record is finished, nothing after it in its
    partition is handled; an unfinished record is fetched again (seek, or a rebalance's reset).
    """

    def __init__(
        self,
        consumer: Any,
        listener: AssignmentCounter,
        dead_letters: DeadLetterPublisher,
        policy: ProcessingPolicy,
        stop: asyncio.Event,
    ) -> None:
        self._consumer = consumer
        self._listener = listener
        self._dead_letters = dead_letters
        self._policy = policy
        self._stop = stop

    async def run(self) -> None:
        poll_ms = max(1, round(self._policy.poll_seconds * 1000))
        while not self._stop.is_set():
            batches = await self._poll(poll_ms)
            if batches is None:
                return
            await self._handle_batches(batches)

    async def _poll(self, poll_ms: int) -> dict[Any, list[Any]] | None:
        """``getmany``, abandoned (None) when ``stop`` is set first.

        While the group rebalances, aiokafka's ``getmany`` ignores its timeout and waits for the
        new assignment, which can take a whole session timeout (a crashed member); shutdown must
        not wait for that. Nothing is lost: an abandoned poll has consumed nothing."""
        fetch = asyncio.ensure_future(
            self._consumer.getmany(timeout_ms=poll_ms, max_records=self._policy.max_batch_records)
        )
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([fetch, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                await asyncio.wait([fetch])
        if fetch.cancelled():
            return None
        batches: dict[Any, list[Any]] = fetch.result()
        return batches

    async def _handle_batches(self, batches: dict[Any, list[Any]]) -> None:
        # Read after getmany: it returns only records of the assignment current at its return.
        generation = self._listener.assignments
        for tp, records in batches.items():
            for record in records:
                if self._stop.is_set():
                    return  # closing: whatever is unfinished stays uncommitted
                if self._listener.assignments != generation or not await self._finish(
                    tp, record, generation
                ):
                    self._rewind(tp, record.offset, generation)
                    break

    def _rewind(self, tp: Any, offset: int, generation: int) -> None:
        """Move the fetch position, already past this unfinished record, back to it; unless a new
        assignment has reset it to the committed offset (which another member may have moved)."""
        if self._current(tp, generation):
            self._consumer.seek(tp, offset)

    def _current(self, tp: Any, generation: int) -> bool:
        return self._listener.assignments == generation and tp in self._consumer.assignment()

    async def _finish(self, tp: Any, record: Any, generation: int) -> bool:
        """Handle the record until it is finished and committed; False if it was given up."""
        consumed = _consumed(record)
        log = logger.bind(topic=record.topic, partition=record.partition, offset=record.offset)
        policy = self._policy
        retry = policy.backoff()
        failures = 0
        letter: DeadLetter | None = None
        while True:
            result: ConsumerResult | None = None
            if letter is None:
                try:
                    result = ConsumerResult(await policy.handler(consumed))
                except PoisonMessage as exc:
                    letter = DeadLetter.from_poison(exc)
                except Exception as exc:
                    if policy.is_transient(exc):
                        log.warning("record_failed_transient", error=describe_error(exc))
                    else:
                        failures += 1
                        letter = self._after_failure(exc, failures, log)
            if letter is not None:
                # Once a record is condemned only the produce is retried, never the handler.
                result = await self._dead_letter(consumed, letter, log)
            if result is not None:
                policy.metrics.consumer_message(policy.topic, result)
                return await self._commit(tp, record.offset, generation, log)
            if self._stop.is_set() or not self._current(tp, generation):
                return False
            policy.metrics.consumer_retry(policy.topic)
            await self._wait_polling(retry.next_delay())
            if self._stop.is_set() or not self._current(tp, generation):
                return False

    def _after_failure(self, exc: Exception, failures: int, log: Any) -> DeadLetter | None:
        """The dead letter once unexpected errors used up ``max_attempts``, else None (retry)."""
        log.warning(
            "record_failed",
            attempt=failures,
            max_attempts=self._policy.max_attempts,
            error=describe_error(exc),
            exc_info=exc,
        )
        return DeadLetter.from_failure(exc) if failures >= self._policy.max_attempts else None

    async def _dead_letter(
        self, consumed: ConsumedRecord, letter: DeadLetter, log: Any
    ) -> ConsumerResult | None:
        """Dead-letter the record; None when the produce failed (a transient failure)."""
        try:
            await self._dead_letters.publish(consumed, letter)
        except Exception as exc:
            log.warning("dead_letter_failed", error=describe_error(exc))
            return None
        log.warning("record_dead_lettered", reason=str(letter.reason), error=letter.error)
        return ConsumerResult.DEAD_LETTERED

    async def _commit(self, tp: Any, offset: int, generation: int, log: Any) -> bool:
        """Commit ``offset + 1`` for this partition only, retrying until done or given up."""
        retry = self._policy.backoff()
        while True:
            if tp not in self._consumer.assignment():
                log.info("commit_skipped_partition_revoked")
                return False
            try:
                async with asyncio.timeout(self._policy.io_timeout_seconds):
                    await self._consumer.commit({tp: offset + 1})
                break
            except CommitFailedError as exc:
                # The group moved on; whoever owns the partition now gets the record again.
                log.warning("commit_rejected", error=describe_error(exc))
                return False
            except (KafkaError, TimeoutError) as exc:
                log.warning("commit_failed", error=describe_error(exc))
            if self._stop.is_set():
                return False
            await self._wait_polling(retry.next_delay())
        if self._listener.assignments != generation and tp in self._consumer.assignment():
            # The new assignment may have reset the position to the offset committed before ours.
            self._consumer.seek(tp, offset + 1)
        self._report_lag(tp, offset)
        return True

    def _report_lag(self, tp: Any, offset: int) -> None:
        observer = self._policy.lag_observer
        if observer is None or tp not in self._consumer.assignment():
            return
        highwater = self._consumer.highwater(tp)
        if highwater is not None:
            observer.consumer_lag(tp.topic, tp.partition, max(highwater - offset - 1, 0))

    async def _wait_polling(self, seconds: float) -> None:
        """Back off while still polling with every partition paused: aiokafka leaves the group
        when ``getmany`` is not called within ``max_poll_interval_ms``, and retries are endless.
        """
        paused = self._consumer.assignment()
        self._consumer.pause(*paused)
        try:
            deadline = time.monotonic() + seconds
            while not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                slice_ms = math.ceil(min(remaining, self._policy.poll_seconds) * 1000)
                stray = await self._consumer.getmany(timeout_ms=slice_ms)
                for tp, records in stray.items():
                    # Assigned during the wait, so not paused: put the records back.
                    self._consumer.seek(tp, records[0].offset)
        finally:
            self._consumer.resume(*(tp for tp in paused if tp in self._consumer.assignment()))
