"""Consuming suggestions on the in-memory store: rows, inbox, notification, poison records."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from class_management_service.application.classes import ClassUseCases
from class_management_service.application.context import Actor
from class_management_service.domain.associations import ValidationStatus
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.memory.store import InMemoryStore
from common_core.courses import course_by_code
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.kafka.handling import HandlingResult, PoisonMessage
from tests.fixtures.suggestions import envelope, essay, record, suggestion
from tests.unit.service.matching.conftest import Roster, associations, outbox

SUGGESTED = "student_matches_suggested"


async def test_event_stores_one_pending_row_per_essay_and_notifies_the_owner(
    handler: SuggestionRecordHandler,
    store: InMemoryStore,
    roster: Roster,
    clock: FixedClock,
    teacher: Actor,
) -> None:
    batch_id, correlation_id = uuid4(), uuid4()
    matched, outsider_only, empty = uuid4(), uuid4(), uuid4()
    value = envelope(
        batch_id=batch_id,
        class_id=roster.class_id,
        correlation_id=correlation_id,
        essays=[
            essay(matched, [suggestion(roster.anna, 0.92)]),
            essay(outsider_only, [suggestion(uuid4(), 0.99)]),
            essay(empty, no_match_reason="No name found in essay"),
        ],
    )

    written_before = len(store.tables.outbox)
    assert await handler(record(value)) is HandlingResult.PROCESSED

    # Only the notification: suggestions publish no Kafka event.
    assert len(store.tables.outbox) == written_before + 1
    rows = associations(store)
    assert set(rows) == {matched, outsider_only, empty}
    assert all(row.validation_status is ValidationStatus.PENDING for row in rows.values())
    assert all(row.created_at == clock.now() for row in rows.values())
    assert rows[matched].student_id == roster.anna
    assert rows[outsider_only].no_match_reason == "no_suggestion_in_class"
    assert rows[empty].no_match_reason == "No name found in essay"
    [message] = outbox(store, SUGGESTED)
    data = message["data"]
    assert (data["essay_count"], data["matched_count"], data["unmatched_count"]) == (3, 1, 2)
    assert data["correlation_id"] == str(correlation_id)
    assert data["batch_id"] == str(batch_id)
    assert data["deadline"] == (clock.now() + timedelta(hours=24)).isoformat().replace(
        "+00:00", "Z"
    )
    assert message["event"] == SUGGESTED
    newest = max(store.tables.outbox.values(), key=lambda row: row.seq)
    assert newest.topic == f"ws:{teacher.teacher_id}"


async def test_redelivered_event_is_a_duplicate_and_changes_nothing(
    handler: SuggestionRecordHandler, store: InMemoryStore, roster: Roster
) -> None:
    value = envelope(batch_id=uuid4(), class_id=roster.class_id, essays=[essay(), essay()])
    assert await handler(record(value, offset=7)) is HandlingResult.PROCESSED
    before = (len(associations(store)), len(store.tables.outbox))

    assert await handler(record(value, offset=8)) is HandlingResult.DUPLICATE

    assert (len(associations(store)), len(store.tables.outbox)) == before
    [inbox_row] = store.tables.extra["inbox"].values()
    assert inbox_row.offset == 7


async def test_known_essays_are_skipped_even_under_a_new_event_id(
    handler: SuggestionRecordHandler, store: InMemoryStore, roster: Roster
) -> None:
    batch_id, first, second = uuid4(), uuid4(), uuid4()
    await handler(
        record(envelope(batch_id=batch_id, class_id=roster.class_id, essays=[essay(first)]))
    )

    again = envelope(
        batch_id=batch_id,
        class_id=roster.class_id,
        essays=[essay(first, [suggestion(roster.omar, 0.9)]), essay(second), essay(second)],
    )
    assert await handler(record(again)) is HandlingResult.PROCESSED

    rows = associations(store)
    assert set(rows) == {first, second}
    assert rows[first].student_id is None  # the first stored suggestion stays
    counts = [m["data"]["essay_count"] for m in outbox(store, SUGGESTED)]
    assert counts == [1, 1]


async def test_event_adding_nothing_is_recorded_without_notification(
    handler: SuggestionRecordHandler, store: InMemoryStore, roster: Roster
) -> None:
    value = envelope(batch_id=uuid4(), class_id=roster.class_id, essays=[])
    assert await handler(record(value)) is HandlingResult.PROCESSED
    assert await handler(record(value)) is HandlingResult.DUPLICATE
    assert outbox(store, SUGGESTED) == []
    assert len(store.tables.extra["inbox"]) == 1


async def test_unknown_class_is_poison_and_leaves_no_inbox_row(
    handler: SuggestionRecordHandler, store: InMemoryStore
) -> None:
    value = envelope(batch_id=uuid4(), class_id=uuid4(), essays=[essay()])
    with pytest.raises(PoisonMessage) as caught:
        await handler(record(value))
    assert caught.value.reason == "class_not_found"
    assert not store.tables.extra.get("inbox")
    assert associations(store) == {}


async def test_batch_stored_under_another_class_is_poison(
    handler: SuggestionRecordHandler,
    store: InMemoryStore,
    roster: Roster,
    classes: ClassUseCases,
    teacher: Actor,
) -> None:
    other = await classes.create(teacher, "9C", course_by_code("ENG5"))
    batch_id = uuid4()
    await handler(record(envelope(batch_id=batch_id, class_id=roster.class_id, essays=[essay()])))

    with pytest.raises(PoisonMessage) as caught:
        await handler(record(envelope(batch_id=batch_id, class_id=other.id, essays=[essay()])))
    assert caught.value.reason == "batch_class_mismatch"
    assert len(associations(store)) == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff", "invalid_json"),
        (b"[1]", "invalid_json"),
        (None, "invalid_json"),
        (b'{"event_type": "x", "data": {}}', "invalid_envelope"),
    ],
)
async def test_undecodable_records_are_poison(
    handler: SuggestionRecordHandler, value: bytes | None, reason: str
) -> None:
    with pytest.raises(PoisonMessage) as caught:
        await handler(record(value))
    assert caught.value.reason == reason


async def test_wrong_event_type_and_invalid_payload_are_poison(
    handler: SuggestionRecordHandler, roster: Roster
) -> None:
    value = envelope(batch_id=uuid4(), class_id=roster.class_id, essays=[essay()])
    value["event_type"] = "huleedu.something.else.v1"
    with pytest.raises(PoisonMessage) as caught:
        await handler(record(value))
    assert caught.value.reason == "unexpected_event_type"

    value = envelope(batch_id=uuid4(), class_id=roster.class_id, essays=[essay()])
    value["data"]["match_results"][0]["suggestions"] = [suggestion(roster.anna, 1.5)]
    with pytest.raises(PoisonMessage) as caught:
        await handler(record(value))
    assert caught.value.reason == "schema_invalid"


async def test_malformed_correlation_id_gets_a_fresh_one(
    handler: SuggestionRecordHandler, store: InMemoryStore, roster: Roster
) -> None:
    value = envelope(
        batch_id=uuid4(), class_id=roster.class_id, essays=[essay()], correlation_id="nope"
    )
    await handler(record(value))
    [message] = outbox(store, SUGGESTED)
    assert message["data"]["correlation_id"] != "nope"
