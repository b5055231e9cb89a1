"""The one error envelope, and the handlers that put every failure into it.

``{"error": {"code": "channel-not-found", "message": "...", "details": {...}}}`` whatever went
wrong: our :class:`~stasis_app.errors.ApiError` tree, FastAPI's validation errors (400
``invalid-request`` naming the field, not 422), Starlette's 404/405 for unknown routes, Asterisk
failing us (502/503), and, as a last resort, any bug (500 ``internal-error``, logged with its
traceback). The last one is a pure ASGI middleware rather than an ``Exception`` handler because
Starlette re-raises after running such a handler, which would log every bug twice.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stasis_app.errors import ApiError, AriConnectionError, AriError, CallNotFound

log = structlog.get_logger("cti.http")

_STATUS_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(envelope(code, message, details), status_code=status, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "request"


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101 (registered for ApiError only)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    # The offending input is not echoed back: it may be large, binary, or a secret.
    problems = [
        {"field": _field(e.get("loc", ())), "problem": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"field": "request", "problem": "is invalid"}
    message = f"{first['field']}: {first['problem']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more)"
    return error_response(
        400, "invalid-request", message, {"field": first["field"], "errors": problems}
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = _STATUS_CODES.get(exc.status_code, f"http-{exc.status_code}")
    details: dict[str, Any] = {"path": request.url.path}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        details["method"] = request.method
        headers["Allow"] = ", ".join(_allowed(request))
    message = exc.detail if isinstance(exc.detail, str) else code
    return error_response(exc.status_code, code, message, details, headers)


def _allowed(request: Request) -> list[str]:
    """Every documented method at this path. Starlette lists only the first matching route's
    (GET /calls and POST /calls are two routes), which would tell clients a lie."""
    methods: set[str] = set()
    for template, allowed in _path_methods(request.app):
        if template.fullmatch(request.url.path):
            methods.update(allowed)
    return sorted(methods)


def _path_methods(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    cached: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allow", None)
    if cached is None:
        cached = []
        for path, operations in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
            cached.append((re.compile(pattern), {m.upper() for m in operations}))
        app.state.allow = cached
    return cached


async def _call_not_found(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CallNotFound)  # noqa: S101
    return error_response(404, "call-not-found", str(exc), {"call_id": exc.call_id})


async def _ari_error(_: Request, exc: Exception) -> JSONResponse:
    # Asterisk (or the way to it) failed: the request was fine, so a 5xx is honest here.
    log.warning("http.asterisk_failed", error=str(exc))
    if isinstance(exc, AriConnectionError):
        return error_response(503, "asterisk-unavailable", "Asterisk cannot be reached now")
    return error_response(502, "asterisk-error", "Asterisk refused the operation")


def install(app: FastAPI) -> None:
    """Route every failure of ``app`` into the envelope."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(CallNotFound, _call_not_found)
    app.add_exception_handler(AriError, _ari_error)
    app.add_middleware(CatchAll)


class CatchAll:
    """Turn an unexpected exception into a logged 500 ``internal-error`` envelope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("http.internal_error", method=scope.get("method"), path=scope["path"])
            if started:  # too late for an envelope; let the server drop the connection
                raise
            response = error_response(500, "internal-error", "the server failed; see its log")
            await response(scope, receive, send)


__all__ = ["CatchAll", "envelope", "error_response", "install"]
