"""Who may use the API: ``Authorization: Bearer <CTI_API_TOKEN>``, or the web console's session.

:class:`AuthGate` is an ASGI middleware that decides before anything else runs, so a request
without valid credentials is refused before its body is read or parsed: it learns nothing about
its input (401, never 400) and costs no parsing. It admits:

- a bearer token (compared with :func:`hmac.compare_digest`, so it cannot be found by timing);
- the console's session cookie (:mod:`stasis_app.http.session`); a request with the cookie that
  changes something (not GET/HEAD) must also carry the session's CSRF token and, when the
  browser says where it comes from (``Origin``), come from this same origin: 403 otherwise.

A few routes are open: the sign-in page and sign-in itself, /health, the API docs and the
console's static files (no secrets in them). A console page asked for without a session
redirects to the sign-in page instead of answering 401.

Browsers cannot set headers on a WebSocket, so ``/events`` checks its own credentials and also
accepts ``?token=``; the price is that the token may land in proxy access logs and browser
history, which is why the header is preferred wherever the client can send one (the console
uses Server-Sent Events with its cookie).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from stasis_app.errors import ApiError, ConfigError, CsrfRejected, InvalidRequest, Unauthorized
from stasis_app.http.errors import error_response
from stasis_app.http.session import COOKIE, CSRF_HEADER, Session, Sessions

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Open to anyone: (method, path). HEAD is treated as GET.
OPEN = frozenset(
    {
        ("GET", "/"),
        ("POST", "/session"),
        ("GET", "/health"),
        ("GET", "/livez"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
        ("GET", "/favicon.ico"),
    }
)
OPEN_PREFIXES = ("/console/static/", "/docs/static/")
PAGES = "/console"  # HTML pages: without a session, back to the sign-in page
SESSION_KEY = "cti_session"  # where the gate leaves the session in request.state


def token_matches(presented: str | None, token: str) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), token.encode())


def bearer_from_header(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else None."""
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


# Module-level so FastAPI can resolve the annotation below (this module postpones annotations).
_scheme = HTTPBearer(auto_error=False, description="The worker's CTI_API_TOKEN")


def is_open(method: str, path: str, opened: frozenset[tuple[str, str]] = OPEN) -> bool:
    method = "GET" if method == "HEAD" else method
    return method == "OPTIONS" or (method, path) in opened or path.startswith(OPEN_PREFIXES)


def same_origin(headers: Headers, scheme: str) -> bool:
    """Whether the browser's ``Origin`` (when it sent one) is this server's own."""
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-origin request: the CSRF token decides
    return origin == f"{scheme}://{headers.get('host', '')}"


class AuthGate:
    """The ASGI middleware described in the module docstring."""

    def __init__(
        self, app: ASGIApp, *, token: str, sessions: Sessions, also_open: tuple[str, ...] = ()
    ) -> None:
        if not token:
            raise ConfigError("CTI_API_TOKEN", "must not be empty")
        self.app = app
        self.token = token
        self.sessions = sessions
        # OPEN plus the GET paths a setting opens (/metrics with CTI_METRICS_PUBLIC).
        self.opened = OPEN | {("GET", path) for path in also_open}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["method"], scope["path"], self.opened):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        """The answer to a request that may not pass, or None (its session, if it came with
        one, is then left in ``scope["state"]`` for the routes)."""
        headers = Headers(scope=scope)
        if "authorization" in headers:
            bearer = bearer_from_header(headers.get("authorization"))
            if bearer is not None and token_matches(bearer, self.token):
                return None
            return _deny(Unauthorized("wrong bearer token"))
        session = self.sessions.check(cookie_parser(headers.get("cookie", "")).get(COOKIE))
        if session is None:
            if scope["method"] in ("GET", "HEAD") and scope["path"].startswith(PAGES):
                return RedirectResponse("/", status_code=303)
            return _deny(
                Unauthorized(
                    "missing credentials: send Authorization: Bearer <CTI_API_TOKEN>, "
                    "or sign in at / for a session"
                )
            )
        forged = self._forged(scope, headers, session)
        if forged is not None:
            return _deny(forged)
        scope.setdefault("state", {})[SESSION_KEY] = session
        return None

    def _forged(self, scope: Scope, headers: Headers, session: Session) -> CsrfRejected | None:
        """Why a change made with the session cookie looks forged (None: it does not)."""
        if scope["method"] in SAFE_METHODS:
            return None
        if not same_origin(headers, scope.get("scheme", "http")):
            return CsrfRejected("comes from another origin")
        if not self.sessions.csrf_matches(session, headers.get(CSRF_HEADER)):
            return CsrfRejected(f"has no valid {CSRF_HEADER} header (GET /session)")
        return None


def _deny(problem: ApiError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return error_response(problem.status, problem.code, problem.message, None, headers)


def session_of(request: Request) -> Session | None:
    """The console session the gate admitted this request with (None: a bearer token)."""
    found = getattr(request.state, SESSION_KEY, None)
    return found if isinstance(found, Session) else None


async def documented_bearer(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
) -> None:
    """Declares the bearer scheme in the OpenAPI document (Swagger's "Authorize" button); the
    check itself is :class:`AuthGate`'s, before any of this runs."""


async def no_unknown_query(request: Request) -> None:
    """Refuse query parameters the operation does not declare (a misspelt filter would
    otherwise be silently ignored and return everything). Our query parameters are all declared
    on the endpoints themselves, never in sub-dependencies, so the endpoint's list is complete."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    known = {p.alias for p in dependant.query_params} if dependant else set()
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InvalidRequest(f"query.{unknown[0][:40]}", "is not a parameter of this operation")


__all__ = [
    "AuthGate",
    "bearer_from_header",
    "documented_bearer",
    "is_open",
    "no_unknown_query",
    "same_origin",
    "session_of",
    "token_matches",
]
