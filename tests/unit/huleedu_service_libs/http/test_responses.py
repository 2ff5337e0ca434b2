"""JSON responses use the platform wire encoding."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from uuid import UUID

import pytest
from pydantic import BaseModel

from huleedu_service_libs.http import HuleEduApp, json_response
from huleedu_service_libs.http.responses import dumps

CLASS_ID = UUID("06978B2F-241D-4018-A94F-A7C67FC7D1C7")


class Course(StrEnum):
    ENG5 = "ENG5"


class Row(BaseModel):
    id: UUID
    at: datetime


def test_uuids_are_lower_case_and_datetimes_end_in_z() -> None:
    moment = datetime(2026, 11, 26, 10, 15, 2, 481516, tzinfo=timezone(timedelta(hours=1)))

    encoded = json.loads(dumps({"id": CLASS_ID, "at": moment, "ids": [CLASS_ID]}))

    assert encoded == {
        "id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
        "at": "2026-11-26T09:15:02.481516Z",
        "ids": ["06978b2f-241d-4018-a94f-a7c67fc7d1c7"],
    }


def test_enums_dates_models_and_non_ascii() -> None:
    row = Row(id=CLASS_ID, at=datetime(2026, 1, 1, tzinfo=UTC))

    encoded = dumps({"course": Course.ENG5, "day": date(2026, 1, 2), "row": row, "n": "Åsa"})

    assert json.loads(encoded) == {
        "course": "ENG5",
        "day": "2026-01-02",
        "row": {"id": str(CLASS_ID).lower(), "at": "2026-01-01T00:00:00Z"},
        "n": "Åsa",
    }
    assert "Åsa".encode() in encoded


def test_naive_datetimes_and_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        dumps({"at": datetime(2026, 1, 1)})
    with pytest.raises(TypeError):
        dumps({"x": object()})


async def test_json_response_sets_status_headers_and_content_type(app: HuleEduApp) -> None:
    async with app.app_context():
        response = json_response({"id": CLASS_ID}, status=201, headers={"Location": "/x"})

    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Location"] == "/x"
    assert await response.get_data() == b'{"id":"06978b2f-241d-4018-a94f-a7c67fc7d1c7"}'
