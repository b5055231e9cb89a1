"""``create_app``: the FastAPI application, built from the worker's live objects.

Everything the routes touch is passed in (the registry, the bus, the call control, the queues,
the status), so tests build the app around fakes and drive it through ``httpx.ASGITransport``.
/health, /livez, /openapi.json, /docs and the console's sign-in page need no credentials;
everything else takes the bearer token or the console's session
(:class:`~stasis_app.http.auth.AuthGate`), /metrics too unless ``metrics_public``
(``CTI_METRICS_PUBLIC``). The docs pages load Swagger UI and ReDoc from the installed
``fastapi-offline`` package, never from a CDN. CORS is closed unless origins are given
(``CTI_CORS_ORIGINS``, a comma list). Bodies larger than ``max_body_bytes``
(``CTI_MAX_BODY_BYTES``) are refused with 413 before anything parses them
(:class:`~stasis_app.http.limits.BodyLimit`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from stasis_app import __version__
from stasis_app.calls.registry import LiveRegistry
from stasis_app.events.bus import EventBus
from stasis_app.http import errors
from stasis_app.http.auth import AuthGate, documented_bearer, no_unknown_query
from stasis_app.http.console import WEB, console_router
from stasis_app.http.limits import DEFAULT_MAX_BODY_BYTES, BodyLimit
from stasis_app.http.metrics import HttpCounts, RequestCounting, metrics_registry, metrics_router
from stasis_app.http.queues import queue_router
from stasis_app.http.routes import control_router, health_router, history_router, live_router
from stasis_app.http.seams import CallControl, CallHistory, QueueControl, WorkerStatus
from stasis_app.http.session import Sessions
from stasis_app.http.streams import sse_router, websocket_router
from stasis_app.http.transfers import transfer_router

DESCRIPTION = """Live channels, calls and endpoints, call control (transfer, hold), call queues and
their agents (login, logout, pause), call history and screen-pop events of the cti worker.

Send `Authorization: Bearer <CTI_API_TOKEN>` on every request except `/health`, `/livez`,
`/docs` and `/openapi.json` (and `/metrics` when `CTI_METRICS_PUBLIC=true`); the web console at
`/` signs in once and uses a session cookie instead, with an `X-CSRF-Token` header on changes.
`/health` answers 503 when the worker cannot serve calls, with the reasons in `problems`. Every
error is `{"error": {"code", "message", "details"}}`. The live event stream is a WebSocket at
`/events` (also accepts `?token=`) and Server-Sent Events at `/events/sse`.
"""


def create_app(
    *,
    registry: LiveRegistry,
    bus: EventBus,
    control: CallControl,
    queues: QueueControl,
    status: WorkerStatus,
    token: str,
    history: CallHistory | None = None,
    cors_origins: Sequence[str] = (),
    metrics_public: bool = False,
    now: Callable[[], float] = time.time,
    sessions: Sessions | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    app = FastAPIOffline(
        title="cti", version=__version__, description=DESCRIPTION, static_url="/docs/static"
    )
    sessions = sessions or Sessions(token)
    strict = [Depends(no_unknown_query)]
    auth = [Depends(documented_bearer), *strict]  # checked by AuthGate before any of this
    app.include_router(health_router(status, now), dependencies=strict)
    app.include_router(console_router(sessions, token), dependencies=strict)
    app.mount("/console/static", StaticFiles(directory=WEB / "static"), name="console-static")
    requests = HttpCounts()
    app.include_router(
        metrics_router(metrics_registry(status, requests), public=metrics_public),
        dependencies=strict if metrics_public else auth,
    )
    # Order matters: live_router's /calls/live must come before history's /calls/{call_id}.
    app.include_router(live_router(registry, control, now), dependencies=auth)
    app.include_router(control_router(registry, control), dependencies=auth)
    app.include_router(transfer_router(registry, control), dependencies=auth)
    app.include_router(queue_router(queues), dependencies=auth)
    app.include_router(history_router(history), dependencies=auth)
    app.include_router(sse_router(bus), dependencies=auth)
    app.include_router(websocket_router(bus, token))  # checks the token itself (?token=)
    errors.install(app)
    # Inside the gate (an unauthenticated client gets 401, whatever its body), outside the
    # routes and their error handlers (the 413 replaces whatever they say about a cut body).
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    # Outside the routes and the error handlers: nothing reads a body before it has decided.
    also_open = ("/metrics",) if metrics_public else ()
    app.add_middleware(AuthGate, token=token, sessions=sessions, also_open=also_open)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(RequestCounting, counts=requests)  # last: outermost, sees every status
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, corrected: validation errors are 400 envelopes here, never 422."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        error_ref = {"$ref": "#/components/schemas/ErrorOut"}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None or "400" not in responses:
                    responses.setdefault(
                        "400",
                        {
                            "description": "Invalid request (the message names the field)",
                            "content": {"application/json": {"schema": error_ref}},
                        },
                    )
        components = schema.get("components", {}).get("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
    return app.openapi_schema


__all__ = ["create_app"]
