"""Specification of the error envelope for bad input, unknown routes and wrong methods."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.http_support import client, make_app


def assert_envelope(body: dict[str, Any], code: str) -> dict[str, Any]:
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    return error


@pytest.mark.asyncio
async def test_unknown_route_is_404_envelope() -> None:
    """Even Starlette's own 404 comes in the envelope."""
    async with client(make_app()) as http:
        response = await http.get("/nowhere")
    assert response.status_code == 404
    assert_envelope(response.json(), "not-found")


@pytest.mark.asyncio
async def test_wrong_method_is_405_envelope_with_allow() -> None:
    """DELETE /channels is 405 method-not-allowed, with the Allow header."""
    async with client(make_app()) as http:
        response = await http.delete("/channels")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert_envelope(response.json(), "method-not-allowed")


@pytest.mark.asyncio
async def test_malformed_json_is_400() -> None:
    """A body that is not JSON is a 400 invalid-request, not a 422 or a 500."""
    async with client(make_app()) as http:
        response = await http.post(
            "/calls", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert_envelope(response.json(), "invalid-request")


@pytest.mark.asyncio
async def test_a_bad_extension_names_the_field() -> None:
    """A letter in an extension: 400, and the message names body.to_extension."""
    async with client(make_app()) as http:
        response = await http.post(
            "/calls", json={"from_extension": "1000", "to_extension": "20x0"}
        )
    error = assert_envelope(response.json(), "invalid-request")
    assert response.status_code == 400
    assert error["details"]["field"] == "body.to_extension"
    assert error["message"].startswith("body.to_extension:")


@pytest.mark.asyncio
async def test_numbers_are_not_coerced_to_extensions() -> None:
    """Strict input: 1000 (a JSON number) is not the extension "1000"."""
    async with client(make_app()) as http:
        response = await http.post("/calls", json={"from_extension": 1000, "to_extension": "2000"})
    assert response.json()["error"]["details"]["field"] == "body.from_extension"


@pytest.mark.asyncio
async def test_unknown_fields_are_refused() -> None:
    """A misspelt field is an error, not silently ignored."""
    async with client(make_app()) as http:
        response = await http.post(
            "/calls", json={"from_extension": "1000", "to_extension": "2000", "too": "x"}
        )
    assert response.json()["error"]["details"]["field"] == "body.too"


@pytest.mark.asyncio
async def test_a_channel_id_with_bad_characters_is_400() -> None:
    """Channel ids are bounded and limited to ARI's alphabet."""
    async with client(make_app()) as http:
        response = await http.get("/channels/" + "x" * 200)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "path.channel_id"


@pytest.mark.asyncio
async def test_bad_query_parameter_is_400_naming_it() -> None:
    """limit=0 on /calls names query.limit."""
    async with client(make_app()) as http:
        response = await http.get("/calls", params={"limit": "0"})
    assert response.json()["error"]["details"]["field"] == "query.limit"


@pytest.mark.asyncio
async def test_openapi_documents_400_envelopes_not_422() -> None:
    """The document promises what the API does: 400 ErrorOut, never FastAPI's 422."""
    async with client(make_app()) as http:
        schema = (await http.get("/openapi.json")).json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert all("422" not in op["responses"] for op in operations)
    assert all("400" in op["responses"] for op in operations)
