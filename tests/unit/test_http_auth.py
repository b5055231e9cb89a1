"""Specification of API authentication and CORS."""

from __future__ import annotations

import pytest

from stasis_app.errors import ConfigError
from stasis_app.http.auth import AuthGate
from stasis_app.http.session import Sessions
from tests.unit.http_support import client, make_app


@pytest.mark.asyncio
async def test_no_token_is_401_with_a_bearer_challenge() -> None:
    """Without Authorization: 401 unauthorized envelope and WWW-Authenticate: Bearer."""
    async with client(make_app(), auth=False) as http:
        response = await http.get("/channels")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.asyncio
async def test_wrong_token_is_401() -> None:
    """A wrong bearer token is refused like a missing one."""
    async with client(make_app(), auth=False) as http:
        response = await http.get("/endpoints", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


@pytest.mark.asyncio
async def test_other_schemes_are_401() -> None:
    """Basic auth carrying the token is not a bearer token."""
    async with client(make_app(), auth=False) as http:
        response = await http.get("/channels", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert response.status_code == 401


@pytest.mark.asyncio
async def test_auth_is_checked_before_input() -> None:
    """An unauthenticated request learns nothing about its input: 401, not 400."""
    async with client(make_app(), auth=False) as http:
        response = await http.post("/calls", json={"from_extension": "x"})
    assert response.status_code == 401


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/docs"])
async def test_health_and_docs_need_no_token(path: str) -> None:
    """/health, the OpenAPI document and the docs page are open."""
    async with client(make_app(), auth=False) as http:
        response = await http.get(path)
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_cors_is_closed_by_default() -> None:
    """Without configured origins, no CORS header is ever sent."""
    async with client(make_app()) as http:
        response = await http.get("/channels", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.asyncio
async def test_cors_allows_configured_origins() -> None:
    """CTI_CORS_ORIGINS opens the API to exactly those origins."""
    app = make_app(cors_origins=("https://desk.example",))
    async with client(app) as http:
        allowed = await http.get("/channels", headers={"Origin": "https://desk.example"})
        other = await http.get("/channels", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://desk.example"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.asyncio
async def test_cors_preflight_allows_delete() -> None:
    """Hangup, unhold and cancel are DELETEs: a configured origin's preflight allows them."""
    app = make_app(cors_origins=("https://desk.example",))
    headers = {"Origin": "https://desk.example", "Access-Control-Request-Method": "DELETE"}
    async with client(app, auth=False) as http:
        response = await http.options("/transfers/x-t1", headers=headers)
    assert response.status_code == 200
    assert "DELETE" in response.headers["access-control-allow-methods"]


def test_an_empty_token_is_refused_at_startup() -> None:
    """An API without a token would be open to anyone: fail fast, naming the variable."""

    async def app(scope: object, receive: object, send: object) -> None: ...

    with pytest.raises(ConfigError, match="CTI_API_TOKEN"):
        AuthGate(app, token="", sessions=Sessions("x"))
