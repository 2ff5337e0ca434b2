"""End-to-end smoke through the HTTP app on real PostgreSQL."""

from __future__ import annotations

import pytest
from quart.typing import TestClientProtocol as Client

pytestmark = pytest.mark.integration

TEACHER = {"X-User-ID": "d5918e0d-7655-4456-a123-f0049d22768c"}


async def test_class_and_student_round_trip(api: Client) -> None:
    created = await api.post(
        "/v1/classes/", json={"name": "9B English", "course_codes": ["ENG5"]}, headers=TEACHER
    )
    assert created.status_code == 201
    class_id = (await created.get_json())["id"]

    student = await api.post(
        "/v1/classes/students",
        json={
            "person_name": {"first_name": "Anna", "last_name": "Lindqvist"},
            "email": "Anna.Lindqvist@example.com",
            "class_ids": [class_id],
        },
        headers=TEACHER,
    )
    assert student.status_code == 201

    read = await api.get(f"/v1/classes/{class_id}", headers=TEACHER)
    assert (await read.get_json())["student_count"] == 1
