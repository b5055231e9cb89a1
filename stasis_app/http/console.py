"""The web console on the API's own port: sign-in, the wallboard, the agent desktop, history.

The pages are plain HTML and ES modules from ``web/`` (no build step, nothing fetched from
elsewhere); they read the REST API and the ``/events/sse`` stream with the session cookie that
signing in sets (:mod:`stasis_app.http.session`; :class:`~stasis_app.http.auth.AuthGate`
enforces it).
Decision record: docs/decisions/0010-web-console.md.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from stasis_app.errors import InvalidRequest, Unauthorized
from stasis_app.http.auth import session_of, token_matches
from stasis_app.http.routes import AUTH_ERRORS
from stasis_app.http.session import COOKIE, Sessions

WEB = Path(__file__).with_name("web")
SIGN_IN_BODY_LIMIT = 4096  # a token and a little form encoding; anything longer is not a sign-in
# Pages get a strict policy: scripts, styles and connections only from here, no framing.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# path -> (title, the page's module in web/static/)
PAGES = {
    "/console/": ("Wallboard", "wallboard.js"),
    "/console/agent": ("Agent desktop", "agent.js"),
    "/console/history": ("History", "history.js"),
}
# Every page is this shell: its module builds the rest (a page without JavaScript says so).
SHELL = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · cti</title>
  <link rel="stylesheet" href="/console/static/console.css">
  <script type="module" src="/console/static/{module}"></script>
</head>
<body>
  <div id="header"></div>
  <main id="main" aria-busy="true">
    <noscript>The console needs JavaScript; the REST API (/docs) does not.</noscript>
  </main>
</body>
</html>
"""


_TOKEN_FIELD = {
    "type": "object",
    "required": ["token"],
    "properties": {"token": {"type": "string", "description": "The API token"}},
}
SIGN_IN_BODY = {
    "application/json": {"schema": _TOKEN_FIELD},
    "application/x-www-form-urlencoded": {"schema": _TOKEN_FIELD},
}


class SessionOut(BaseModel):
    csrf: str = Field(description="Send it as X-CSRF-Token on every change made with the cookie")
    expires: int = Field(description="When the session ends (Unix seconds)")


def page(name: str) -> FileResponse:
    return FileResponse(WEB / name, media_type="text/html", headers=PAGE_HEADERS)


def shell(title: str, module: str) -> HTMLResponse:
    return HTMLResponse(SHELL.format(title=title, module=module), headers=PAGE_HEADERS)


def console_router(sessions: Sessions, token: str) -> APIRouter:
    router = APIRouter(tags=["console"], responses=AUTH_ERRORS)

    @router.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        if sessions.check(request.cookies.get(COOKIE)) is not None:
            return RedirectResponse("/console/", status_code=status.HTTP_303_SEE_OTHER)
        return page("signin.html")

    @router.post(
        "/session",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses={303: {"description": "From an HTML form: on to the console, or back"}},
        openapi_extra={"requestBody": {"required": True, "content": SIGN_IN_BODY}},
    )
    async def sign_in(request: Request) -> Response:
        """Sign in to the web console with the API token, sent as JSON ``{"token": ...}`` or
        as the form field ``token``; the answer sets an HttpOnly, SameSite=Strict session
        cookie. A wrong token is 401 (from a form: back to the sign-in page)."""
        presented, from_form = await _presented_token(request)
        if not token_matches(presented, token):
            if from_form:
                return RedirectResponse("/?failed=1", status_code=status.HTTP_303_SEE_OTHER)
            raise Unauthorized("wrong token")
        session, cookie = sessions.issue()
        response: Response = (
            RedirectResponse("/console/", status_code=status.HTTP_303_SEE_OTHER)
            if from_form
            else Response(status_code=status.HTTP_204_NO_CONTENT)
        )
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=sessions.max_age(session),
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    @router.get("/session", response_model=SessionOut)
    async def current_session(request: Request) -> SessionOut:
        """The signed-in page's CSRF token and when its session ends (401 without a session
        cookie: this is for the console's own pages)."""
        session = session_of(request)
        if session is None:
            raise Unauthorized("no console session: sign in at /")
        return SessionOut(csrf=sessions.csrf(session), expires=session.expires)

    @router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
    async def sign_out(request: Request) -> Response:
        """Sign out: the session ends and its cookie is cleared."""
        session = session_of(request)
        if session is not None:
            sessions.revoke(session)
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    for path, (title, module) in PAGES.items():
        router.add_api_route(
            path, _page_route(title, module), methods=["GET"], include_in_schema=False
        )
    return router


def _page_route(title: str, module: str) -> Callable[[], Awaitable[HTMLResponse]]:
    async def serve() -> HTMLResponse:
        return shell(title, module)

    return serve


async def _presented_token(request: Request) -> tuple[str, bool]:
    """(the token the sign-in carries, whether it came from an HTML form)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > SIGN_IN_BODY_LIMIT):
        raise InvalidRequest("body", f"a sign-in is at most {SIGN_IN_BODY_LIMIT} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > SIGN_IN_BODY_LIMIT:
            raise InvalidRequest("body", f"a sign-in is at most {SIGN_IN_BODY_LIMIT} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            raise InvalidRequest("body", "is not valid JSON") from None
        value = parsed.get("token") if isinstance(parsed, dict) else None
        if not isinstance(value, str):
            raise InvalidRequest("body.token", "must be a string: the API token")
        return value, False
    if kind == "application/x-www-form-urlencoded":
        fields = urllib.parse.parse_qs(
            body.decode("utf-8", errors="replace"), keep_blank_values=True
        )
        if "token" not in fields:
            raise InvalidRequest("body.token", "is missing: the API token")
        return fields["token"][0], True
    raise InvalidRequest("body", 'send the token as JSON {"token": ...} or as a form field')


__all__ = ["WEB", "SessionOut", "console_router"]
