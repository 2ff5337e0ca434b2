"""The platform's own callers of this service, each calling as its code does (real PostgreSQL,
Kafka and Redis), with assertions on exactly what that caller reads back.

The wire facts below were read from the callers in paunchygent/huleedu at commit 5246821
(their code is not part of this project; these tests stand in for them in CI).

NLP service, roster client (services/nlp_service/implementations/roster_client_impl.py)
    GET {base}/v1/classes/{class_id}/roster: no trailing slash, no query, no body; headers only
    ``Accept: application/json`` and ``X-Correlation-ID: <uuid>`` (no X-User-ID, no service
    credentials); 10 s total timeout, no retry. ``raise_for_status``: 404 is "Class not found",
    any other status >= 400 an error. ``response.json()`` needs the media type
    application/json. The body must be an object whose ``students`` is a list; an element
    without all of ``student_id``, ``first_name``, ``last_name``, ``full_legal_name`` is skipped
    silently, then each is validated as StudentInfo(student_id: str, first_name: str,
    last_name: str, full_legal_name: str, email: str | None): a null in any of the four drops
    the student, extra keys are ignored.
NLP service, suggestion publisher (services/nlp_service/implementations/event_publisher_impl.py)
    BatchAuthorMatchesSuggestedV1 on huleedu.batch.author.matches.suggested.v1, envelope
    ``event_type`` = the topic string.
Teacher BFF, CMS client (services/bff_teacher_service/clients/cms_client.py, clients/_utils.py)
    GET {CMS_URL}/internal/v1/batches/class-info?batch_ids=<id>,<id> (httpx encodes the comma
    as %2C; no call at all for an empty list); headers X-Internal-API-Key
    (HULEEDU_INTERNAL_API_KEY), X-Service-ID: bff-teacher-service, X-Correlation-ID: <uuid>.
    Any non-2xx raises (the BFF answers 502). The body must be a JSON object mapping each
    requested id, spelled as sent (lowercase canonical), to null or ClassInfoV1(class_id: str,
    class_name: str); only ``class_name`` is used.
API gateway, class proxy (services/api_gateway_service/routers/class_routes.py)
    /v1/classes/{path} for GET, POST, PUT, DELETE forwarded to {CMS}/v1/classes/{path}: list and
    create arrive as /v1/classes/ (trailing slash). Forwards every client header but Host
    (Authorization: Bearer <jwt>, Content-Type, Content-Length among them) and adds X-User-ID
    (the JWT sub), X-Correlation-ID (a UUID) and X-Org-ID when the token has one; no service
    credentials. The query string and body pass unchanged; a GET without Content-Length goes
    out with ``Transfer-Encoding: chunked`` and an empty body. Status, headers and body come
    back unchanged.
WebSocket service, Redis listener (services/websocket_service/implementations/message_listener.py)
    SUBSCRIBE ws:{user_id} (user_id = the JWT sub, the same value as X-User-ID); each message's
    data is forwarded as UTF-8 text to the user's sockets; the front end reads a JSON object
    {"event": <type>, "data": {...}}.
Essay Lifecycle and Batch Orchestrator services, StudentAssociationsConfirmedV1 consumers
    ELS routes on envelope ``event_type`` = huleedu.class.student.associations.confirmed.v1;
    both validate ``data``: batch_id: str, class_id: str, course_code (ENG5 ... SV3),
    associations[] with essay_id: str, student_id: str | null (key required),
    confidence_score: float, validation_method (human | timeout | auto), validated_by:
    str | null (key required), validated_at (ISO datetime); validation_summary: dict[str, int];
    timeout_triggered: bool. BOS reads every one of those association fields.
The platform's functional-test harness (tests/functional/pipeline_harness_helpers/)
    POST /v1/classes/ {"name", "course_codes": ["ENG5"]} and POST /v1/classes/students
    {"person_name": {...}, "email", "class_ids": [...]} reading ``id``; GET
    /v1/batches/{id}/student-associations reading associations[].essay_id and
    suggested_student_id; POST .../confirm with {"associations": [{"essay_id", "student_id",
    "confirmed": true}], "confirmation_method": "manual_teacher_review"} (an extra field).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from pydantic import BaseModel
from quart.typing import TestClientProtocol as Client
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.matching_fixtures import (
    CONFIRMED_TOPIC,
    SUGGESTED_TOPIC,
    TEACHER,
    TEACHER_ID,
    RunningService,
    TopicWatch,
    create_roster,
    ensure_topics,
    eventually,
    nlp_essay,
    nlp_event,
    nlp_suggestion,
    produce,
    review_when_stored,
    running_service,
    start_group_near_end,
    wire,
)
from tests.fixtures.infrastructure import unique_name

pytestmark = pytest.mark.integration

INTERNAL_API_KEY = "platform-shared-key"
NLP_HEADERS = {"Accept": "application/json"}
GATEWAY_TOKEN = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZWFjaGVyIn0.c2lnbmF0dXJl"


def nlp_headers() -> dict[str, str]:
    return {**NLP_HEADERS, "X-Correlation-ID": str(uuid4())}


def bff_headers() -> dict[str, str]:
    return {
        "X-Internal-API-Key": INTERNAL_API_KEY,
        "X-Service-ID": "bff-teacher-service",
        "X-Correlation-ID": str(uuid4()),
    }


def gateway_headers(teacher_id: str = TEACHER_ID, **extra: str) -> dict[str, str]:
    return {
        "authorization": GATEWAY_TOKEN,
        "accept": "*/*",
        "user-agent": "Mozilla/5.0 (teacher's browser)",
        "X-User-ID": teacher_id,
        "X-Correlation-ID": str(uuid4()),
        "X-Org-ID": "org-7",
        **extra,
    }


# What the callers validate, written as models of the wire facts above.
class NlpStudentInfo(BaseModel):
    student_id: str
    first_name: str
    last_name: str
    full_legal_name: str
    email: str | None = None


class BffClassInfo(BaseModel):
    class_id: str
    class_name: str


class ConfirmedAssociation(BaseModel):
    essay_id: str
    student_id: str | None
    confidence_score: float
    validation_method: Literal["human", "timeout", "auto"]
    validated_by: str | None
    validated_at: datetime


class StudentAssociationsConfirmed(BaseModel):
    batch_id: str
    class_id: str
    course_code: Literal["ENG5", "ENG6", "ENG7", "SV1", "SV2", "SV3"]
    associations: list[ConfirmedAssociation]
    validation_summary: dict[str, int]
    timeout_triggered: bool


@pytest_asyncio.fixture(loop_scope="session")
async def platform(
    migrated_database_url: str,
    clean_database: AsyncEngine,
    kafka_bootstrap_servers: str,
    redis_url: str,
    request: pytest.FixtureRequest,
) -> AsyncIterator[RunningService]:
    """The service with its consumer, both relays and the platform's shared internal key."""
    await ensure_topics(kafka_bootstrap_servers, [SUGGESTED_TOPIC, CONFIRMED_TOPIC])
    group = unique_name("cms-platform", request.node.name)
    await start_group_near_end(kafka_bootstrap_servers, group, SUGGESTED_TOPIC)
    async with running_service(
        migrated_database_url,
        kafka_bootstrap_servers,
        group,
        redis_url=redis_url,
        internal_api_key=INTERNAL_API_KEY,
    ) as running:
        yield running


async def enrolled_class(client: Client) -> tuple[str, list[str]]:
    """A class with two students, one without an e-mail or a legal name (gateway-style calls)."""
    response = await client.post(
        "/v1/classes/",
        json={"name": "8A Svenska", "course_codes": ["SV2"]},
        headers=gateway_headers(**{"content-type": "application/json"}),
    )
    assert response.status_code == 201
    class_id = (await response.get_json())["id"]
    students = []
    for person, email in (
        ({"first_name": "Sara", "last_name": "Ek", "legal_full_name": "Sara Maria Ek"}, "s@x.se"),
        ({"first_name": "Ali", "last_name": "Nour"}, None),
    ):
        created = await client.post(
            "/v1/classes/students",
            json={"person_name": person, "email": email, "class_ids": [class_id]},
            headers=gateway_headers(),
        )
        assert created.status_code == 201
        students.append((await created.get_json())["id"])
    return class_id, students


# --- NLP service: the roster -----------------------------------------------------------------


async def test_nlp_roster_client_reads_every_enrolled_student(platform: RunningService) -> None:
    client = platform.client
    class_id, student_ids = await enrolled_class(client)
    headers = nlp_headers()

    response = await client.get(f"/v1/classes/{class_id}/roster", headers=headers)

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["X-Correlation-ID"] == headers["X-Correlation-ID"]
    body = json.loads(await response.get_data())
    assert isinstance(body, dict)
    assert isinstance(body["students"], list)
    # Every element passes the client's key check and its model: no student is dropped.
    kept = [NlpStudentInfo.model_validate(item) for item in body["students"]]
    assert sorted(s.student_id for s in kept) == sorted(student_ids)
    by_name = {s.first_name: s for s in kept}
    assert by_name["Sara"].full_legal_name == "Sara Maria Ek"
    assert by_name["Sara"].email == "s@x.se"
    # No legal name given: the stored default, never a null that the NLP model would drop.
    assert by_name["Ali"].full_legal_name == "Ali Nour"
    assert by_name["Ali"].email is None


async def test_nlp_roster_client_gets_404_for_a_missing_class(platform: RunningService) -> None:
    response = await platform.client.get(f"/v1/classes/{uuid4()}/roster", headers=nlp_headers())

    assert response.status_code == 404
    error = (await response.get_json())["error"]
    assert (error["code"], error["details"]["reason"]) == ("RESOURCE_NOT_FOUND", "not_found")


async def test_nlp_roster_client_reads_an_empty_class_as_an_empty_list(
    platform: RunningService,
) -> None:
    created = await platform.client.post(
        "/v1/classes/", json={"name": "Empty", "course_codes": ["ENG6"]}, headers=TEACHER
    )
    class_id = (await created.get_json())["id"]

    response = await platform.client.get(f"/v1/classes/{class_id}/roster", headers=nlp_headers())

    assert response.status_code == 200
    assert (await response.get_json())["students"] == []


# --- API gateway: what it forwards ---------------------------------------------------------


async def test_gateway_forwarded_requests_work_with_the_trailing_slash_and_extra_headers(
    platform: RunningService,
) -> None:
    client = platform.client
    payload = json.dumps({"name": "7C English", "course_codes": ["ENG7"]}).encode()
    created = await client.post(
        "/v1/classes/",
        data=payload,
        headers=gateway_headers(
            **{"content-type": "application/json", "content-length": str(len(payload))}
        ),
    )
    assert created.status_code == 201
    class_id = (await created.get_json())["id"]

    listed = await client.get("/v1/classes/?limit=50&offset=0", headers=gateway_headers())
    assert listed.status_code == 200
    assert class_id in [item["id"] for item in (await listed.get_json())["classes"]]

    # The owner's roster through the gateway: X-User-ID present, so owner mode (§2.3).
    roster = await client.get(f"/v1/classes/{class_id}/roster", headers=gateway_headers())
    assert roster.status_code == 200
    foreign = await client.get(
        f"/v1/classes/{class_id}/roster", headers=gateway_headers("another-teacher")
    )
    assert foreign.status_code == 404

    renamed = await client.put(
        f"/v1/classes/{class_id}", json={"name": "7C English (spring)"}, headers=gateway_headers()
    )
    assert renamed.status_code == 200
    assert (await renamed.get_json())["name"] == "7C English (spring)"
    deleted = await client.delete(f"/v1/classes/{class_id}", headers=gateway_headers())
    assert deleted.status_code in (200, 204)
    gone = await client.get(f"/v1/classes/{class_id}", headers=gateway_headers())
    assert gone.status_code == 404
    # The error body the gateway passes back unchanged is the standard one.
    assert set((await gone.get_json())["error"]) >= {"code", "message", "correlation_id"}


# --- WebSocket service: the teacher's Redis channel -----------------------------------------


async def test_websocket_listener_receives_json_text_on_the_teachers_channel(
    platform: RunningService, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(f"ws:{TEACHER_ID}")
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        created = await platform.client.post(
            "/v1/classes/",
            json={"name": "Live 6B", "course_codes": ["SV1"]},
            headers=gateway_headers(),
        )
        class_id = (await created.get_json())["id"]

        async def class_created() -> dict[str, Any]:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message["type"] != "message":
                    continue
                text = message["data"].decode("utf-8")  # what the listener forwards
                parsed = json.loads(text)
                if parsed.get("data", {}).get("class_id") == class_id:
                    return dict(parsed)

        parsed = await asyncio.wait_for(class_created(), timeout=20)
    finally:
        await pubsub.aclose()
        await redis.aclose()
    assert set(parsed) == {"event", "data"}
    assert parsed["event"] == "class_created"
    assert parsed["data"]["class_designation"] == "Live 6B"
    assert parsed["data"]["category"] == "class_management"


# --- NLP → matching → BFF, the functional harness, ELS and BOS -----------------------------


async def test_a_batch_from_nlp_serves_the_bff_harness_and_the_confirmation_consumers(
    platform: RunningService,
) -> None:
    client = platform.client
    roster = await create_roster(client)
    batch_id, anna_essay, omar_essay = uuid4(), uuid4(), uuid4()
    confirmed_watch = await TopicWatch.from_now(platform.bootstrap_servers, CONFIRMED_TOPIC)
    event = nlp_event(
        batch_id=batch_id,
        class_id=roster.class_id,
        essays=[
            nlp_essay(anna_essay, [nlp_suggestion(roster.anna, "Anna Lindqvist", 0.92, ["name"])]),
            nlp_essay(omar_essay, [nlp_suggestion(roster.omar, "Omar Haddad", 0.55, ["email"])]),
        ],
    )
    await produce(
        platform.bootstrap_servers, SUGGESTED_TOPIC, [(str(batch_id).encode(), wire(event))]
    )
    await review_when_stored(client, batch_id, rows=2)

    # BFF: the class of each requested batch, keyed exactly as it sent the ids.
    unknown = uuid4()
    response = await client.get(
        f"/internal/v1/batches/class-info?batch_ids={batch_id}%2C{unknown}",
        headers=bff_headers(),
    )
    assert response.status_code == 200
    body = await response.get_json()
    assert set(body) == {str(batch_id), str(unknown)}
    assert body[str(unknown)] is None
    info = BffClassInfo.model_validate(body[str(batch_id)])
    assert (info.class_id, info.class_name) == (str(roster.class_id), "9B English")
    empty = await client.get("/internal/v1/batches/class-info?batch_ids=", headers=bff_headers())
    assert (empty.status_code, await empty.get_json()) == (200, {})

    # The functional harness: reads the suggestions, confirms them with its own extra field.
    review = await client.get(f"/v1/batches/{batch_id}/student-associations", headers=TEACHER)
    suggested = {
        item["essay_id"]: item["suggested_student_id"]
        for item in (await review.get_json())["associations"]
    }
    assert suggested == {str(anna_essay): str(roster.anna), str(omar_essay): str(roster.omar)}
    confirm = await client.post(
        f"/v1/batches/{batch_id}/student-associations/confirm",
        json={
            "associations": [
                {"essay_id": essay, "student_id": student, "confirmed": True}
                for essay, student in suggested.items()
            ],
            "confirmation_method": "manual_teacher_review",
        },
        headers=TEACHER,
    )
    assert confirm.status_code == 200
    assert (await confirm.get_json())["associations_confirmed"] == 2

    # ELS and BOS: the confirmation on Kafka, routed by event_type and validated as they do.
    async def confirmation() -> dict[str, Any] | None:
        for record in await confirmed_watch.records():
            envelope = json.loads(record.value)
            if envelope["data"]["batch_id"] == str(batch_id):
                return dict(envelope)
        return None

    envelope = await eventually(confirmation, "the batch's StudentAssociationsConfirmedV1")
    assert envelope["event_type"] == CONFIRMED_TOPIC
    UUID(envelope["event_id"])
    UUID(envelope["correlation_id"])
    data = StudentAssociationsConfirmed.model_validate(envelope["data"])
    assert (data.batch_id, data.class_id, data.course_code) == (
        str(batch_id),
        str(roster.class_id),
        "ENG5",
    )
    assert data.timeout_triggered is False
    assert {
        (a.essay_id, a.student_id, a.validation_method, a.validated_by) for a in data.associations
    } == {
        (str(anna_essay), str(roster.anna), "human", TEACHER_ID),
        (str(omar_essay), str(roster.omar), "human", TEACHER_ID),
    }
    # The keys BOS and ELS require even when their value may be null.
    for item in envelope["data"]["associations"]:
        assert {"student_id", "validated_by", "validated_at"} <= set(item)
