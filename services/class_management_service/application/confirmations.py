"""The teacher's confirmation of a batch's associations (matching.md §4), in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from class_management_service.application.association_messages import associations_confirmed
from class_management_service.application.context import Actor
from class_management_service.application.matching import count_decisions
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.domain.associations import (
    BatchClass,
    EssayAssociation,
    ValidationStatus,
)
from class_management_service.domain.errors import BatchNotFound
from class_management_service.protocols import (
    ClassRepositoryProtocol,
    ClockProtocol,
    DecisionMetricsProtocol,
)
from huleedu_service_libs.error_handling import field_error, invalid_body, validation_error


@dataclass(frozen=True, slots=True)
class ConfirmItem:
    essay_id: UUID
    confirmed: bool
    student_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    batch_id: UUID
    confirmed: int
    rejected: int
    unchanged: int
    pending_remaining: int


def _path(index: int, field: str) -> str:
    return f"associations.{index}.{field}"


def _check_unique_essays(items: Sequence[ConfirmItem]) -> None:
    seen: set[UUID] = set()
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if item.essay_id in seen:
            errors.append(field_error(_path(index, "essay_id"), "must appear only once"))
        seen.add(item.essay_id)
    if errors:
        raise invalid_body(errors)


class ConfirmAssociations:
    def __init__(
        self,
        repository: ClassRepositoryProtocol,
        clock: ClockProtocol,
        messages: OutboxMessages,
        metrics: DecisionMetricsProtocol | None = None,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._messages = messages
        self._metrics = metrics

    async def confirm(
        self, actor: Actor, batch_id: UUID, items: Sequence[ConfirmItem]
    ) -> ConfirmResult:
        _check_unique_essays(items)
        now = self._clock.now()
        async with self._repository as uow:
            # All rows, waiting for a concurrent confirmation or monitor transaction: afterwards
            # their decisions are visible and those rows count as unchanged.
            rows = await uow.associations.lock_batch(batch_id)
            if not rows:
                raise BatchNotFound(batch_id)
            school_class = await uow.classes.get(rows[0].class_id, owner_id=actor.teacher_id)
            if school_class is None:
                raise BatchNotFound(batch_id)
            by_essay = {row.essay_id: row for row in rows}
            named = any(item.student_id is not None for item in items)
            enrolled = await uow.classes.enrolled_student_ids(school_class.id) if named else set()
            unknown: list[dict[str, Any]] = []
            for index, item in enumerate(items):
                if item.essay_id not in by_essay:
                    unknown.append(
                        field_error(
                            _path(index, "essay_id"),
                            "is not an essay of this batch",
                            id=str(item.essay_id),
                        )
                    )
                if item.student_id is not None and item.student_id not in enrolled:
                    unknown.append(
                        field_error(
                            _path(index, "student_id"),
                            "is not a student enrolled in the batch's class",
                            id=str(item.student_id),
                        )
                    )
            if unknown:
                raise validation_error(
                    "unknown_reference",
                    "Referenced essays or students do not exist",
                    errors=unknown,
                )

            decided: list[EssayAssociation] = []
            without_target: list[dict[str, Any]] = []
            for index, item in enumerate(items):
                row = by_essay[item.essay_id]
                if not row.is_pending:
                    continue
                if not item.confirmed:
                    decision = row.rejected(by=actor.teacher_id, at=now)
                else:
                    target = item.student_id if item.student_id is not None else row.student_id
                    if target is None:
                        without_target.append(
                            field_error(
                                _path(index, "student_id"),
                                "is required: the essay has no suggested student",
                            )
                        )
                        continue
                    decision = row.confirmed(target, by=actor.teacher_id, at=now)
                decided.append(decision)
                by_essay[item.essay_id] = decision
            if without_target:
                raise invalid_body(without_target)

            if decided:
                await uow.associations.save_decisions(decided)
                batch_class = BatchClass.of(batch_id, school_class)
                await uow.events.publish(
                    associations_confirmed(
                        self._messages,
                        batch_class,
                        decided,
                        recipient=actor.teacher_id,
                        correlation_id=actor.correlation_id,
                        now=now,
                    )
                )
                await uow.commit()
        count_decisions(self._metrics, decided)
        rejected = sum(1 for row in decided if row.validation_status is ValidationStatus.REJECTED)
        return ConfirmResult(
            batch_id=batch_id,
            confirmed=len(decided) - rejected,
            rejected=rejected,
            unchanged=len(items) - len(decided),
            pending_remaining=sum(1 for row in by_essay.values() if row.is_pending),
        )
