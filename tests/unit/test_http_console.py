"""The web console's sign-in, session cookie and CSRF rules, and the offline docs pages.

Sessions are checked as a table of cookie values; the gate and the routes through the app in
process (httpx over ASGI). What a person sees in a browser is in tests/integration/test_console.py.
"""

from __future__ import annotations

import httpx
import pytest

from stasis_app.http.session import COOKIE, CSRF_HEADER, Sessions
from tests.unit.http_support import TOKEN, client, make_app

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def tampered(cookie: str, part: int, value: str) -> str:
    parts = cookie.split(".")
    parts[part] = value
    return ".".join(parts)


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        pytest.param(lambda c: c, True, id="as issued"),
        pytest.param(lambda c: tampered(c, 1, str(int(T0) + 10**6)), False, id="expiry moved"),
        pytest.param(lambda c: tampered(c, 0, "someone-else"), False, id="id swapped"),
        pytest.param(lambda c: tampered(c, 2, "A" * 43), False, id="signature forged"),
        pytest.param(lambda c: c + ".x", False, id="extra part"),
        pytest.param(lambda c: "", False, id="empty"),
        pytest.param(lambda c: "x" * 500, False, id="huge"),
        pytest.param(lambda c: "a.b.c", False, id="expiry not a number"),
    ],
)
def test_a_session_cookie_is_valid_only_as_issued(change: object, valid: bool) -> None:
    sessions = Sessions(TOKEN, now=Clock(T0))
    _, cookie = sessions.issue()
    assert callable(change)
    assert (sessions.check(change(cookie)) is not None) is valid


def test_a_session_ends_at_its_expiry_on_sign_out_and_with_a_new_token() -> None:
    clock = Clock(T0)
    sessions = Sessions(TOKEN, lifetime=3600, now=clock)
    session, cookie = sessions.issue()
    assert sessions.check(cookie) == session
    assert sessions.max_age(session) == 3600

    assert Sessions("another-token", now=clock).check(cookie) is None  # the key changed
    clock.at = T0 + 3600
    assert sessions.check(cookie) is None  # expired
    clock.at = T0
    sessions.revoke(session)
    assert sessions.check(cookie) is None  # signed out


def test_the_csrf_token_belongs_to_its_session() -> None:
    sessions = Sessions(TOKEN, now=Clock(T0))
    one, _ = sessions.issue()
    two, _ = sessions.issue()
    assert sessions.csrf_matches(one, sessions.csrf(one))
    assert not sessions.csrf_matches(one, sessions.csrf(two))
    assert not sessions.csrf_matches(one, None)
    assert not sessions.csrf_matches(one, "")


async def signed_in(http: httpx.AsyncClient) -> str:
    """Sign in as the page does; returns the session's CSRF token."""
    answer = await http.post("/session", json={"token": TOKEN})
    assert answer.status_code == 204, answer.text
    session = await http.get("/session")
    assert session.status_code == 200, session.text
    return str(session.json()["csrf"])


@pytest.mark.asyncio
async def test_signing_in_sets_an_http_only_same_site_strict_cookie() -> None:
    async with client(make_app(), auth=False) as http:
        answer = await http.post("/session", json={"token": TOKEN})
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert TOKEN not in cookie


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "kind", "status", "where"),
    [
        pytest.param({"json": {"token": "wrong"}}, "json", 401, None, id="wrong token, JSON"),
        pytest.param({"data": {"token": "wrong"}}, "form", 303, "/?failed=1", id="wrong, form"),
        pytest.param({"data": {"token": TOKEN}}, "form", 303, "/console/", id="right, form"),
        pytest.param({"json": {"tok": TOKEN}}, "json", 400, None, id="no token field"),
        pytest.param({"content": b"{", "headers": {"content-type": "application/json"}}, "json",
                     400, None, id="malformed JSON"),
        pytest.param({"content": b"token=" + b"x" * 5000,
                      "headers": {"content-type": "application/x-www-form-urlencoded"}}, "form",
                     400, None, id="too long"),
        pytest.param({"content": b"hello", "headers": {"content-type": "text/plain"}}, "text",
                     400, None, id="neither JSON nor form"),
    ],
)  # fmt: skip
async def test_sign_in_answers(
    body: dict[str, object], kind: str, status: int, where: str | None
) -> None:
    async with client(make_app(), auth=False) as http:
        answer = await http.post("/session", **body)  # type: ignore[arg-type]
    assert answer.status_code == status, (kind, answer.text)
    assert answer.headers.get("location") == where
    assert ("set-cookie" in answer.headers) is (where == "/console/")


@pytest.mark.asyncio
async def test_the_session_opens_the_api_and_the_pages() -> None:
    async with client(make_app(), auth=False) as http:
        await signed_in(http)
        channels = await http.get("/channels")
        page = await http.get("/console/")
        assert (await http.get("/")).headers["location"] == "/console/"
    assert channels.status_code == 200
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("csrf", "origin", "passes"),
    [
        pytest.param(None, None, False, id="no CSRF token"),
        pytest.param("forged", None, False, id="wrong CSRF token"),
        pytest.param("right", "https://evil.example", False, id="right token, other origin"),
        pytest.param("right", "http://cti.test", True, id="right token, same origin"),
        pytest.param("right", None, True, id="right token, no Origin (not a browser)"),
    ],
)
async def test_a_change_made_with_the_cookie_needs_the_csrf_token(
    csrf: str | None, origin: str | None, passes: bool
) -> None:
    async with client(make_app(), auth=False) as http:
        token = await signed_in(http)
        headers = {CSRF_HEADER: token if csrf == "right" else csrf, "Origin": origin}
        sent = {name: value for name, value in headers.items() if value is not None}
        answer = await http.post("/agents/1000/pause", headers=sent)
    if passes:
        assert answer.status_code not in (401, 403), answer.text
    else:
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "csrf-rejected")


@pytest.mark.asyncio
async def test_without_credentials_the_api_is_401_and_the_pages_go_to_sign_in() -> None:
    async with client(make_app(), auth=False) as http:
        api = await http.get("/calls/live")
        page = await http.get("/console/agent")
        home = await http.get("/")
        session = await http.get("/session")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == "Bearer"
    assert (page.status_code, page.headers["location"]) == (303, "/")
    assert home.status_code == 200
    assert 'action="/session"' in home.text
    assert session.status_code == 401


@pytest.mark.asyncio
async def test_signing_out_ends_the_session_even_for_a_copied_cookie() -> None:
    async with client(make_app(), auth=False) as http:
        csrf = await signed_in(http)
        copied = http.cookies[COOKIE]
        out = await http.delete("/session", headers={CSRF_HEADER: csrf})
        assert out.status_code == 204
        assert COOKIE not in http.cookies  # the browser is told to forget it
        replayed = await http.get("/channels", headers={"Cookie": f"{COOKIE}={copied}"})
    assert replayed.status_code == 401


@pytest.mark.asyncio
async def test_a_wrong_bearer_token_is_not_rescued_by_a_cookie() -> None:
    async with client(make_app(), auth=False) as http:
        await signed_in(http)
        answer = await http.get("/channels", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401


@pytest.mark.asyncio
async def test_no_body_is_read_before_the_credentials_are_checked() -> None:
    """Malformed JSON without credentials is 401: the gate answers before anything parses."""
    async with client(make_app(), auth=False) as http:
        answer = await http.post(
            "/calls", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert answer.status_code == 401


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    [
        "/docs",
        "/redoc",
        "/docs/static/swagger-ui-bundle.js",
        "/docs/static/swagger-ui.css",
        "/console/static/api.js",
        "/console/static/console.css",
    ],
)
async def test_docs_and_console_assets_are_served_from_here(path: str) -> None:
    """Nothing a page needs comes from a CDN: /docs names only local assets."""
    async with client(make_app(), auth=False) as http:
        answer = await http.get(path)
    assert answer.status_code == 200
    assert "cdn.jsdelivr.net" not in answer.text[:5000]
    assert "unpkg.com" not in answer.text[:5000]
