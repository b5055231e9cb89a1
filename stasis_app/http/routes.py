"""The REST routes: health, live channels/bridges/endpoints/calls, call control, call history.

Reads come from snapshots (the registry's, and the calls' own for ``/calls/live``; no ARI request
per HTTP request); writes go through the worker's :class:`~stasis_app.http.seams.CallControl`. A
channel id the registry does not know is a 404 before the worker is bothered. Transfers are in
:mod:`stasis_app.http.transfers`.

``GET /calls/live`` is declared by :func:`live_router`, which the app includes before
:func:`history_router`: otherwise ``/calls/{call_id}`` would take "live" for a call id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status

from stasis_app.calls.registry import LiveRegistry
from stasis_app.errors import ChannelNotFound, HistoryUnavailable, InvalidRequest
from stasis_app.health import problems, verdict
from stasis_app.http.models import (
    EXTENSION_PATTERN,
    ID_PATTERN,
    BridgeList,
    BridgeOut,
    CallCreated,
    CallDetailOut,
    CallList,
    CallRequest,
    CallSummaryOut,
    ChannelList,
    ChannelOut,
    DeadLetterList,
    DeadLetterOut,
    EndpointList,
    EndpointOut,
    ErrorOut,
    HealthOut,
    LiveCallList,
    LiveCallOut,
    LiveOut,
    PartyOut,
    ProblemOut,
    ShippingOut,
    StoreOut,
    TimelineEventOut,
    TransferOut,
    TransferRequest,
)
from stasis_app.http.seams import CallControl, CallHistory, WorkerStatus

ChannelIdPath = Annotated[
    str,
    Path(
        pattern=ID_PATTERN,
        max_length=128,
        description="An ARI channel id, e.g. 1732614000.123 or 1732614000.123-leg1",
    ),
]
Err = {"model": ErrorOut}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: Err,
    401: Err,
    403: {
        "model": ErrorOut,
        "description": "csrf-rejected: a change sent with the console's session cookie "
        "without its X-CSRF-Token, or from another origin",
    },
}


def error_responses(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` naming, per status, the error codes an operation can answer with."""
    return {status: {"model": ErrorOut, "description": text} for status, text in codes.items()}


NO_CHANNEL = "channel-not-found: no live channel with that id"
NO_EXTENSION = "extension-not-found: no PJSIP endpoint with that number"
UNAVAILABLE = "extension-unavailable: the extension is not registered"
CONFLICT = "call-state-conflict: the call cannot do that now (details.reason says why)"


def health_router(status_of: WorkerStatus, now: Callable[[], float]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        "/health",
        response_model=HealthOut,
        responses={
            400: Err,
            503: {
                "model": HealthOut,
                "description": "The worker cannot serve calls; ``problems`` says why",
            },
        },
    )
    async def health(response: Response) -> HealthOut:
        """Readiness: 200 when the worker can serve calls (``status`` ok or degraded), 503
        with the blocking ``problems`` when it cannot (ARI disconnected, the call store failing,
        a background task dead). Needs no token (for load balancers). Read at request time,
        without I/O; the rules are in :mod:`stasis_app.health`."""
        found = problems(status_of.health_facts)
        overall = verdict(found)
        if overall == "unavailable":
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        started = status_of.asterisk_started
        uptime = round(max(0.0, now() - started.timestamp()), 3) if started else None
        lag = status_of.loop_lag
        store = status_of.store_status
        sink = status_of.sink_status
        return HealthOut(
            status=overall,
            problems=[ProblemOut.model_validate(p) for p in found],
            ari_connected=status_of.ari_connected,
            reconnects=status_of.reconnects,
            asterisk_version=status_of.asterisk_version,
            asterisk_started=started,
            asterisk_uptime=uptime,
            version=status_of.version,
            loop_lag_max_ms=lag.max_ms,
            loop_lag_recent_p99_ms=lag.recent_p99_ms,
            loop_lag_recent_max_ms=lag.recent_max_ms,
            store=StoreOut.model_validate(store),
            shipping=ShippingOut.model_validate(sink) if sink is not None else None,
        )

    @router.get("/livez", response_model=LiveOut, responses={400: Err})
    async def livez() -> LiveOut:
        """Liveness: the process and its event loop answer. Nothing else is checked, so a
        restart is never triggered by Asterisk or Elasticsearch being away (the worker
        reconnects by itself). Needs no token."""
        return LiveOut()

    return router


def live_router(
    registry: LiveRegistry, control: CallControl, now: Callable[[], float]
) -> APIRouter:
    router = APIRouter(tags=["live"], responses=AUTH_ERRORS)

    @router.get("/calls/live", response_model=LiveCallList)
    async def live_calls() -> LiveCallList:
        """Every live call, oldest first, with its parties (channel, extension, role, state) and
        the attended transfer in progress, if any. ``duration`` is seconds since it started."""
        at = now()
        return LiveCallList(
            calls=[
                LiveCallOut(
                    id=c.id,
                    caller_number=c.caller_number,
                    caller_name=c.caller_name,
                    dialed=c.dialed,
                    stage=c.stage,
                    started=datetime.fromtimestamp(c.started, UTC),
                    duration=round(max(0.0, at - c.started), 3),
                    bridge_id=c.bridge_id,
                    parties=[PartyOut.model_validate(p) for p in c.parties],
                    transfer=TransferOut.model_validate(c.transfer) if c.transfer else None,
                    ivr_path=list(c.ivr_path),
                    queue=c.queue,
                )
                for c in control.live_calls()
            ]
        )

    @router.get("/channels", response_model=ChannelList)
    async def list_channels() -> Response:
        """Every live channel of our app, oldest first."""
        # The busiest read, on the ARI loop: the registry writes the JSON itself (cached per
        # channel). Building a ChannelOut per channel and letting FastAPI validate the list
        # again cost ~3.5 ms of loop time with 500 channels. The JSON is ChannelList's
        # (tests/unit/test_http_routes.py compares them).
        return Response(registry.channels_json(), media_type="application/json")

    @router.get("/channels/{channel_id}", response_model=ChannelOut, responses={404: Err})
    async def get_channel(channel_id: ChannelIdPath) -> ChannelOut:
        view = registry.channel(channel_id)
        if view is None:
            raise ChannelNotFound(channel_id)
        return ChannelOut.model_validate(view)

    @router.get("/bridges", response_model=BridgeList)
    async def list_bridges() -> BridgeList:
        return BridgeList(bridges=[BridgeOut.model_validate(b) for b in registry.bridges()])

    @router.get("/endpoints", response_model=EndpointList)
    async def list_endpoints() -> EndpointList:
        """Every PJSIP endpoint with its registration state and contacts."""
        return EndpointList(endpoints=[EndpointOut.model_validate(e) for e in registry.endpoints()])

    return router


def control_router(registry: LiveRegistry, control: CallControl) -> APIRouter:
    router = APIRouter(tags=["call control"], responses=AUTH_ERRORS)

    def known(channel_id: str) -> None:
        if registry.channel(channel_id) is None:
            raise ChannelNotFound(channel_id)

    @router.post(
        "/calls",
        response_model=CallCreated,
        status_code=status.HTTP_201_CREATED,
        responses={404: Err, 409: Err},
    )
    async def click_to_dial(request: Annotated[CallRequest, Body()]) -> CallCreated:
        """Click-to-dial: ring ``from_extension``; when it answers, connect it to
        ``to_extension``. 404 for an unknown extension, 409 when one is not registered."""
        if request.from_extension == request.to_extension:
            raise InvalidRequest("body.to_extension", "must differ from from_extension")
        call_id = await control.click_to_dial(request.from_extension, request.to_extension)
        return CallCreated(call_id=call_id)

    @router.delete(
        "/channels/{channel_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses({404: NO_CHANNEL}),
    )
    async def hangup(channel_id: ChannelIdPath) -> Response:
        """Hang up a live channel (one party); the rest of its call goes on or ends as usual."""
        known(channel_id)
        await control.hangup(channel_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/channels/{channel_id}/hangup",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses({404: NO_CHANNEL}),
    )
    async def hangup_alias(channel_id: ChannelIdPath) -> Response:
        """The same as ``DELETE /channels/{channel_id}`` (kept for existing clients)."""
        return await hangup(channel_id)

    @router.post(
        "/channels/{channel_id}/transfer",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses({404: f"{NO_CHANNEL}; {NO_EXTENSION}", 409: UNAVAILABLE}),
    )
    async def transfer(
        channel_id: ChannelIdPath, request: Annotated[TransferRequest, Body()]
    ) -> Response:
        """Blind-transfer the channel's call to an extension. Given a phone's leg (an agent's),
        the party it talks to moves, which is what an agent's "transfer" button means; given
        the caller's channel, the caller moves. ``POST /transfers`` always names the moved
        party, and also does attended transfers."""
        known(channel_id)
        await control.transfer(channel_id, request.extension)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/channels/{channel_id}/hold",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses({404: NO_CHANNEL, 409: CONFLICT}),
    )
    async def hold(channel_id: ChannelIdPath) -> Response:
        """Put on hold the party this channel talks to: that party hears music. 409 when the
        channel talks to no one, or already holds."""
        known(channel_id)
        await control.hold(channel_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.delete(
        "/channels/{channel_id}/hold",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses({404: NO_CHANNEL, 409: CONFLICT}),
    )
    async def unhold(channel_id: ChannelIdPath) -> Response:
        """Take the held party back: the two talk again. 409 when the channel holds no one."""
        known(channel_id)
        await control.unhold(channel_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router


def history_router(history: CallHistory | None) -> APIRouter:
    router = APIRouter(tags=["call history"], responses={**AUTH_ERRORS, 503: Err})

    def store() -> CallHistory:
        if history is None:
            raise HistoryUnavailable()
        return history

    @router.get("/calls", response_model=CallList)
    async def list_calls(
        *,
        since: Annotated[datetime | float | None, Query(description=SINCE)] = None,
        until: Annotated[datetime | float | None, Query(description=UNTIL)] = None,
        caller: Annotated[str | None, Query(pattern=CALLER_PATTERN)] = None,
        extension: Annotated[str | None, Query(pattern=EXTENSION_PATTERN)] = None,
        disposition: Annotated[str | None, Query(pattern=DISPOSITION_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> CallList:
        """Recorded calls, newest first, filtered by start time, caller, extension (dialed or
        final callee) and disposition (``in-progress`` for calls not ended); 503 when the worker
        keeps no history. A time without a zone is taken as UTC."""
        calls = await asyncio.to_thread(
            store().list_calls,
            since=_epoch(since),
            until=_epoch(until),
            caller=caller,
            extension=extension,
            disposition=disposition,
            limit=limit,
            offset=offset,
        )
        return CallList(calls=[CallSummaryOut.model_validate(c.to_dict()) for c in calls])

    @router.get("/calls/{call_id}", response_model=CallDetailOut, responses={404: Err})
    async def get_call(
        call_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=128)],
    ) -> CallDetailOut:
        detail = await asyncio.to_thread(store().get_call, call_id)
        return CallDetailOut(
            summary=CallSummaryOut.model_validate(detail.summary.to_dict()),
            events=[TimelineEventOut.model_validate(e) for e in detail.events],
        )

    @router.get("/dead-letters", response_model=DeadLetterList)
    async def dead_letters(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DeadLetterList:
        """Call events Elasticsearch rejected for their content (kept, never shipped), newest
        first. ``cti calls dead-letters --retry`` queues them again once the cause is fixed."""
        letters = await asyncio.to_thread(store().dead_letters, limit)
        return DeadLetterList(dead_letters=[DeadLetterOut.model_validate(d) for d in letters])

    return router


__all__ = ["control_router", "error_responses", "health_router", "history_router", "live_router"]


# Caller numbers may carry a leading + (E.164) and be longer than our extensions.
CALLER_PATTERN = r"^\+?[0-9]{1,32}$"
DISPOSITION_PATTERN = r"^[a-z][a-z-]{0,31}$"


SINCE = "calls started at or after this time: ISO 8601, or Unix seconds"
UNTIL = "calls started before this time: ISO 8601, or Unix seconds"


def _epoch(moment: datetime | float | None) -> float | None:
    if moment is None or isinstance(moment, float):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
