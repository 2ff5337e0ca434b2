"""What a dead letter says: the reason from the handler, or processing_failed with the error."""

from __future__ import annotations

from common_core.dlq import DlqReason
from huleedu_service_libs.kafka.dead_letter import DeadLetter, describe_error
from huleedu_service_libs.kafka.handling import PoisonMessage


def test_poison_reason_from_the_contract_is_kept() -> None:
    letter = DeadLetter.from_poison(PoisonMessage("class_not_found", "class 42 does not exist"))

    assert letter == DeadLetter(DlqReason.CLASS_NOT_FOUND, "class 42 does not exist")


def test_poison_reason_outside_the_contract_becomes_processing_failed_and_is_kept_in_text() -> None:
    letter = DeadLetter.from_poison(PoisonMessage("made_up", "details"))

    assert letter == DeadLetter(DlqReason.PROCESSING_FAILED, "made_up: details")


def test_unexpected_failure_is_processing_failed_with_type_and_message() -> None:
    letter = DeadLetter.from_failure(KeyError("class_id"))

    assert letter == DeadLetter(DlqReason.PROCESSING_FAILED, "KeyError: 'class_id'")


def test_error_description_is_one_line_and_never_repeats_the_type() -> None:
    class LibraryError(Exception):
        def __str__(self) -> str:
            return "LibraryError: broker gone"

    assert describe_error(ValueError("first\n  second")) == "ValueError: first second"
    assert describe_error(TimeoutError()) == "TimeoutError"
    assert describe_error(LibraryError()) == "LibraryError: broker gone"
