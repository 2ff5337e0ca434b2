"""A Python client generated from the served document drives a teacher's day, typed end to end.

openapi-python-client (0.29) generates the client at test time from ``/openapi.json``. Two
choices are the generator's, not the service's:

* ``text/csv`` is mapped to the generator's file-upload body (``content_type_overrides``);
* the bulk import's JSON form is left out of the generator's copy of the document: for an
  operation with two body media types the generator dispatches with ``isinstance(body,
  list[ImportRowBody])``, which Python refuses (upstream issues #1004 and #1276 are the same
  dispatch). The JSON form is covered by schemathesis and the API tests.

Nothing in the test speaks HTTP itself: every call goes through the generated functions.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.contract.conftest import SERVICE_ID, SERVICE_KEY
from tests.e2e.matching_fixtures import (
    SUGGESTED_TOPIC,
    nlp_essay,
    nlp_event,
    nlp_suggestion,
    produce,
    wire,
)
from tests.e2e.operations_support import ServiceProcess

pytestmark = pytest.mark.integration

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "cms_client"
GENERATOR_CONFIG = {
    "package_name_override": PACKAGE,
    "content_type_overrides": {"text/csv": "application/octet-stream"},
}
TEACHER = f"teacher-{uuid4()}"
ROSTER_CSV = (
    b"first_name,last_name,email\r\n"
    b"Anna,Lindqvist,Anna.Lindqvist@example.com\r\n"
    b"Omar,Haddad,\r\n"
    b"Sara,Berg,sara.berg@example.com\r\n"
    b"Lina,Lindgren,lina.lindgren@example.com\r\n"
    b"Johan,Lind,\r\n"
)


def generator_document(document: dict[str, Any]) -> dict[str, Any]:
    """The served document with the bulk import's JSON form removed (module docstring)."""
    bulk = document["paths"]["/v1/classes/{class_id}/students/bulk"]["post"]
    del bulk["requestBody"]["content"]["application/json"]
    return document


@pytest.fixture(scope="module")
def client_package(
    api_service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    workdir = tmp_path_factory.mktemp("generated-client")
    document = httpx.get(f"{api_service.url}/openapi.json", timeout=10).json()
    (workdir / "openapi.json").write_text(json.dumps(generator_document(document)))
    (workdir / "config.json").write_text(json.dumps(GENERATOR_CONFIG))
    generated = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(workdir / "openapi.json"),
            "--config",
            str(workdir / "config.json"),
            "--meta",
            "none",
            "--output-path",
            str(workdir / PACKAGE),
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_a_teachers_day_through_the_generated_client(
    client_package: ModuleType, api_service: ServiceProcess, kafka_bootstrap_servers: str
) -> None:
    client_module = module(client_package, "client")
    models = module(client_package, "models")
    types = module(client_package, "types")
    classes = {
        name: module(client_package, f"api.classes.{name}")
        for name in ("create_class", "bulk_import", "get_roster")
    }
    students = module(client_package, "api.students.list_students")
    associations = {
        name: module(client_package, f"api.associations.{name}")
        for name in ("review_associations", "confirm_associations")
    }
    teacher = client_module.AuthenticatedClient(
        base_url=api_service.url, token=TEACHER, prefix="", auth_header_name="X-User-ID"
    )
    service = client_module.AuthenticatedClient(
        base_url=api_service.url,
        token=SERVICE_KEY,
        prefix="",
        auth_header_name="X-Internal-API-Key",
        headers={"X-Service-ID": SERVICE_ID},
    )

    # A class.
    created = classes["create_class"].sync(
        client=teacher,
        body=models.CreateClassBody(
            name="9B English", course_codes=[models.CreateClassBodyCourseCodesItem.ENG5]
        ),
    )
    assert isinstance(created, models.SchoolClass), created
    assert created.course_code == models.CourseCode.ENG5
    assert created.student_count == 0

    # Its roster, from the CSV export of a school's spreadsheet.
    imported = classes["bulk_import"].sync(
        client=teacher,
        class_id=created.id,
        body=types.File(payload=io.BytesIO(ROSTER_CSV), file_name="9b.csv", mime_type="text/csv"),
    )
    assert isinstance(imported, models.BulkImportResult), imported
    assert imported.summary.created == 5
    assert [result.outcome for result in imported.results] == [
        models.ImportResultOutcome.CREATED
    ] * 5
    assert imported.results[0].email == "anna.lindqvist@example.com"

    # Searching with q, then paging through the class two at a time with the total.
    found = students.sync(client=teacher, q="lind", class_id=created.id)
    assert isinstance(found, models.StudentPage), found
    assert {s.last_name for s in found.students} == {"Lindqvist", "Lindgren", "Lind"}
    seen: list[str] = []
    offset = 0
    while True:
        page = students.sync(client=teacher, class_id=created.id, limit=2, offset=offset)
        assert isinstance(page, models.StudentPage), page
        assert page.pagination.total == 5
        seen.extend(str(s.id) for s in page.students)
        if page.pagination.returned < 2:
            break
        offset += page.pagination.returned
    assert sorted(seen) == sorted(str(r.student_id) for r in imported.results)

    # The roster, read as a service (the way the NLP service matches essays).
    roster = classes["get_roster"].sync(client=service, class_id=created.id)
    assert isinstance(roster, models.Roster), roster
    assert [entry.last_name for entry in roster.students] == [
        "Berg",
        "Haddad",
        "Lind",
        "Lindgren",
        "Lindqvist",
    ]
    by_name = {entry.last_name: entry for entry in roster.students}

    # The NLP service suggests authors for a batch's essays...
    batch_id, anna_essay, omar_essay = uuid4(), uuid4(), uuid4()
    anna, omar = by_name["Lindqvist"].student_id, by_name["Haddad"].student_id
    event = nlp_event(
        batch_id=batch_id,
        class_id=created.id,
        essays=[
            nlp_essay(anna_essay, [nlp_suggestion(anna, "Anna Lindqvist", 0.92, ["Full name"])]),
            nlp_essay(omar_essay, [nlp_suggestion(omar, "Omar Haddad", 0.55, ["First name"])]),
        ],
    )
    await produce(kafka_bootstrap_servers, SUGGESTED_TOPIC, [(str(batch_id).encode(), wire(event))])

    # ...which the teacher reviews once the service has stored them...
    review = None
    for _ in range(200):
        review = associations["review_associations"].sync(client=teacher, batch_id=batch_id)
        if isinstance(review, models.BatchReview):
            break
        await asyncio.sleep(0.1)
    assert isinstance(review, models.BatchReview), review
    assert review.summary.pending_validation == 2
    suggested = {item.essay_id: item.suggested_student_id for item in review.associations}
    assert suggested == {anna_essay: anna, omar_essay: omar}

    # ...and confirms: Anna's as suggested, Omar's essay given to Sara instead.
    sara = by_name["Berg"].student_id
    confirmed = associations["confirm_associations"].sync(
        client=teacher,
        batch_id=batch_id,
        body=models.ConfirmAssociationsBody(
            associations=[
                models.ConfirmItemBody(essay_id=anna_essay, confirmed=True),
                models.ConfirmItemBody(essay_id=omar_essay, confirmed=True, student_id=sara),
            ]
        ),
    )
    assert isinstance(confirmed, models.ConfirmResult), confirmed
    assert (confirmed.associations_confirmed, confirmed.pending_remaining) == (2, 0)
    after = associations["review_associations"].sync(client=teacher, batch_id=batch_id)
    assert isinstance(after, models.BatchReview), after
    assert {item.essay_id: item.student_id for item in after.associations} == {
        anna_essay: anna,
        omar_essay: sara,
    }

    # A typed error, for a class another teacher cannot see.
    other = client_module.AuthenticatedClient(
        base_url=api_service.url, token="another-teacher", prefix="", auth_header_name="X-User-ID"
    )
    refused = classes["get_roster"].sync(client=other, class_id=created.id)
    assert isinstance(refused, models.ErrorBody), refused
    assert refused.error.code == models.ErrorCode.RESOURCE_NOT_FOUND
