"""Cross-cutting conventions (http-api.md §1-§5): auth, routing, methods, bodies, correlation
ids, the error shape and the order of checks, for every class, student and roster route."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from tests.integration.http.support import (
    MAX_BODY_BYTES,
    SERVICE,
    TEACHER,
    create_class,
    create_student,
    details_of,
    error_fields,
    error_of,
    is_lower_uuid,
    missing_id,
    validation_details,
)

pytestmark = pytest.mark.integration

SOME_ID = "06978b2f-241d-4018-a94f-a7c67fc7d1c7"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    body: Any = None  # a valid JSON body for write routes

    @property
    def writes(self) -> bool:
        return self.method in {"POST", "PUT"}

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/v1/classes/"),
    Route("GET", "/v1/classes"),
    Route("POST", "/v1/classes/", {"name": "9B", "course_codes": ["ENG5"]}),
    Route("POST", "/v1/classes", {"name": "9B", "course_codes": ["ENG5"]}),
    Route("GET", "/v1/classes/{id}"),
    Route("PUT", "/v1/classes/{id}", {"name": "9B"}),
    Route("DELETE", "/v1/classes/{id}"),
    Route("GET", "/v1/classes/{id}/roster"),
    Route("POST", "/v1/classes/{id}/students/bulk", [{"first_name": "A", "last_name": "B"}]),
    Route("GET", "/v1/classes/students"),
    Route("GET", "/v1/classes/students/"),
    Route("POST", "/v1/classes/students", {"person_name": {"first_name": "A", "last_name": "B"}}),
    Route("POST", "/v1/classes/students/", {"person_name": {"first_name": "A", "last_name": "B"}}),
    Route("GET", "/v1/classes/students/{id}"),
    Route("PUT", "/v1/classes/students/{id}", {"email": "a@example.com"}),
    Route("DELETE", "/v1/classes/students/{id}"),
]
WRITE_ROUTES = [route for route in ROUTES if route.writes]
ID_ROUTES = [route for route in ROUTES if "{id}" in route.path]
# The roster also serves a caller with no identity header at all (§2.3, the NLP service):
# every other route requires X-User-ID even then.
TEACHER_ROUTES = [route for route in ROUTES if not route.path.endswith("/roster")]
TEACHER_ID_ROUTES = [route for route in TEACHER_ROUTES if "{id}" in route.path]
GET_ROUTES = [route for route in ROUTES if route.method == "GET"]


async def call(
    api: Client,
    route: Route,
    *,
    headers: dict[str, str] | None = None,
    resource_id: str = SOME_ID,
    data: bytes | None = None,
    content_type: str | None = "application/json",
    method: str | None = None,
) -> Any:
    """The route with its valid body (or ``data``), any id substituted."""
    sent = dict(TEACHER if headers is None else headers)
    kwargs: dict[str, Any] = {}
    if route.writes:
        kwargs["data"] = data if data is not None else json.dumps(route.body).encode()
        if content_type is not None:
            sent["Content-Type"] = content_type
    return await api.open(
        route.path.replace("{id}", resource_id),
        method=method or route.method,
        headers=sent,
        **kwargs,
    )


# --- authentication (§2.1) ----------------------------------------------------------------

BAD_USER_IDS = [
    ("", "missing_user_id"),
    ("   ", "missing_user_id"),
    ("\t", "missing_user_id"),
    ("x" * 256, "invalid_user_id"),
    ("SYSTEM_TIMEOUT", "invalid_user_id"),
    ("nlp_service_phase1", "invalid_user_id"),
    # Not valid in an HTTP header, and PostgreSQL text could not store it as an owner.
    ("teacher\x00", "invalid_user_id"),
]


@pytest.mark.parametrize(("user_id", "reason"), BAD_USER_IDS)
@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_every_route_refuses_an_invalid_x_user_id(
    api: Client, route: Route, user_id: str, reason: str
) -> None:
    response = await call(api, route, headers={"X-User-ID": user_id})
    details = await details_of(response, 401, "AUTHENTICATION_ERROR")
    assert details == {"reason": reason}


@pytest.mark.parametrize("route", TEACHER_ROUTES, ids=str)
async def test_every_teacher_route_requires_x_user_id(api: Client, route: Route) -> None:
    response = await call(api, route, headers={})
    details = await details_of(response, 401, "AUTHENTICATION_ERROR")
    assert details == {"reason": "missing_user_id"}


async def test_a_255_character_user_id_is_a_teacher_and_identity_headers_are_ignored(
    api: Client,
) -> None:
    long_id = "T" + "x" * 254
    school_class = await create_class(
        api, headers={"X-User-ID": long_id, "X-Org-ID": "org-1", "X-Roles": "admin"}
    )
    response = await api.get(f"/v1/classes/{school_class['id']}", headers={"X-User-ID": long_id})
    assert response.status_code == 200
    # The id is compared byte for byte: another case is another teacher.
    response = await api.get(
        f"/v1/classes/{school_class['id']}", headers={"X-User-ID": long_id.upper()}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("route", TEACHER_ID_ROUTES, ids=str)
async def test_authentication_precedes_path_parameters(api: Client, route: Route) -> None:
    response = await call(api, route, headers={}, resource_id="not-a-uuid")
    await details_of(response, 401, "AUTHENTICATION_ERROR", "missing_user_id")


# --- routing and methods (§1) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v1/classes/{SOME_ID}/"),
        ("PUT", f"/v1/classes/{SOME_ID}/"),
        ("DELETE", f"/v1/classes/{SOME_ID}/"),
        ("GET", f"/v1/classes/{SOME_ID}/roster/"),
        ("POST", f"/v1/classes/{SOME_ID}/students/bulk/"),
        ("GET", f"/v1/classes/students/{SOME_ID}/"),
        ("PUT", f"/v1/classes/students/{SOME_ID}/"),
        ("GET", "/v1/classes//"),
        ("GET", "/v1/class"),
        ("GET", "/v1/classes/students/x/y"),
        ("GET", f"/v1/classes/{SOME_ID}/students"),
        ("POST", f"/v1/classes/{SOME_ID}/students"),
        ("GET", "/v2/classes/"),
        ("GET", "/"),
    ],
)
async def test_unknown_paths_and_extra_trailing_slashes_are_route_not_found(
    api: Client, method: str, path: str
) -> None:
    # No X-User-ID: routing comes before authentication.
    response = await api.open(path, method=method)
    details = await details_of(response, 404, "RESOURCE_NOT_FOUND", "route_not_found")
    assert details == {"reason": "route_not_found", "path": path}
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/classes/students", ["GET", "HEAD", "POST"]),
        ("PUT", "/v1/classes/students/", ["GET", "HEAD", "POST"]),
        ("DELETE", "/v1/classes/students", ["GET", "HEAD", "POST"]),
        ("DELETE", "/v1/classes/", ["GET", "HEAD", "POST"]),
        ("PATCH", "/v1/classes", ["GET", "HEAD", "POST"]),
        ("POST", f"/v1/classes/{SOME_ID}", ["DELETE", "GET", "HEAD", "PUT"]),
        ("PATCH", f"/v1/classes/{SOME_ID}", ["DELETE", "GET", "HEAD", "PUT"]),
        ("POST", "/v1/classes/not-a-uuid", ["DELETE", "GET", "HEAD", "PUT"]),
        ("PUT", f"/v1/classes/{SOME_ID}/roster", ["GET", "HEAD"]),
        ("DELETE", f"/v1/classes/{SOME_ID}/roster", ["GET", "HEAD"]),
        ("GET", f"/v1/classes/{SOME_ID}/students/bulk", ["POST"]),
        ("PUT", f"/v1/classes/{SOME_ID}/students/bulk", ["POST"]),
        ("POST", f"/v1/classes/students/{SOME_ID}", ["DELETE", "GET", "HEAD", "PUT"]),
        ("PATCH", f"/v1/classes/students/{SOME_ID}", ["DELETE", "GET", "HEAD", "PUT"]),
    ],
)
async def test_wrong_method_is_405_with_allow_header(
    api: Client, method: str, path: str, allowed: list[str]
) -> None:
    # No X-User-ID: the method check comes before authentication.
    response = await api.open(path, method=method)
    details = await details_of(response, 405, "VALIDATION_ERROR", "method_not_allowed")
    assert details == {"reason": "method_not_allowed", "method": method, "allowed": allowed}
    allow = {item.strip() for item in response.headers["Allow"].split(",")}
    assert allow == set(allowed)


@pytest.mark.parametrize("route", GET_ROUTES, ids=str)
async def test_head_is_accepted_wherever_get_is(api: Client, route: Route) -> None:
    school_class = await create_class(api)
    student = await create_student(api, class_ids=[school_class["id"]])
    resource_id = student["id"] if "students/{id}" in route.path else school_class["id"]
    path = route.path.replace("{id}", resource_id)
    get = await api.get(path, headers=TEACHER)
    head = await api.head(path, headers=TEACHER)
    assert (get.status_code, head.status_code) == (200, 200)
    assert head.headers["Content-Type"].startswith("application/json")
    assert is_lower_uuid(head.headers["X-Correlation-ID"])
    # The in-process client keeps the body of a HEAD response; the HTTP server (h11) drops it.


async def test_head_on_a_missing_resource_is_the_get_error(api: Client) -> None:
    response = await api.head(f"/v1/classes/{missing_id()}", headers=TEACHER)
    assert response.status_code == 404
    response = await api.head("/v1/classes/", headers={})
    assert response.status_code == 401


async def test_bodies_of_get_and_delete_are_ignored(api: Client) -> None:
    school_class = await create_class(api)
    for method in ("GET", "DELETE"):
        response = await api.open(
            f"/v1/classes/{school_class['id']}",
            method=method,
            data=b"\xff{not json",
            headers={**TEACHER, "Content-Type": "text/plain"},
        )
        assert response.status_code == 200, await response.get_json()


# --- bodies: size, media type, JSON syntax (§1, §4.4 steps 5-6) ----------------------------


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=str)
async def test_a_body_over_1_mib_is_413(api: Client, route: Route) -> None:
    # The size check precedes the resource look-up, so the id need not exist.
    correlation_id = str(uuid.uuid4())
    response = await call(
        api,
        route,
        headers={**TEACHER, "X-Correlation-ID": correlation_id},
        data=b" " * (MAX_BODY_BYTES + 1),
    )
    details = await details_of(response, 413, "VALIDATION_ERROR", "payload_too_large")
    assert details == {"reason": "payload_too_large", "max_bytes": 1048576}
    assert response.headers["X-Correlation-ID"] == correlation_id


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=str)
async def test_authentication_and_parameters_precede_413_which_precedes_media_type(
    api: Client, route: Route
) -> None:
    big = b"{" * (MAX_BODY_BYTES + 10)
    unauthenticated = await call(api, route, headers={}, data=big)
    await details_of(unauthenticated, 401, "AUTHENTICATION_ERROR", "missing_user_id")
    if "{id}" in route.path:
        bad_id = await call(api, route, resource_id="nope", data=big)
        await validation_details(bad_id, "invalid_parameter")
    wrong_type = await call(api, route, data=big, content_type="text/plain")
    await details_of(wrong_type, 413, "VALIDATION_ERROR", "payload_too_large")


async def test_a_body_of_exactly_1_mib_is_accepted(api: Client) -> None:
    skeleton = {"name": "9B", "course_codes": ["ENG5"], "pad": ""}
    padding = MAX_BODY_BYTES - len(json.dumps(skeleton).encode())
    data = json.dumps({**skeleton, "pad": "p" * padding}).encode()
    assert len(data) == MAX_BODY_BYTES
    response = await api.post(
        "/v1/classes/", data=data, headers={**TEACHER, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, await response.get_json()


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain", "text/plain"),
        ("text/csv", "text/csv"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("application/json-patch+json", "application/json-patch+json"),
        ("", ""),
        (None, None),
    ],
)
@pytest.mark.parametrize("route", [r for r in WRITE_ROUTES if "bulk" not in r.path], ids=str)
async def test_json_routes_refuse_other_media_types(
    api: Client, route: Route, content_type: str | None, expected: str | None
) -> None:
    response = await call(api, route, content_type=content_type, data=b"{")
    details = await validation_details(response, "unsupported_media_type")
    assert details == {"reason": "unsupported_media_type", "content_type": expected}


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/json;charset=UTF-8"]
)
async def test_a_charset_parameter_is_allowed(api: Client, content_type: str) -> None:
    response = await api.post(
        "/v1/classes/",
        data=json.dumps({"name": "Åsa's klass", "course_codes": ["SV1"]}).encode(),
        headers={**TEACHER, "Content-Type": content_type},
    )
    body = await response.get_json()
    assert response.status_code == 201, body
    assert body["name"] == "Åsa's klass"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"{'name': 'x'}",
        b'{"name": "9B", "course_codes": ["ENG5"]} trailing',
        b'{"name": NaN, "course_codes": ["ENG5"]}',
        b'{"name": Infinity}',
        b"\xff\xfe{}",
        b'{"name": "\xe9"}',
        b"[" * 100_000,
    ],
)
@pytest.mark.parametrize("route", WRITE_ROUTES, ids=str)
async def test_malformed_json_is_invalid_json(api: Client, route: Route, data: bytes) -> None:
    response = await call(api, route, data=data)
    assert await validation_details(response, "invalid_json") == {"reason": "invalid_json"}


async def test_a_lone_surrogate_escape_is_refused_as_a_400(api: Client) -> None:
    """A \\ud800 escape is JSON syntax but not Unicode text: a 400, never stored or a 500."""
    response = await api.post(
        "/v1/classes/",
        data=b'{"name": "9B \\ud800", "course_codes": ["ENG5"]}',
        headers={**TEACHER, "Content-Type": "application/json"},
    )
    error = await error_of(response, 400, "VALIDATION_ERROR")
    assert error["details"]["reason"] in {"invalid_json", "invalid_body"}


async def test_media_type_is_checked_before_json_syntax(api: Client) -> None:
    response = await api.post(
        "/v1/classes/", data=b"{", headers={**TEACHER, "Content-Type": "text/plain"}
    )
    await validation_details(response, "unsupported_media_type")


# --- correlation id (§3) ------------------------------------------------------------------


async def _responses_of_every_kind(api: Client, headers: dict[str, str]) -> dict[str, Any]:
    school_class = await create_class(api)
    return {
        "200": await api.get("/v1/classes/", headers={**TEACHER, **headers}),
        "201": await api.post(
            "/v1/classes/",
            json={"name": "9B", "course_codes": ["ENG5"]},
            headers={**TEACHER, **headers},
        ),
        "400": await api.get("/v1/classes/?limit=0", headers={**TEACHER, **headers}),
        "401": await api.get("/v1/classes/", headers=headers),
        "404 route": await api.get("/v1/nowhere", headers=headers),
        "404 resource": await api.get(
            f"/v1/classes/{missing_id()}", headers={**TEACHER, **headers}
        ),
        "405": await api.put("/v1/classes/students", headers=headers),
        "413": await api.put(
            f"/v1/classes/{school_class['id']}",
            data=b"x" * (MAX_BODY_BYTES + 1),
            headers={**TEACHER, **headers, "Content-Type": "application/json"},
        ),
        "roster": await api.get(
            f"/v1/classes/{school_class['id']}/roster", headers={**SERVICE, **headers}
        ),
    }


async def test_a_canonical_correlation_id_is_honoured_lowercased_and_echoed_everywhere(
    api: Client,
) -> None:
    sent = "1DADEBC3-DE19-442C-BD92-C7A1C7EAE297"
    responses = await _responses_of_every_kind(api, {"X-Correlation-ID": sent})
    for kind, response in responses.items():
        assert response.headers["X-Correlation-ID"] == sent.lower(), kind
        if response.status_code >= 400:
            error = await error_of(
                response, response.status_code, (await response.get_json())["error"]["code"]
            )
            assert error["correlation_id"] == sent.lower(), kind


@pytest.mark.parametrize(
    "sent",
    [
        None,
        "",
        "not-a-uuid",
        "1dadebc3de19442cbd92c7a1c7eae297",
        "{1dadebc3-de19-442c-bd92-c7a1c7eae297}",
        "1dadebc3-de19-442c-bd92-c7a1c7eae29",
        "1dadebc3-de19-442c-bd92-c7a1c7eae297-0",
    ],
)
async def test_other_correlation_ids_are_replaced_by_a_fresh_uuid4(
    api: Client, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Correlation-ID": sent}
    responses = await _responses_of_every_kind(api, headers)
    seen = set()
    for kind, response in responses.items():
        value = response.headers["X-Correlation-ID"]
        assert is_lower_uuid(value), kind
        assert uuid.UUID(value).version == 4, kind
        assert value != (sent or "").strip().lower().strip("{}")
        seen.add(value)
    assert len(seen) == len(responses)


# --- order of checks (§4.4) for combined failures ------------------------------------------


async def test_order_of_checks_for_combined_failures(api: Client) -> None:
    own = await create_class(api)
    student = await create_student(api, email="taken@example.com")
    big = b"[" * (MAX_BODY_BYTES + 1)

    # 1 route before 2 method before 3 authentication.
    await details_of(await api.delete("/v1/classes/x/y"), 404, "RESOURCE_NOT_FOUND")
    await details_of(await api.delete("/v1/classes/"), 405, "VALIDATION_ERROR")
    # 3 authentication before 4 parameters.
    await details_of(await api.get("/v1/classes/?limit=0"), 401, "AUTHENTICATION_ERROR")
    # 4 parameters before 5 size before 6 media type.
    response = await api.put(
        "/v1/classes/students/nope", data=big, headers={**TEACHER, "Content-Type": "text/plain"}
    )
    await validation_details(response, "invalid_parameter")
    response = await api.put(
        f"/v1/classes/{own['id']}", data=big, headers={**TEACHER, "Content-Type": "text/plain"}
    )
    await details_of(response, 413, "VALIDATION_ERROR", "payload_too_large")
    # 7 body before 8 target resource.
    response = await api.put(
        f"/v1/classes/students/{missing_id()}", json={"email": ""}, headers=TEACHER
    )
    await validation_details(response, "invalid_body")
    response = await api.post(
        f"/v1/classes/{missing_id()}/students/bulk", json=[{"x": 1}], headers=TEACHER
    )
    await validation_details(response, "invalid_rows")
    # 8 target resource before 9 references.
    response = await api.put(
        f"/v1/classes/students/{missing_id()}",
        json={"add_class_ids": [missing_id()]},
        headers=TEACHER,
    )
    await details_of(response, 404, "RESOURCE_NOT_FOUND", "not_found")
    response = await api.get(f"/v1/classes/students?class_id={missing_id()}&q=x", headers=TEACHER)
    await details_of(response, 404, "RESOURCE_NOT_FOUND", "not_found")
    # 9 references before 10 uniqueness.
    response = await api.post(
        "/v1/classes/students",
        json={
            "person_name": {"first_name": "A", "last_name": "B"},
            "email": "taken@example.com",
            "class_ids": [missing_id()],
        },
        headers=TEACHER,
    )
    await validation_details(response, "unknown_reference")
    other = await create_student(api, "Other", "One", email="other@example.com")
    response = await api.put(
        f"/v1/classes/students/{other['id']}",
        json={"email": "taken@example.com", "add_class_ids": [missing_id()]},
        headers=TEACHER,
    )
    await validation_details(response, "unknown_reference")
    # Invalid parameters: all reported together (limit and offset) and before the class filter.
    response = await api.get("/v1/classes/students?limit=0&offset=x&class_id=nope", headers=TEACHER)
    details = await validation_details(response, "invalid_parameter")
    assert set(error_fields(details)) >= {"limit", "offset"}
    assert student["email"] == "taken@example.com"
