"""Property-based fuzzing of every class, student, roster and bulk-import route.

Whatever the body, headers, path or query string, the service answers below 500, and every
4xx is the standard error body (http-api.md §4.1) with a code and reason that fit its status.
Most of the volume runs in memory (``memory_api``); a smaller run hits the real PostgreSQL
(``api``), which is where type, encoding and range problems turn into 500s.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart.typing import TestClientProtocol as Client

from tests.integration.http.support import (
    ALLOWED_COURSE_CODES,
    TEACHER,
    TEACHER_ID,
    error_of,
    is_lower_uuid,
)

pytestmark = pytest.mark.integration

# CMS_FUZZ_SCALE=20 multiplies the example counts for a deeper local run.
SCALE = int(os.environ.get("CMS_FUZZ_SCALE", "1"))
MEMORY = settings(
    max_examples=50 * SCALE,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
REAL = settings(MEMORY, max_examples=25 * SCALE)

CODE_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "AUTHENTICATION_ERROR",
    404: "RESOURCE_NOT_FOUND",
    405: "VALIDATION_ERROR",
    409: "VALIDATION_ERROR",
    413: "VALIDATION_ERROR",
}
REASONS_BY_STATUS = {
    400: {
        "invalid_json",
        "unsupported_media_type",
        "invalid_body",
        "invalid_parameter",
        "unknown_course_code",
        "multiple_course_codes",
        "unknown_reference",
        "invalid_rows",
        "too_many_rows",
    },
    401: {
        "missing_user_id",
        "invalid_user_id",
        "missing_service_credentials",
        "invalid_service_credentials",
        "service_not_allowed",
    },
    404: {"not_found", "route_not_found"},
    405: {"method_not_allowed"},
    409: {"conflict"},
    413: {"payload_too_large"},
}

# --- strategies ---------------------------------------------------------------------------

# Characters that have broken services before: NUL (PostgreSQL text cannot hold it), BOM,
# NEL and other odd whitespace, quotes, LIKE wildcards, astral and private-use characters.
SPECIAL_CHARACTERS = ["\x00", "\ufeff", "\x85", "\u2028", "\xa0", "'", '"', "\\", "%", "_"]
SPECIAL_CHARACTERS += ["\U0001f600", "\ue000", "\uffff", ",", "\r", "\n", "@", "."]
characters = st.characters(codec="utf-8") | st.sampled_from(SPECIAL_CHARACTERS)


def texts(*, min_size: int = 0, max_size: int) -> st.SearchStrategy[str]:
    return st.text(characters, min_size=min_size, max_size=max_size)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(texts(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
names = texts(max_size=120) | st.sampled_from(
    ["9B English", "", "   ", "x" * 100, "x" * 101, "a\x00b", "\u00c5sa \U0001f600", "\\%_"]
)
# Mostly valid values: they get past validation, so the database sees what they carry.
valid_names = texts(min_size=1, max_size=60).filter(str.strip)
one_course = st.sampled_from(ALLOWED_COURSE_CODES).map(lambda code: [code])
course_codes = st.lists(
    st.sampled_from([*ALLOWED_COURSE_CODES, "eng5", "XX", ""]) | texts(max_size=6), max_size=3
)
uuid_texts = (
    st.uuids().map(str) | st.uuids().map(lambda value: str(value).upper()) | texts(max_size=40)
)
emails = (
    st.emails()
    | texts(max_size=40)
    | st.sampled_from(["", "a@b.c", "ANNA@Example.COM", "a\x00@b.se", "a@b\x00.se"])
)
person_names = json_values | st.fixed_dictionaries(
    {},
    optional={
        "first_name": names | json_scalars,
        "last_name": names | json_scalars,
        "legal_full_name": names | json_scalars,
    },
)
class_bodies = (
    json_values
    | st.fixed_dictionaries(
        {}, optional={"name": names | json_values, "course_codes": course_codes | json_values}
    )
    | st.fixed_dictionaries({"name": valid_names, "course_codes": one_course})
)
valid_person_names = st.fixed_dictionaries(
    {"first_name": valid_names, "last_name": valid_names},
    optional={"legal_full_name": st.none() | names},
)
class_id_lists = st.lists(uuid_texts | json_scalars, max_size=4) | json_values
student_create_bodies = (
    json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "person_name": person_names,
            "email": emails | json_scalars,
            "class_ids": class_id_lists,
        },
    )
    | st.fixed_dictionaries(
        {"person_name": valid_person_names},
        optional={"email": st.none() | emails, "class_ids": st.lists(uuid_texts, max_size=3)},
    )
)
student_update_bodies = (
    json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "person_name": person_names,
            "email": emails | json_scalars,
            "add_class_ids": class_id_lists,
            "remove_class_ids": class_id_lists,
        },
    )
    | st.fixed_dictionaries(
        {},
        optional={
            "person_name": valid_person_names,
            "email": emails,
            "add_class_ids": st.lists(uuid_texts, max_size=3),
            "remove_class_ids": st.lists(uuid_texts, max_size=3),
        },
    )
)
import_rows = st.fixed_dictionaries(
    {},
    optional={
        "first_name": names | json_scalars,
        "last_name": names | json_scalars,
        "email": emails | json_scalars,
        "legal_full_name": names | json_scalars,
    },
)
valid_import_rows = st.fixed_dictionaries(
    {"first_name": valid_names, "last_name": valid_names},
    optional={"email": st.none() | emails, "legal_full_name": st.none() | names},
)
bulk_bodies = (
    st.lists(import_rows | json_values, max_size=6)
    | json_values
    | st.lists(valid_import_rows, min_size=1, max_size=6)
)

# Header values as HTTP can carry them: visible ASCII, space, tab and obs-text (latin-1).
header_texts = st.text(
    alphabet=st.characters(
        min_codepoint=0x09, max_codepoint=0xFF, exclude_categories=["Cc"], include_characters="\t"
    ),
    max_size=40,
)
user_ids = st.sampled_from(["", " ", "SYSTEM_TIMEOUT", "nlp_service_phase1", "x" * 256]) | (
    header_texts
)
content_types = (
    st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/csv", "text/plain", ""]
    )
    | header_texts
)


@st.composite
def headers(draw: st.DrawFn, *, content_type: str | None = "application/json") -> dict[str, str]:
    """Mostly a valid teacher (to reach deep checks), sometimes anything."""
    sent: dict[str, str] = {}
    if draw(st.integers(0, 3)):
        sent["X-User-ID"] = TEACHER_ID
    elif draw(st.booleans()):
        sent["X-User-ID"] = draw(user_ids)
    if draw(st.integers(0, 5)) == 0:
        sent["X-Correlation-ID"] = draw(
            st.uuids().map(lambda value: str(value).upper()) | header_texts
        )
    if draw(st.integers(0, 7)) == 0:
        sent["X-Internal-API-Key"] = draw(st.sampled_from(["test-key", "wrong"]) | header_texts)
    if draw(st.integers(0, 7)) == 0:
        sent["X-Service-ID"] = draw(header_texts)
    if content_type is not None:
        sent["Content-Type"] = content_type if draw(st.integers(0, 5)) else draw(content_types)
    return sent


def _csv_cell(value: str, quoted: bool) -> str:
    return '"' + value.replace('"', '""') + '"' if quoted else value


csv_headers = st.sampled_from(
    [
        "first_name,last_name,email",
        "first_name,last_name,email,legal_full_name",
        " First_Name , LAST_NAME ,Email",
        "first_name,last_name",
    ]
) | texts(max_size=40)
csv_records = st.lists(
    st.lists(st.tuples(texts(max_size=15), st.booleans()), min_size=0, max_size=5).map(
        lambda cells: ",".join(_csv_cell(value, quoted) for value, quoted in cells)
    ),
    max_size=6,
)
csv_documents = st.builds(
    lambda bom, header, records, eol: ("\ufeff" if bom else "") + eol.join([header, *records]),
    st.booleans(),
    csv_headers,
    csv_records,
    st.sampled_from(["\n", "\r\n", "\r"]),
).map(lambda text: text.encode("utf-8")) | st.binary(max_size=200)

query_values = texts(max_size=30) | st.sampled_from(
    ["0", "1", "100", "101", "-1", "abc", "99999999999999999999999", "", "%", "_", "\\"]
)
query_strings = st.lists(
    st.tuples(
        st.sampled_from(["limit", "offset", "class_id", "q", "x"]), query_values | uuid_texts
    ),
    max_size=4,
).map(urlencode)
path_segments = uuid_texts | texts(max_size=20) | st.just("students")

# --- the property -------------------------------------------------------------------------


async def assert_contract_response(response: Any, method: str) -> None:
    """Never a 5xx; every error the standard body with a status-compatible code and reason."""
    status = response.status_code
    assert status < 500, await response.get_data()
    assert is_lower_uuid(response.headers["X-Correlation-ID"])
    if method == "HEAD":
        return
    if status >= 400:
        assert status in CODE_BY_STATUS, status
        error = await error_of(response, status, CODE_BY_STATUS[status])
        assert error["details"].get("reason") in REASONS_BY_STATUS[status], error
    else:
        assert status in {200, 201}, status
        assert response.headers["Content-Type"].startswith("application/json")
        assert await response.get_json() is not None


async def send(
    client: Client, method: str, path: str, sent: dict[str, str], data: bytes | None = None
) -> None:
    kwargs: dict[str, Any] = {} if data is None else {"data": data}
    response = await client.open(path, method=method, headers=sent, **kwargs)
    await assert_contract_response(response, method)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


async def _owned_ids(client: Client) -> tuple[str, str]:
    """A class and a student of TEACHER, so updates and imports can reach their deep checks."""
    created = await client.post(
        "/v1/classes/", json={"name": "Fuzz", "course_codes": ["ENG5"]}, headers=TEACHER
    )
    class_id = (await created.get_json())["id"]
    student = await client.post(
        "/v1/classes/students",
        json={"person_name": {"first_name": "F", "last_name": "Z"}, "class_ids": [class_id]},
        headers=TEACHER,
    )
    return class_id, (await student.get_json())["id"]


async def fuzz_class_create(client: Client, body: Any, sent: dict[str, str]) -> None:
    await send(client, "POST", "/v1/classes/", sent, _dumps(body))


async def fuzz_class_update(client: Client, body: Any, sent: dict[str, str]) -> None:
    class_id, _ = await _owned_ids(client)
    await send(client, "PUT", f"/v1/classes/{class_id}", sent, _dumps(body))


async def fuzz_student_create(client: Client, body: Any, sent: dict[str, str]) -> None:
    class_id, _ = await _owned_ids(client)
    if isinstance(body, dict) and isinstance(body.get("class_ids"), list) and body["class_ids"]:
        body = {**body, "class_ids": [class_id, *body["class_ids"]]}
    await send(client, "POST", "/v1/classes/students", sent, _dumps(body))


async def fuzz_student_update(client: Client, body: Any, sent: dict[str, str]) -> None:
    _, student_id = await _owned_ids(client)
    await send(client, "PUT", f"/v1/classes/students/{student_id}", sent, _dumps(body))


async def fuzz_bulk_json(client: Client, body: Any, sent: dict[str, str]) -> None:
    class_id, _ = await _owned_ids(client)
    await send(client, "POST", f"/v1/classes/{class_id}/students/bulk", sent, _dumps(body))


async def fuzz_bulk_csv(client: Client, document: bytes, sent: dict[str, str]) -> None:
    class_id, _ = await _owned_ids(client)
    await send(client, "POST", f"/v1/classes/{class_id}/students/bulk", sent, document)


async def fuzz_queries(client: Client, query: str, sent: dict[str, str]) -> None:
    for path in ("/v1/classes/", "/v1/classes", "/v1/classes/students", "/v1/classes/students/"):
        await send(client, "GET", f"{path}?{query}", sent)


async def fuzz_any_request(
    client: Client,
    method: str,
    template: str,
    segment: str,
    query: str,
    body: bytes,
    sent: dict[str, str],
) -> None:
    path = template.replace("{id}", quote(segment, safe=""))
    data = body if method in {"POST", "PUT", "PATCH"} else None
    await send(client, method, f"{path}?{query}" if query else path, sent, data)


methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
templates = st.sampled_from(
    [
        "/v1/classes/",
        "/v1/classes",
        "/v1/classes/{id}",
        "/v1/classes/{id}/",
        "/v1/classes/{id}/roster",
        "/v1/classes/{id}/students/bulk",
        "/v1/classes/students",
        "/v1/classes/students/",
        "/v1/classes/students/{id}",
        "/v1/classes/{id}/{id}",
    ]
)
raw_bodies = st.binary(max_size=200) | json_values.map(_dumps) | csv_documents


# --- in memory: the bulk of the volume ----------------------------------------------------


@MEMORY
@given(body=class_bodies, sent=headers())
async def test_fuzz_class_create_in_memory(
    memory_api: Client, body: Any, sent: dict[str, str]
) -> None:
    await fuzz_class_create(memory_api, body, sent)


@MEMORY
@given(body=class_bodies, sent=headers())
async def test_fuzz_class_update_in_memory(
    memory_api: Client, body: Any, sent: dict[str, str]
) -> None:
    await fuzz_class_update(memory_api, body, sent)


@MEMORY
@given(body=student_create_bodies, sent=headers())
async def test_fuzz_student_create_in_memory(
    memory_api: Client, body: Any, sent: dict[str, str]
) -> None:
    await fuzz_student_create(memory_api, body, sent)


@MEMORY
@given(body=student_update_bodies, sent=headers())
async def test_fuzz_student_update_in_memory(
    memory_api: Client, body: Any, sent: dict[str, str]
) -> None:
    await fuzz_student_update(memory_api, body, sent)


@MEMORY
@given(body=bulk_bodies, sent=headers())
async def test_fuzz_bulk_json_in_memory(
    memory_api: Client, body: Any, sent: dict[str, str]
) -> None:
    await fuzz_bulk_json(memory_api, body, sent)


@MEMORY
@given(document=csv_documents, sent=headers(content_type="text/csv"))
async def test_fuzz_bulk_csv_in_memory(
    memory_api: Client, document: bytes, sent: dict[str, str]
) -> None:
    await fuzz_bulk_csv(memory_api, document, sent)


@MEMORY
@given(query=query_strings, sent=headers(content_type=None))
async def test_fuzz_query_strings_in_memory(
    memory_api: Client, query: str, sent: dict[str, str]
) -> None:
    await fuzz_queries(memory_api, query, sent)


@MEMORY
@given(
    method=methods,
    template=templates,
    segment=path_segments,
    query=query_strings,
    body=raw_bodies,
    sent=headers(),
)
async def test_fuzz_any_request_in_memory(
    memory_api: Client,
    method: str,
    template: str,
    segment: str,
    query: str,
    body: bytes,
    sent: dict[str, str],
) -> None:
    await fuzz_any_request(memory_api, method, template, segment, query, body, sent)


# --- on the real PostgreSQL ---------------------------------------------------------------


@REAL
@given(body=class_bodies, sent=headers())
async def test_fuzz_class_create_on_postgres(api: Client, body: Any, sent: dict[str, str]) -> None:
    await fuzz_class_create(api, body, sent)


@REAL
@given(body=class_bodies, sent=headers())
async def test_fuzz_class_update_on_postgres(api: Client, body: Any, sent: dict[str, str]) -> None:
    await fuzz_class_update(api, body, sent)


@REAL
@given(body=student_create_bodies, sent=headers())
async def test_fuzz_student_create_on_postgres(
    api: Client, body: Any, sent: dict[str, str]
) -> None:
    await fuzz_student_create(api, body, sent)


@REAL
@given(body=student_update_bodies, sent=headers())
async def test_fuzz_student_update_on_postgres(
    api: Client, body: Any, sent: dict[str, str]
) -> None:
    await fuzz_student_update(api, body, sent)


@REAL
@given(body=bulk_bodies, sent=headers())
async def test_fuzz_bulk_json_on_postgres(api: Client, body: Any, sent: dict[str, str]) -> None:
    await fuzz_bulk_json(api, body, sent)


@REAL
@given(document=csv_documents, sent=headers(content_type="text/csv"))
async def test_fuzz_bulk_csv_on_postgres(
    api: Client, document: bytes, sent: dict[str, str]
) -> None:
    await fuzz_bulk_csv(api, document, sent)


@REAL
@given(query=query_strings, sent=headers(content_type=None))
async def test_fuzz_query_strings_on_postgres(
    api: Client, query: str, sent: dict[str, str]
) -> None:
    await fuzz_queries(api, query, sent)


@REAL
@given(
    method=methods,
    template=templates,
    segment=path_segments,
    query=query_strings,
    body=raw_bodies,
    sent=headers(),
)
async def test_fuzz_any_request_on_postgres(
    api: Client,
    method: str,
    template: str,
    segment: str,
    query: str,
    body: bytes,
    sent: dict[str, str],
) -> None:
    await fuzz_any_request(api, method, template, segment, query, body, sent)
