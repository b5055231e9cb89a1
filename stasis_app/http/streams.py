"""The live screen-pop stream: ``/events`` (WebSocket) and ``/events/sse`` (Server-Sent Events).

Both carry the :class:`~stasis_app.events.bus.EventBus` screen pops as JSON objects (``type`` is
``ringing``, ``answered``, ``transferred``, ``ended`` or ``overflow``), optionally filtered by
``?extension=``. A WebSocket cannot carry an ``Authorization`` header from a browser, so it also
accepts ``?token=`` (see :mod:`stasis_app.http.auth` for the trade-off). Both end when the bus
closes at shutdown, so the server can stop without waiting for clients to leave. Their number
is bounded (``CTI_MAX_SUBSCRIBERS``): one more SSE stream is answered 503 ``too-many-subscribers``
and one more WebSocket is refused the same way (or closed with 1013 "try again later" where the
server cannot answer a handshake with HTTP).

Resume: each item's ``event_id`` is its cursor (the SSE ``id:``). A reconnecting client names
the last one it received, SSE in ``Last-Event-ID`` (browsers send it on their own) or
``?after=``, the WebSocket in ``?after=``; it first gets what it missed (filtered as before) or a
``missed`` item when the bus no longer holds that id (see :mod:`stasis_app.events.bus`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, WebSocket
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.websockets import WebSocketDisconnect

from stasis_app.errors import SubscriberLimit, TooManySubscribers
from stasis_app.events.bus import EventBus, Subscription
from stasis_app.http.auth import bearer_from_header, token_matches
from stasis_app.http.errors import error_response
from stasis_app.http.models import EXTENSION_PATTERN, ID_PATTERN, ErrorOut
from stasis_app.http.routes import AUTH_ERRORS

ExtensionFilter = Annotated[
    str | None,
    Query(pattern=EXTENSION_PATTERN, description="Only calls this extension took part in"),
]
# Our ids are uuid hex; any other well-formed id is merely unknown (-> missed).
CURSOR_PATTERN = ID_PATTERN
AfterCursor = Annotated[
    str | None,
    Query(pattern=CURSOR_PATTERN, description="Resume after this event_id (the last received)"),
]
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        pattern=CURSOR_PATTERN,
        description="Sent by browsers on reconnecting; takes precedence over ?after=",
    ),
]
GOING_AWAY = 1001
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


def sse_router(bus: EventBus) -> APIRouter:
    router = APIRouter(tags=["events"], responses=AUTH_ERRORS)

    async def room_left() -> None:
        # Checked before the 200 is sent; the subscription itself is made by the stream, which
        # is what closes it (a subscription made here would leak if the stream never started).
        if bus.full:
            raise TooManySubscribers(bus.max_subscribers)

    @router.get(
        "/events/sse",
        response_class=EventSourceResponse,
        dependencies=[Depends(room_left)],
        responses={503: {"model": ErrorOut, "description": "Every event-stream slot is taken"}},
    )
    async def events_sse(
        extension: ExtensionFilter = None,
        after: AfterCursor = None,
        last_event_id: LastEventId = None,
    ) -> AsyncIterable[ServerSentEvent]:
        """Screen pops as Server-Sent Events (``data:`` is one JSON object per event, ``id:``
        its ``event_id``); a reconnecting client first gets what it missed, or ``missed``; 503
        ``too-many-subscribers`` when ``CTI_MAX_SUBSCRIBERS`` streams are open already."""
        # The header is the browser's latest position; ?after= in the URL it reconnects to is
        # the one it started from.
        cursor = last_event_id or after
        try:
            subscription = bus.subscribe(extension, after=cursor)
        except SubscriberLimit:  # taken since the check: the bound holds, this stream just ends
            return
        async with subscription:
            async for item in subscription:
                yield ServerSentEvent(data=item, id=item.get("event_id"))

    return router


def websocket_router(bus: EventBus, token: str) -> APIRouter:
    router = APIRouter()

    @router.websocket("/events")
    async def events_ws(websocket: WebSocket) -> None:
        presented = bearer_from_header(websocket.headers.get("authorization"))
        if not token_matches(presented or websocket.query_params.get("token"), token):
            await _deny(websocket, 401, "unauthorized", "missing or wrong token")
            return
        extension = websocket.query_params.get("extension")
        if extension is not None and not re.fullmatch(EXTENSION_PATTERN, extension):
            await _deny(websocket, 400, "invalid-request", "query.extension: must be 2-10 digits")
            return
        after = websocket.query_params.get("after")
        if after is not None and not re.fullmatch(CURSOR_PATTERN, after):
            await _deny(websocket, 400, "invalid-request", "query.after: not an event id")
            return
        # Subscribed before accepting, so nothing emitted after the handshake can be missed.
        try:
            subscription = bus.subscribe(extension, after=after)
        except SubscriberLimit as exc:
            refused = TooManySubscribers(exc.limit)
            await _deny(websocket, refused.status, refused.code, refused.message)
            return
        async with subscription:
            await websocket.accept()
            await _pump(websocket, subscription)

    return router


async def _deny(websocket: WebSocket, status: int, code: str, message: str) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            error_response(status, code, message, headers=_auth_header(status))
        )
    else:  # the server cannot answer the handshake with HTTP: refuse it
        await websocket.close(
            code=TRY_AGAIN_LATER if status == 503 else POLICY_VIOLATION, reason=code
        )


def _auth_header(status: int) -> dict[str, str] | None:
    return {"WWW-Authenticate": "Bearer"} if status == 401 else None


async def _pump(websocket: WebSocket, subscription: Subscription) -> None:
    """Forward screen pops until the client leaves or the bus closes."""

    async def forward() -> None:
        async for item in subscription:
            await websocket.send_json(item)

    async def until_client_leaves() -> None:
        # Clients do not send anything we act on; reading is how a disconnect is noticed.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    sender = asyncio.create_task(forward())
    watcher = asyncio.create_task(until_client_leaves())
    try:
        done, _ = await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        for task in (sender, watcher):
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
    if sender in done:  # the bus closed (shutdown): say so instead of just dropping
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=GOING_AWAY, reason="server shutting down")


__all__ = ["sse_router", "websocket_router"]
