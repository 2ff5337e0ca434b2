"""The suggestion handler on PostgreSQL: stored rows, inbox idempotency, poison records."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.application.suggestions import StoreSuggestions
from class_management_service.domain.associations import ValidationStatus
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.transient import is_transient
from class_management_service.models_db import processed_events
from common_core.topics import BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.kafka.handling import HandlingResult, PoisonMessage
from tests.fixtures.suggestions import envelope, essay, record, suggestion
from tests.integration.db.builders import a_class
from tests.integration.matching.conftest import (
    MESSAGES,
    RULES,
    Roster,
    new_batch,
    outbox_data,
    stored_rows,
)

pytestmark = pytest.mark.integration

SUGGESTED = "student_matches_suggested"


async def _inbox_count(uow: PostgreSQLClassRepositoryImpl) -> int:
    async with uow:
        return (
            await uow.connection.execute(select(func.count()).select_from(processed_events))
        ).scalar_one()


async def test_event_is_stored_with_every_column_and_one_notification(
    handler: SuggestionRecordHandler,
    uow: PostgreSQLClassRepositoryImpl,
    roster: Roster,
    clock: FixedClock,
) -> None:
    batch = new_batch()
    event_id = uuid4()

    assert (
        await handler(record(batch.value(roster, event_id), offset=41)) is HandlingResult.PROCESSED
    )

    rows = await stored_rows(uow)
    anna, omar, nameless = (
        rows[e] for e in (batch.anna_essay, batch.omar_essay, batch.nameless_essay)
    )
    assert (anna.student_id, anna.suggested_student_id) == (roster.anna, roster.anna)
    assert anna.confidence_score == 0.92
    assert anna.match_reasons == ("Full name in header",)
    assert omar.student_id == roster.omar
    assert nameless.student_id is None
    assert nameless.match_reasons is None
    assert nameless.no_match_reason == "No name found in essay"
    for row in rows.values():
        assert row.batch_id == batch.batch_id
        assert row.class_id == roster.class_id
        assert row.created_by_user_id == "nlp_service_phase1"
        assert row.created_at == clock.now()
        assert row.validation_status is ValidationStatus.PENDING
        assert (row.validated_by, row.validated_at, row.validation_method) == (None, None, None)
    [message] = await outbox_data(uow, SUGGESTED)
    assert message["data"]["essay_count"] == 3
    assert message["data"]["matched_count"] == 2
    async with uow:
        inbox = (await uow.connection.execute(select(processed_events))).one()
    assert (inbox.event_id, inbox.topic, inbox.kafka_partition, inbox.kafka_offset) == (
        event_id,
        BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC,
        0,
        41,
    )


async def test_same_record_twice_adds_no_row_and_no_notification(
    handler: SuggestionRecordHandler, uow: PostgreSQLClassRepositoryImpl, roster: Roster
) -> None:
    batch = new_batch()
    value = batch.value(roster)
    assert await handler(record(value)) is HandlingResult.PROCESSED

    assert await handler(record(value)) is HandlingResult.DUPLICATE

    assert len(await stored_rows(uow)) == 3
    assert len(await outbox_data(uow, SUGGESTED)) == 1
    assert await _inbox_count(uow) == 1


async def test_republished_essays_under_a_new_event_id_add_nothing(
    handler: SuggestionRecordHandler, uow: PostgreSQLClassRepositoryImpl, roster: Roster
) -> None:
    batch = new_batch()
    await handler(record(batch.value(roster)))
    before = await stored_rows(uow)

    assert await handler(record(batch.value(roster))) is HandlingResult.PROCESSED

    assert await stored_rows(uow) == before
    assert len(await outbox_data(uow, SUGGESTED)) == 1
    assert await _inbox_count(uow) == 2


async def test_concurrent_delivery_of_one_event_is_stored_once(
    engine: AsyncEngine,
    uow: PostgreSQLClassRepositoryImpl,
    roster: Roster,
    clock: FixedClock,
) -> None:
    # Two consumers (separate connections) racing on one record: the second inbox insert waits
    # for the first transaction and then reports the duplicate.
    value = new_batch().value(roster)
    handlers = [
        SuggestionRecordHandler(
            StoreSuggestions(PostgreSQLClassRepositoryImpl(engine), clock, MESSAGES, RULES)
        )
        for _ in range(2)
    ]
    results = await asyncio.gather(*(handle(record(value)) for handle in handlers))

    assert sorted(results) == [HandlingResult.DUPLICATE, HandlingResult.PROCESSED]
    assert len(await stored_rows(uow)) == 3
    assert len(await outbox_data(uow, SUGGESTED)) == 1


async def test_concurrent_events_for_one_essay_fail_transiently_then_skip(
    engine: AsyncEngine,
    uow: PostgreSQLClassRepositoryImpl,
    roster: Roster,
    clock: FixedClock,
) -> None:
    batch = new_batch()
    first, second = batch.value(roster), batch.value(roster)
    handlers = [
        SuggestionRecordHandler(
            StoreSuggestions(PostgreSQLClassRepositoryImpl(engine), clock, MESSAGES, RULES)
        )
        for _ in range(2)
    ]
    outcomes = await asyncio.gather(
        handlers[0](record(first)), handlers[1](record(second)), return_exceptions=True
    )
    # One wins; the loser hits the essay unique key (a transient error for the consumer loop).
    assert sum(1 for o in outcomes if o is HandlingResult.PROCESSED) >= 1
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, IntegrityError) and is_transient(o) for o in failed)
    if failed:
        retried = first if outcomes[0] is not HandlingResult.PROCESSED else second
        assert await handlers[0](record(retried)) is HandlingResult.PROCESSED
    assert len(await stored_rows(uow)) == 3
    assert len(await outbox_data(uow, SUGGESTED)) == 1


async def test_unknown_class_is_poison_and_leaves_nothing(
    handler: SuggestionRecordHandler, uow: PostgreSQLClassRepositoryImpl
) -> None:
    value = envelope(batch_id=uuid4(), class_id=uuid4(), essays=[essay()])
    with pytest.raises(PoisonMessage) as caught:
        await handler(record(value))
    assert caught.value.reason == "class_not_found"
    assert await _inbox_count(uow) == 0
    assert await stored_rows(uow) == {}


async def test_batch_under_another_class_is_poison(
    handler: SuggestionRecordHandler, uow: PostgreSQLClassRepositoryImpl, roster: Roster
) -> None:
    other = a_class()
    async with uow:
        await uow.classes.add(other)
        await uow.commit()
    batch = new_batch()
    await handler(record(batch.value(roster)))

    with pytest.raises(PoisonMessage) as caught:
        await handler(
            record(envelope(batch_id=batch.batch_id, class_id=other.id, essays=[essay()]))
        )

    assert caught.value.reason == "batch_class_mismatch"
    assert len(await stored_rows(uow)) == 3
    assert await _inbox_count(uow) == 1


async def test_a_later_event_for_the_batch_adds_its_new_essays(
    handler: SuggestionRecordHandler,
    uow: PostgreSQLClassRepositoryImpl,
    roster: Roster,
    clock: FixedClock,
) -> None:
    batch = new_batch()
    await handler(record(batch.value(roster)))
    clock.advance(timedelta(minutes=3))
    late = uuid4()

    await handler(
        record(envelope(batch_id=batch.batch_id, class_id=roster.class_id, essays=[essay(late)]))
    )

    rows = await stored_rows(uow)
    assert rows[late].created_at == clock.now()
    assert [m["data"]["essay_count"] for m in await outbox_data(uow, SUGGESTED)] == [3, 1]


async def test_nul_characters_in_producer_text_do_not_fail_the_event(
    handler: SuggestionRecordHandler, uow: PostgreSQLClassRepositoryImpl, roster: Roster
) -> None:
    # PostgreSQL text cannot store U+0000; reasons travel as JSON (escaped), the hint is cleaned.
    named, unnamed = uuid4(), uuid4()
    value = envelope(
        batch_id=uuid4(),
        class_id=roster.class_id,
        essays=[
            essay(named, [suggestion(roster.anna, 0.9, ["Name\x00 in header"])]),
            essay(unnamed, no_match_reason="No\x00 name"),
        ],
    )
    assert await handler(record(value)) is HandlingResult.PROCESSED
    rows = await stored_rows(uow)
    assert rows[named].match_reasons == ("Name\x00 in header",)
    assert rows[unnamed].no_match_reason == "No name"
