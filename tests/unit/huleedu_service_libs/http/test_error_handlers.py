"""Every failure path renders the standard error body (contract §4.1, §1 routing rules)."""

from __future__ import annotations

from quart.typing import TestClientProtocol as Client

from tests.unit.huleedu_service_libs.http.conftest import CLASS_ID, TEACHER, error_of

AUTH = {"X-User-ID": TEACHER}


async def test_unknown_route_is_404_route_not_found_with_path(client: Client) -> None:
    response = await client.get("/v1/nope", headers=AUTH)

    assert response.status_code == 404
    assert response.content_type == "application/json"
    error = error_of(await response.get_json())
    assert error["code"] == "RESOURCE_NOT_FOUND"
    assert error["details"] == {"reason": "route_not_found", "path": "/v1/nope"}


async def test_wrong_method_is_405_with_allow_header_and_details(
    client: Client,
) -> None:
    response = await client.delete("/v1/things", headers=AUTH)

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    error = error_of(await response.get_json())
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {
        "reason": "method_not_allowed",
        "method": "DELETE",
        "allowed": ["GET", "HEAD", "POST"],
    }


async def test_options_is_not_provided_automatically(client: Client) -> None:
    response = await client.options("/v1/things")

    assert response.status_code == 405
    assert "OPTIONS" not in response.headers["Allow"]


async def test_put_on_student_list_is_405_not_a_class_update(client: Client) -> None:
    response = await client.put("/v1/classes/students", headers=AUTH, json={})

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"


async def test_non_uuid_class_segment_reaches_route_and_is_400(
    client: Client,
) -> None:
    response = await client.get("/v1/classes/not-a-uuid", headers=AUTH)

    assert response.status_code == 400
    error = error_of(await response.get_json())
    assert error["details"]["reason"] == "invalid_parameter"
    assert error["details"]["errors"][0]["field"] == "class_id"


async def test_literal_students_wins_over_class_id(client: Client) -> None:
    listing = await client.get("/v1/classes/students")
    student = await client.get(f"/v1/classes/students/{CLASS_ID}")

    assert (await listing.get_json()) == {"route": "students"}
    assert (await student.get_json())["route"] == "student"


async def test_head_is_accepted_on_get_routes(client: Client) -> None:
    response = await client.head("/v1/things", headers=AUTH)

    assert response.status_code == 200
    assert response.content_type == "application/json"


async def test_both_collection_spellings_answer_without_redirect(
    client: Client,
) -> None:
    for path in ("/v1/things", "/v1/things/"):
        response = await client.get(path, headers=AUTH)
        assert response.status_code == 200, path


async def test_trailing_slash_on_other_paths_is_404(client: Client) -> None:
    response = await client.get(f"/v1/classes/{CLASS_ID}/", headers=AUTH)

    assert response.status_code == 404
    assert error_of(await response.get_json())["details"]["reason"] == "route_not_found"


async def test_would_be_redirects_are_404(client: Client) -> None:
    missing_slash = await client.get("/slash-only")
    double_slash = await client.get("/v1//things", headers=AUTH)

    for response in (missing_slash, double_slash):
        assert response.status_code == 404
        assert "Location" not in response.headers
        assert error_of(await response.get_json())["details"]["reason"] == "route_not_found"


async def test_huleedu_error_keeps_its_status_code_and_details(
    client: Client,
) -> None:
    response = await client.get("/missing-class")

    assert response.status_code == 404
    error = error_of(await response.get_json())
    assert error["code"] == "RESOURCE_NOT_FOUND"
    assert error["details"] == {"reason": "not_found", "resource": "class", "id": CLASS_ID}


async def test_unexpected_exception_is_500_with_empty_details_and_no_traceback(
    client: Client,
) -> None:
    response = await client.get("/boom")

    assert response.status_code == 500
    text = await response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "secret-detail" not in text
    assert "RuntimeError" not in text
    error = error_of(await response.get_json())
    assert error["code"] == "UNKNOWN_ERROR"
    assert error["details"] == {}


async def test_database_connection_failure_is_502_dependency_unavailable(
    client: Client,
) -> None:
    response = await client.get("/db-down")

    assert response.status_code == 502
    error = error_of(await response.get_json())
    assert error["code"] == "EXTERNAL_SERVICE_ERROR"
    assert error["details"] == {"reason": "dependency_unavailable", "dependency": "database"}


async def test_failure_after_the_view_still_gets_the_standard_body(
    client: Client,
) -> None:
    # A raising teardown hook escapes Quart's error handlers; the ASGI boundary answers instead.
    response = await client.get("/teardown-fails")

    assert response.status_code == 502
    assert response.headers["X-Correlation-ID"]
    error = error_of(await response.get_json())
    assert error["correlation_id"] == response.headers["X-Correlation-ID"]
    assert error["details"]["dependency"] == "database"


async def test_error_correlation_id_matches_response_header(client: Client) -> None:
    response = await client.get("/boom")

    error = error_of(await response.get_json())
    assert error["correlation_id"] == response.headers["X-Correlation-ID"]
