"""Review and internal look-ups of a batch, and what deletes do to associations (in memory)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from class_management_service.application.batch_associations import (
    AssociationLookups,
    ReviewBatch,
)
from class_management_service.application.classes import ClassUseCases
from class_management_service.application.confirmations import ConfirmAssociations, ConfirmItem
from class_management_service.application.context import Actor
from class_management_service.application.students import StudentUseCases
from class_management_service.domain.associations import StudentName, ValidationStatus
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.memory.store import InMemoryStore
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.error_handling import HuleEduError
from tests.fixtures.suggestions import envelope, essay, record
from tests.unit.service.matching.conftest import Batch, Roster, associations


async def test_review_lists_every_row_newest_first_with_names(
    review: ReviewBatch,
    handler: SuggestionRecordHandler,
    roster: Roster,
    batch: Batch,
    teacher: Actor,
    clock: FixedClock,
) -> None:
    clock.advance(timedelta(minutes=5))
    later = uuid4()
    value = envelope(batch_id=batch.batch_id, class_id=roster.class_id, essays=[essay(later)])
    await handler(record(value))

    result = await review.review(teacher, batch.batch_id)

    assert result.batch_class.class_name == "9B English"
    assert result.batch_class.course.code.value == "ENG5"
    essays = [detail.association.essay_id for detail in result.associations]
    assert essays[0] == later
    assert essays[1:] == sorted([batch.anna_essay, batch.omar_essay, batch.nameless_essay])
    anna = next(d for d in result.associations if d.association.essay_id == batch.anna_essay)
    assert anna.student_name == StudentName("Anna", "Lindqvist", "Anna Lindqvist")
    assert anna.suggested_student_name == anna.student_name


async def test_review_of_unknown_or_foreign_batch_is_not_found(
    review: ReviewBatch, batch: Batch, teacher: Actor, other_teacher: Actor
) -> None:
    for actor, batch_id in ((teacher, uuid4()), (other_teacher, batch.batch_id)):
        with pytest.raises(HuleEduError) as caught:
            await review.review(actor, batch_id)
        assert caught.value.details["resource"] == "batch"


async def test_internal_names_leave_out_rejected_and_studentless_rows(
    lookups: AssociationLookups,
    confirm: ConfirmAssociations,
    batch: Batch,
    teacher: Actor,
    roster: Roster,
) -> None:
    await confirm.confirm(teacher, batch.batch_id, [ConfirmItem(batch.omar_essay, False)])

    names = await lookups.student_names(batch.batch_id)

    assert [d.association.essay_id for d in names] == [batch.anna_essay]
    assert (await lookups.of_essay(batch.anna_essay)).association.student_id == roster.anna
    for essay_id in (batch.omar_essay, batch.nameless_essay, uuid4()):
        with pytest.raises(HuleEduError) as caught:
            await lookups.of_essay(essay_id)
        assert caught.value.details == {
            "reason": "not_found",
            "resource": "association",
            "id": str(essay_id),
        }
    assert await lookups.student_names(uuid4()) == []


async def test_class_info_maps_known_batches_only(
    lookups: AssociationLookups, batch: Batch, roster: Roster
) -> None:
    unknown = uuid4()
    found = await lookups.batch_classes([batch.batch_id, unknown])
    assert set(found) == {batch.batch_id}
    assert found[batch.batch_id].class_id == roster.class_id


async def test_student_delete_detaches_and_class_delete_removes_associations(
    students: StudentUseCases,
    classes: ClassUseCases,
    store: InMemoryStore,
    roster: Roster,
    batch: Batch,
    teacher: Actor,
) -> None:
    await students.delete(teacher, roster.anna)
    row = associations(store)[batch.anna_essay]
    assert (row.student_id, row.suggested_student_id) == (None, None)
    assert row.confidence_score == 0.92
    assert row.validation_status is ValidationStatus.PENDING

    await classes.delete(teacher, roster.class_id)
    assert associations(store) == {}
