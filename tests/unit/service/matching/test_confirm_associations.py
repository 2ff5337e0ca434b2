"""The teacher's confirmation (matching.md §4) on the in-memory store."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from prometheus_client import CollectorRegistry

from class_management_service.application.classes import ClassUseCases
from class_management_service.application.confirmations import ConfirmAssociations, ConfirmItem
from class_management_service.application.context import Actor
from class_management_service.application.students import PersonName, StudentUseCases
from class_management_service.domain.associations import ValidationStatus
from class_management_service.implementations.memory.store import InMemoryStore
from common_core.courses import course_by_code
from common_core.enums import ValidationMethod
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.error_handling import HuleEduError
from tests.unit.service.matching.conftest import (
    Batch,
    Roster,
    associations,
    decided_count,
    outbox,
)

CONFIRMED_TOPIC = "huleedu.class.student.associations.confirmed.v1"


async def test_confirm_and_reject_decide_rows_and_emit_one_event_with_real_scores(
    confirm: ConfirmAssociations,
    store: InMemoryStore,
    roster: Roster,
    batch: Batch,
    teacher: Actor,
    clock: FixedClock,
    registry: CollectorRegistry,
) -> None:
    clock.advance(timedelta(hours=1))
    result = await confirm.confirm(
        teacher,
        batch.batch_id,
        [
            ConfirmItem(batch.anna_essay, True),
            ConfirmItem(batch.omar_essay, True, student_id=roster.lea),
            ConfirmItem(batch.nameless_essay, False),
        ],
    )

    assert (result.confirmed, result.rejected, result.unchanged) == (2, 1, 0)
    assert result.pending_remaining == 0
    rows = associations(store)
    anna, omar, nameless = (
        rows[e] for e in (batch.anna_essay, batch.omar_essay, batch.nameless_essay)
    )
    assert (anna.validation_status, anna.student_id) == (ValidationStatus.CONFIRMED, roster.anna)
    assert (omar.student_id, omar.suggested_student_id) == (roster.lea, roster.omar)
    assert (nameless.validation_status, nameless.student_id) == (ValidationStatus.REJECTED, None)
    for row in (anna, omar, nameless):
        assert row.validated_by == teacher.teacher_id
        assert row.validation_method is ValidationMethod.HUMAN
        assert row.validated_at == clock.now()

    [event] = outbox(store, CONFIRMED_TOPIC)
    assert event["correlation_id"] == str(teacher.correlation_id)
    data = event["data"]
    assert data["timeout_triggered"] is False
    assert data["validation_summary"] == {"total_associations": 3, "confirmed": 2, "rejected": 1}
    scores = {item["essay_id"]: item["confidence_score"] for item in data["associations"]}
    assert scores == {str(batch.anna_essay): 0.92, str(batch.omar_essay): 1.0}
    [notification] = outbox(store, "student_associations_confirmed")
    assert (
        notification["data"]["message"] == "2 student associations confirmed for class '9B English'"
    )
    assert decided_count(registry, "human", "confirmed") == 2
    assert decided_count(registry, "human", "rejected") == 1


async def test_confirming_again_changes_nothing_and_emits_nothing(
    confirm: ConfirmAssociations, store: InMemoryStore, batch: Batch, teacher: Actor
) -> None:
    items = [ConfirmItem(batch.anna_essay, True), ConfirmItem(batch.omar_essay, False)]
    await confirm.confirm(teacher, batch.batch_id, items)
    before = dict(associations(store))

    again = await confirm.confirm(teacher, batch.batch_id, [*items[::-1]])

    assert (again.confirmed, again.rejected, again.unchanged) == (0, 0, 2)
    assert again.pending_remaining == 1
    assert associations(store) == before
    assert len(outbox(store, CONFIRMED_TOPIC)) == 1


async def test_partial_confirmation_leaves_the_rest_pending(
    confirm: ConfirmAssociations, batch: Batch, teacher: Actor
) -> None:
    result = await confirm.confirm(teacher, batch.batch_id, [ConfirmItem(batch.anna_essay, True)])
    assert (result.confirmed, result.pending_remaining) == (1, 2)


async def test_unknown_batch_and_other_teachers_batch_are_not_found(
    confirm: ConfirmAssociations, batch: Batch, other_teacher: Actor, teacher: Actor
) -> None:
    for actor, batch_id in ((teacher, uuid4()), (other_teacher, batch.batch_id)):
        with pytest.raises(HuleEduError) as caught:
            await confirm.confirm(actor, batch_id, [ConfirmItem(batch.anna_essay, True)])
        assert caught.value.status_code == 404
        assert caught.value.details == {
            "reason": "not_found",
            "resource": "batch",
            "id": str(batch_id),
        }


async def test_unknown_essays_and_foreign_students_are_reported_together(
    confirm: ConfirmAssociations,
    store: InMemoryStore,
    batch: Batch,
    teacher: Actor,
    classes: ClassUseCases,
    students: StudentUseCases,
) -> None:
    elsewhere = await classes.create(teacher, "9C", course_by_code("ENG5"))
    outsider = await students.create(teacher, PersonName("Ola", "Nord"), None, [elsewhere.id])
    stray_essay = uuid4()
    before = dict(associations(store))

    with pytest.raises(HuleEduError) as caught:
        await confirm.confirm(
            teacher,
            batch.batch_id,
            [
                ConfirmItem(batch.anna_essay, True),
                ConfirmItem(stray_essay, True, student_id=outsider.id),
                ConfirmItem(batch.omar_essay, False, student_id=outsider.id),
            ],
        )

    assert caught.value.details["reason"] == "unknown_reference"
    assert [(e["field"], e["id"]) for e in caught.value.details["errors"]] == [
        ("associations.1.essay_id", str(stray_essay)),
        ("associations.1.student_id", str(outsider.id)),
        ("associations.2.student_id", str(outsider.id)),
    ]
    assert associations(store) == before


async def test_confirming_without_any_target_is_invalid_only_for_pending_rows(
    confirm: ConfirmAssociations, store: InMemoryStore, batch: Batch, teacher: Actor
) -> None:
    with pytest.raises(HuleEduError) as caught:
        await confirm.confirm(
            teacher,
            batch.batch_id,
            [ConfirmItem(batch.anna_essay, True), ConfirmItem(batch.nameless_essay, True)],
        )
    assert caught.value.details["reason"] == "invalid_body"
    assert [e["field"] for e in caught.value.details["errors"]] == ["associations.1.student_id"]
    # The whole call was rolled back, the valid item included.
    assert associations(store)[batch.anna_essay].is_pending
    assert outbox(store, CONFIRMED_TOPIC) == []

    await confirm.confirm(teacher, batch.batch_id, [ConfirmItem(batch.nameless_essay, False)])
    result = await confirm.confirm(
        teacher, batch.batch_id, [ConfirmItem(batch.nameless_essay, True)]
    )
    assert result.unchanged == 1


async def test_repeated_essay_in_one_request_is_an_invalid_body(
    confirm: ConfirmAssociations, batch: Batch, teacher: Actor
) -> None:
    with pytest.raises(HuleEduError) as caught:
        await confirm.confirm(
            teacher,
            uuid4(),  # body validation comes before the batch look-up
            [ConfirmItem(batch.anna_essay, True), ConfirmItem(batch.anna_essay, False)],
        )
    assert caught.value.details["reason"] == "invalid_body"
    assert caught.value.details["errors"][0]["field"] == "associations.1.essay_id"


async def test_reject_only_call_emits_an_event_with_no_associations(
    confirm: ConfirmAssociations, store: InMemoryStore, batch: Batch, teacher: Actor
) -> None:
    await confirm.confirm(teacher, batch.batch_id, [ConfirmItem(batch.omar_essay, False)])
    [event] = outbox(store, CONFIRMED_TOPIC)
    assert event["data"]["associations"] == []
    assert event["data"]["validation_summary"] == {
        "total_associations": 1,
        "confirmed": 0,
        "rejected": 1,
    }
