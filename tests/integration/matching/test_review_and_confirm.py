"""Teacher review and confirmation through the HTTP app on PostgreSQL (http-api.md §9)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

import pytest
from quart.typing import TestClientProtocol as Client

from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.domain.associations import ValidationStatus
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from common_core.enums import ValidationMethod
from common_core.timeutil import parse_iso
from huleedu_service_libs.clock import FixedClock
from tests.integration.db.builders import OTHER_TEACHER, TEACHER
from tests.integration.matching.conftest import Batch, Roster, outbox_data, stored_rows

pytestmark = pytest.mark.integration

CONFIRMED_TOPIC = "huleedu.class.student.associations.confirmed.v1"
CALLER = {"X-User-ID": TEACHER}
ITEM_KEYS = {
    "essay_id",
    "suggested_student_id",
    "suggested_student_person_name",
    "student_id",
    "student_person_name",
    "confidence_score",
    "match_reasons",
    "no_match_reason",
    "validation_status",
    "validation_method",
    "validated_by",
    "validated_at",
    "created_at",
}


def _confirm_path(batch: Batch) -> str:
    return f"/v1/batches/{batch.batch_id}/student-associations/confirm"


async def test_review_answers_every_row_in_the_contract_shape(
    api: Client, roster: Roster, batch: Batch, clock: FixedClock
) -> None:
    response = await api.get(f"/v1/batches/{batch.batch_id}/student-associations", headers=CALLER)

    assert response.status_code == 200
    body = await response.get_json()
    assert body["batch_id"] == str(batch.batch_id)
    assert body["class_id"] == str(roster.class_id)
    assert (body["class_name"], body["course_code"]) == ("9B English", "ENG5")
    assert body["summary"] == {
        "total": 3,
        "pending_validation": 3,
        "confirmed": 0,
        "rejected": 0,
        "timeout_confirmed": 0,
    }
    items = body["associations"]
    assert all(set(item) == ITEM_KEYS for item in items)
    assert [item["essay_id"] for item in items] == sorted(
        str(e) for e in (batch.anna_essay, batch.omar_essay, batch.nameless_essay)
    )
    anna = next(item for item in items if item["essay_id"] == str(batch.anna_essay))
    assert anna["student_person_name"] == {
        "first_name": "Anna",
        "last_name": "Lindqvist",
        "legal_full_name": "Anna Lindqvist",
    }
    assert anna["suggested_student_person_name"] == anna["student_person_name"]
    assert anna["confidence_score"] == 0.92
    assert anna["match_reasons"] == ["Full name in header"]
    assert anna["created_at"].endswith("Z")
    assert parse_iso(anna["created_at"]) == clock.now()
    nameless = next(item for item in items if item["essay_id"] == str(batch.nameless_essay))
    assert nameless["match_reasons"] == []
    assert nameless["student_person_name"] is None
    assert nameless["no_match_reason"] == "No name found in essay"
    assert (nameless["validation_method"], nameless["validated_at"]) == (None, None)


async def test_review_of_foreign_unknown_or_malformed_batch(api: Client, batch: Batch) -> None:
    path = f"/v1/batches/{batch.batch_id}/student-associations"
    foreign = await api.get(path, headers={"X-User-ID": OTHER_TEACHER})
    assert foreign.status_code == 404
    assert (await foreign.get_json())["error"]["details"] == {
        "reason": "not_found",
        "resource": "batch",
        "id": str(batch.batch_id),
    }
    unknown = await api.get(f"/v1/batches/{uuid4()}/student-associations", headers=CALLER)
    assert unknown.status_code == 404
    malformed = await api.get("/v1/batches/nope/student-associations", headers=CALLER)
    assert malformed.status_code == 400
    assert (await malformed.get_json())["error"]["details"]["reason"] == "invalid_parameter"
    assert (await api.get(path)).status_code == 401
    assert (await api.get(path + "/", headers=CALLER)).status_code == 404


async def test_confirm_twice_emits_one_event_and_the_monitor_leaves_decisions_alone(
    api: Client,
    uow: PostgreSQLClassRepositoryImpl,
    roster: Roster,
    batch: Batch,
    clock: FixedClock,
    make_monitor: Callable[[FixedClock], TimeoutMonitor],
) -> None:
    correlation_id = str(uuid4())
    body = {
        "user_id": "ignored",
        "associations": [
            {"essay_id": str(batch.anna_essay), "confirmed": True},
            {"essay_id": str(batch.omar_essay), "student_id": str(roster.lea), "confirmed": True},
            {"essay_id": str(batch.nameless_essay), "confirmed": False},
        ],
    }
    headers = {**CALLER, "X-Correlation-ID": correlation_id}

    first = await api.post(_confirm_path(batch), json=body, headers=headers)

    assert first.status_code == 200
    assert await first.get_json() == {
        "status": "confirmed",
        "batch_id": str(batch.batch_id),
        "associations_confirmed": 2,
        "associations_rejected": 1,
        "associations_unchanged": 0,
        "pending_remaining": 0,
    }
    second = await api.post(_confirm_path(batch), json=body, headers=CALLER)
    assert (await second.get_json())["associations_unchanged"] == 3

    [event] = await outbox_data(uow, CONFIRMED_TOPIC)
    assert event["correlation_id"] == correlation_id
    assert event["data"]["validation_summary"] == {
        "total_associations": 3,
        "confirmed": 2,
        "rejected": 1,
    }
    scores = {a["essay_id"]: a["confidence_score"] for a in event["data"]["associations"]}
    assert scores == {str(batch.anna_essay): 0.92, str(batch.omar_essay): 1.0}
    [notification] = await outbox_data(uow, "student_associations_confirmed")
    assert notification["data"]["confirmed_count"] == 2

    decided = await stored_rows(uow)
    for row in decided.values():
        assert row.validated_by == TEACHER
        assert row.validation_method is ValidationMethod.HUMAN
        assert row.validated_at is not None
        assert row.validated_at.tzinfo is not None
    assert decided[batch.omar_essay].student_id == roster.lea
    assert decided[batch.omar_essay].suggested_student_id == roster.omar
    assert decided[batch.nameless_essay].validation_status is ValidationStatus.REJECTED
    validated_at = parse_iso(event["data"]["associations"][0]["validated_at"])
    assert validated_at == decided[batch.anna_essay].validated_at

    later = FixedClock(clock.now() + timedelta(hours=25))
    report = await make_monitor(later).run_cycle()
    assert report.rows_decided == 0
    assert await stored_rows(uow) == decided
    assert len(await outbox_data(uow, CONFIRMED_TOPIC)) == 1


async def test_confirm_reports_unknown_references_then_missing_targets(
    api: Client, uow: PostgreSQLClassRepositoryImpl, roster: Roster, batch: Batch
) -> None:
    stray_essay, stray_student = uuid4(), uuid4()
    unknown = await api.post(
        _confirm_path(batch),
        json={
            "associations": [
                {"essay_id": str(stray_essay), "confirmed": True},
                {"essay_id": str(batch.nameless_essay), "confirmed": True},
                {
                    "essay_id": str(batch.omar_essay),
                    "student_id": str(stray_student),
                    "confirmed": False,
                },
            ]
        },
        headers=CALLER,
    )
    assert unknown.status_code == 400
    details = (await unknown.get_json())["error"]["details"]
    assert details["reason"] == "unknown_reference"
    assert [(e["field"], e["id"]) for e in details["errors"]] == [
        ("associations.0.essay_id", str(stray_essay)),
        ("associations.2.student_id", str(stray_student)),
    ]

    missing = await api.post(
        _confirm_path(batch),
        json={
            "associations": [
                {"essay_id": str(batch.anna_essay), "confirmed": True},
                {"essay_id": str(batch.nameless_essay), "confirmed": True},
            ]
        },
        headers=CALLER,
    )
    assert missing.status_code == 400
    details = (await missing.get_json())["error"]["details"]
    assert details["reason"] == "invalid_body"
    assert [e["field"] for e in details["errors"]] == ["associations.1.student_id"]
    assert all(row.is_pending for row in (await stored_rows(uow)).values())
    assert await outbox_data(uow, CONFIRMED_TOPIC) == []


async def test_confirm_checks_body_before_the_batch_and_the_batch_before_references(
    api: Client, batch: Batch
) -> None:
    duplicate = {"essay_id": str(batch.anna_essay), "confirmed": True}
    repeated = await api.post(
        f"/v1/batches/{uuid4()}/student-associations/confirm",
        json={"associations": [duplicate, duplicate]},
        headers=CALLER,
    )
    assert repeated.status_code == 400
    assert (await repeated.get_json())["error"]["details"]["errors"][0]["field"] == (
        "associations.1.essay_id"
    )
    empty = await api.post(_confirm_path(batch), json={"associations": []}, headers=CALLER)
    assert (await empty.get_json())["error"]["details"]["reason"] == "invalid_body"
    foreign = await api.post(
        _confirm_path(batch),
        json={"associations": [{"essay_id": str(uuid4()), "confirmed": True}]},
        headers={"X-User-ID": OTHER_TEACHER},
    )
    assert foreign.status_code == 404
    not_bool = await api.post(
        _confirm_path(batch),
        json={"associations": [{"essay_id": str(batch.anna_essay), "confirmed": "yes"}]},
        headers=CALLER,
    )
    assert (await not_bool.get_json())["error"]["details"]["errors"][0]["field"] == (
        "associations.0.confirmed"
    )


async def test_deleting_a_student_nulls_its_references_and_class_delete_removes_rows(
    api: Client, uow: PostgreSQLClassRepositoryImpl, roster: Roster, batch: Batch
) -> None:
    deleted = await api.delete(f"/v1/classes/students/{roster.anna}", headers=CALLER)
    assert deleted.status_code == 200
    review = await api.get(f"/v1/batches/{batch.batch_id}/student-associations", headers=CALLER)
    anna = next(
        item
        for item in (await review.get_json())["associations"]
        if item["essay_id"] == str(batch.anna_essay)
    )
    assert (anna["student_id"], anna["suggested_student_id"]) == (None, None)
    assert anna["student_person_name"] is None
    assert anna["confidence_score"] == 0.92

    # Confirming the detached row now needs an explicit student.
    explicit = await api.post(
        _confirm_path(batch),
        json={
            "associations": [
                {
                    "essay_id": str(batch.anna_essay),
                    "student_id": str(roster.lea),
                    "confirmed": True,
                }
            ]
        },
        headers=CALLER,
    )
    assert (await explicit.get_json())["associations_confirmed"] == 1

    assert (await api.delete(f"/v1/classes/{roster.class_id}", headers=CALLER)).status_code == 200
    assert await stored_rows(uow) == {}
    gone = await api.get(f"/v1/batches/{batch.batch_id}/student-associations", headers=CALLER)
    assert gone.status_code == 404
