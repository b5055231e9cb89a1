"""Specification of the live event stream: WebSocket /events and SSE /events/sse."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from stasis_app.events import CallEvent
from stasis_app.events import catalogue as ev
from stasis_app.events.bus import EventBus
from stasis_app.http import ApiServer
from tests.unit.http_support import AUTH, EPOCH0, TOKEN, call_event, client, make_app


@contextlib.asynccontextmanager
async def serving(bus: EventBus) -> AsyncIterator[str]:
    """The app on a real uvicorn server (ephemeral port): ws://host:port."""
    server = ApiServer(make_app(bus=bus), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"ws://127.0.0.1:{server.bound_port}"
    finally:
        bus.close()
        await server.stop()


async def subscribed(bus: EventBus, count: int = 1) -> None:
    async with asyncio.timeout(2):
        while bus.subscribers < count:  # noqa: ASYNC110 (the bus has no hook for this)
            await asyncio.sleep(0.005)


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(2):
        item: dict[str, Any] = json.loads(await ws.recv())
        return item


@pytest.mark.asyncio
async def test_websocket_delivers_a_ringing_pop() -> None:
    """A subscriber authenticated by header receives ringing with the caller id."""
    bus = EventBus()
    async with serving(bus) as url, connect(f"{url}/events", additional_headers=AUTH) as ws:
        await subscribed(bus)
        bus.emit(call_event("dialing", extension="2000"))
        pop = await receive(ws)
    assert (pop["type"], pop["extension"], pop["caller_number"]) == ("ringing", "2000", "1000")


@pytest.mark.asyncio
async def test_websocket_accepts_the_token_as_query_parameter() -> None:
    """Browsers cannot set headers on a WebSocket: ?token= works too."""
    bus = EventBus()
    async with serving(bus) as url, connect(f"{url}/events?token={TOKEN}") as ws:
        await subscribed(bus)
        bus.emit(call_event("dialing", extension="2000"))
        assert (await receive(ws))["type"] == "ringing"


@pytest.mark.asyncio
async def test_websocket_without_token_is_refused_with_401() -> None:
    """The handshake is answered with a 401 envelope, not accepted."""
    async with serving(EventBus()) as url:
        with pytest.raises(InvalidStatus) as denied:
            await connect(f"{url}/events?token=wrong")
    assert denied.value.response.status_code == 401
    assert json.loads(denied.value.response.body or b"")["error"]["code"] == "unauthorized"


@pytest.mark.asyncio
async def test_websocket_with_a_bad_extension_filter_is_refused_with_400() -> None:
    """?extension= must be an extension."""
    async with serving(EventBus()) as url:
        with pytest.raises(InvalidStatus) as denied:
            await connect(f"{url}/events?extension=abc", additional_headers=AUTH)
    assert denied.value.response.status_code == 400


@pytest.mark.asyncio
async def test_websocket_extension_filter_skips_other_calls() -> None:
    """A subscriber for 3000 does not see a call between 1000 and 2000."""
    bus = EventBus()
    async with (
        serving(bus) as url,
        connect(f"{url}/events?extension=3000", additional_headers=AUTH) as other,
        connect(f"{url}/events?extension=2000", additional_headers=AUTH) as mine,
    ):
        await subscribed(bus, 2)
        bus.emit(call_event("dialing", extension="2000"))
        bus.emit(call_event("dialing", "c3", extension="3000"))
        assert (await receive(mine))["call_id"] == "c1"
        assert (await receive(other))["call_id"] == "c3"


@pytest.mark.asyncio
async def test_websocket_is_closed_going_away_at_shutdown() -> None:
    """When the bus closes (worker stopping) the stream ends with close code 1001."""
    bus = EventBus()
    async with serving(bus) as url, connect(f"{url}/events", additional_headers=AUTH) as ws:
        await subscribed(bus)
        bus.close()
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1001


@pytest.mark.asyncio
async def test_sse_streams_screen_pops_until_the_bus_closes() -> None:
    """/events/sse sends one data: JSON line per pop, and ends when the bus closes."""
    bus = EventBus()
    app = make_app(bus=bus)

    async def emit_when_subscribed() -> None:
        await subscribed(bus)
        bus.emit(call_event("dialing", extension="2000"))
        bus.emit(CallEvent("c2", "dialing", {"extension": "3000"}, caller="1001", dialed="3000"))
        bus.close()

    async with client(app) as http:
        response, _ = await asyncio.gather(
            http.get("/events/sse", params={"extension": "2000"}), emit_when_subscribed()
        )
    assert response.headers["content-type"].startswith("text/event-stream")
    data = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    assert [(d["type"], d["extension"]) for d in data] == [("ringing", "2000")]


@pytest.mark.asyncio
async def test_sse_needs_the_token() -> None:
    """The SSE stream is protected like every other route."""
    async with client(make_app(), auth=False) as http:
        response = await http.get("/events/sse")
    assert response.status_code == 401


@pytest.mark.asyncio
async def test_a_transfer_target_is_popped_with_the_original_callers_number() -> None:
    """A screen for 3000 sees the attended transfer ring with 1000's number and name."""
    bus = EventBus()

    def record(fact: ev.Fact) -> None:
        bus.emit(CallEvent.of("c1", fact, caller="1000", dialed="2000"))

    async with (
        serving(bus) as url,
        connect(f"{url}/events?extension=3000", additional_headers=AUTH) as ws,
    ):
        await subscribed(bus)
        record(ev.CallStarted("1000", "Alice", "2000", "PJSIP/1000-00000001"))
        record(ev.Dialing(extension="2000", leg="c1-leg1"))
        record(ev.Bridged(extension="2000", bridge="c1-bridge"))
        record(ev.TransferStarted(transfer="t1", extension="3000", moved="c1", by="phone"))
        record(ev.TransferCancelled(transfer="t1", extension="3000", reason="busy"))
        ringing, cancelled = await receive(ws), await receive(ws)
    assert (ringing["type"], ringing["extension"], ringing["transfer"]) == ("ringing", "3000", "t1")
    assert (ringing["caller_number"], ringing["caller_name"]) == ("1000", "Alice")
    assert (cancelled["type"], cancelled["reason"]) == ("transfer-cancelled", "busy")


# -- queues and agents ----------------------------------------------------------------------------

AGENT_STATE: dict[str, Any] = {
    "type": "agent-state",
    "extension": "1001",
    "state": "paused",
    "reason": "lunch",
    "queues": ["sales"],
    "at": 1733330000.0,
}


@pytest.mark.asyncio
async def test_websocket_carries_an_agents_state_and_its_queue_calls() -> None:
    """A screen for agent 1001 gets its state change as published, then the queue call offered
    to it, and not the state of another agent."""
    bus = EventBus()
    async with (
        serving(bus) as url,
        connect(f"{url}/events?extension=1001", additional_headers=AUTH) as ws,
    ):
        await subscribed(bus)
        bus.publish_agent({**AGENT_STATE, "extension": "1002"})
        bus.publish_agent(AGENT_STATE)
        bus.emit(
            CallEvent.of(
                "c1", ev.QueueJoined(queue="sales", position=1), caller="1000", dialed="600"
            )
        )
        offer = ev.AgentOffered(queue="sales", agent="1001", leg="c1-leg1")
        bus.emit(CallEvent.of("c1", offer, caller="1000", dialed="600"))
        state, offered = await receive(ws), await receive(ws)
    assert state == {**AGENT_STATE, "event_id": state["event_id"]}
    assert (offered["type"], offered["extension"], offered["queue"]) == (
        "agent-offered",
        "1001",
        "sales",
    )
    assert offered["caller_number"] == "1000"


@pytest.mark.asyncio
async def test_sse_carries_an_agents_state_with_the_event_id_the_bus_gave_it() -> None:
    """The agent's item is the data line as published plus its ``event_id``, which is also its
    ``id:`` line as a call pop's is (the resume cursor); both are plain ``message`` events."""
    bus = EventBus()
    app = make_app(bus=bus)

    async def publish_when_subscribed() -> None:
        await subscribed(bus)
        bus.publish_agent(AGENT_STATE)
        bus.emit(call_event("dialing", extension="1001"))
        bus.close()

    async with client(app) as http:
        response, _ = await asyncio.gather(
            http.get("/events/sse", params={"extension": "1001"}), publish_when_subscribed()
        )
    blocks = [block.splitlines() for block in response.text.strip().split("\n\n")]
    data = [json.loads(line[5:]) for block in blocks for line in block if line.startswith("data:")]
    assert data[0] == {**AGENT_STATE, "event_id": data[0]["event_id"]}
    assert data[1]["type"] == "ringing"
    ids = [[line for line in block if line.startswith("id:")] for block in blocks]
    assert ids == [[f"id: {d['event_id']}"] for d in data]
    assert not [line for block in blocks for line in block if line.startswith("event:")]


@pytest.mark.asyncio
async def test_sse_beyond_the_subscriber_limit_is_503_with_an_envelope() -> None:
    """With CTI_MAX_SUBSCRIBERS streams open, one more SSE stream is refused before its 200."""
    bus = EventBus(max_subscribers=1)
    held = bus.subscribe()
    async with client(make_app(bus=bus)) as http:
        response = await http.get("/events/sse")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "too-many-subscribers"
    assert response.json()["error"]["details"] == {"limit": 1}
    held.close()


@pytest.mark.asyncio
async def test_websocket_beyond_the_subscriber_limit_is_refused() -> None:
    """The handshake of one WebSocket too many is answered 503 and never accepted; a slot that
    frees up can be taken again."""
    bus = EventBus(max_subscribers=1)
    async with serving(bus) as url:
        async with connect(f"{url}/events", additional_headers=AUTH):
            await subscribed(bus)
            with pytest.raises(InvalidStatus) as denied:
                await connect(f"{url}/events", additional_headers=AUTH)
        assert denied.value.response.status_code == 503
        body = json.loads(denied.value.response.body or b"")
        assert body["error"]["code"] == "too-many-subscribers"
        async with asyncio.timeout(2):
            while bus.subscribers:  # noqa: ASYNC110 (the bus has no hook for this)
                await asyncio.sleep(0.005)
        async with connect(f"{url}/events", additional_headers=AUTH):
            await subscribed(bus)


# -- resume ---------------------------------------------------------------------------------------


def dialing(call_id: str, extension: str) -> CallEvent:
    """A phone rings for ``call_id`` (dialed ``extension``); its event id is ``e-<call_id>``."""
    data = {"extension": extension}
    return CallEvent(call_id, "dialing", data, "1000", extension, EPOCH0, event_id=f"e-{call_id}")


async def sse_items(lines: AsyncIterator[str], count: int) -> list[tuple[str | None, Any]]:
    """The next ``count`` SSE events as (id, data); an event ends at a blank line, keep-alive
    comments carry no data."""
    items: list[tuple[str | None, Any]] = []
    event_id: str | None = None
    data: Any = None
    async with asyncio.timeout(2):
        async for line in lines:
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
            elif not line and data is not None:
                items.append((event_id, data))
                event_id, data = None, None
                if len(items) == count:
                    break
    return items


@pytest.mark.asyncio
async def test_sse_reconnecting_with_last_event_id_gets_what_it_missed_filtered() -> None:
    """A screen for 2000 drops its connection after its first pop; on reconnecting with
    ``Last-Event-ID`` it first gets 2000's pops and agent state emitted meanwhile (not 3000's),
    then live pops."""
    bus = EventBus()
    async with serving(bus) as ws_url:
        url = ws_url.replace("ws://", "http://") + "/events/sse?extension=2000"
        async with httpx.AsyncClient(headers=AUTH, timeout=5) as http:
            async with http.stream("GET", url) as first:
                await subscribed(bus)
                bus.emit(dialing("c1", "2000"))
                [(last_id, _)] = await sse_items(first.aiter_lines(), 1)
            assert last_id == "e-c1"
            bus.emit(dialing("c2", "3000"))
            bus.emit(dialing("c3", "2000"))
            bus.publish_agent({**AGENT_STATE, "extension": "2000"})
            headers = {"Last-Event-ID": last_id}
            async with http.stream("GET", url, headers=headers) as second:
                lines = second.aiter_lines()
                missed = await sse_items(lines, 2)
                bus.emit(dialing("c4", "2000"))
                live = await sse_items(lines, 1)
    assert [d["type"] for _, d in missed] == ["ringing", "agent-state"]
    assert [i for i, _ in missed] == ["e-c3", missed[1][1]["event_id"]]
    assert [i for i, _ in live] == ["e-c4"]


@pytest.mark.asyncio
async def test_sse_with_an_unknown_last_event_id_says_missed_then_goes_live() -> None:
    """An id the bus does not hold (older than its ring, or from before a restart): a
    ``missed`` item without an ``id:`` (the client keeps its cursor), then live pops. The
    header wins over ``?after=`` (the URL's cursor is where the client started)."""
    bus = EventBus()
    bus.emit(dialing("c1", "2000"))

    async def emit_when_subscribed() -> None:
        await subscribed(bus)
        bus.emit(dialing("c2", "2000"))
        bus.close()

    async with client(make_app(bus=bus)) as http:
        response, _ = await asyncio.gather(
            http.get(
                "/events/sse",
                params={"after": "e-c1"},
                headers={"Last-Event-ID": "before-the-restart"},
            ),
            emit_when_subscribed(),
        )
    blocks = [block.splitlines() for block in response.text.strip().split("\n\n")]
    events = [b for b in blocks if any(line.startswith("data:") for line in b)]
    assert [json.loads(line[5:]) for line in events[0]] == [
        {"type": "missed", "after": "before-the-restart"}
    ]
    assert "id: e-c2" in events[1]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("params", "headers"),
    [({"after": "no spaces"}, {}), ({}, {"Last-Event-ID": "x" * 200})],
)
async def test_sse_refuses_a_malformed_cursor(
    params: dict[str, str], headers: dict[str, str]
) -> None:
    """A cursor that cannot be an event id is a 400 invalid-request, not a silent ``missed``."""
    async with client(make_app()) as http:
        response = await http.get("/events/sse", params=params, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid-request"


@pytest.mark.asyncio
async def test_websocket_resumes_after_a_cursor_with_its_filter() -> None:
    """``/events?after=<event_id>&extension=2000`` replays 2000's pops after that id, then
    live ones."""
    bus = EventBus()
    for call_id, extension in (("c1", "2000"), ("c2", "3000"), ("c3", "2000")):
        bus.emit(dialing(call_id, extension))
    async with (
        serving(bus) as url,
        connect(f"{url}/events?after=e-c1&extension=2000", additional_headers=AUTH) as ws,
    ):
        replayed = await receive(ws)
        await subscribed(bus)
        bus.emit(dialing("c4", "2000"))
        live = await receive(ws)
    assert (replayed["event_id"], live["event_id"]) == ("e-c3", "e-c4")


@pytest.mark.asyncio
async def test_websocket_with_an_unknown_cursor_gets_missed_first() -> None:
    """The WebSocket says ``missed`` as SSE does."""
    bus = EventBus()
    async with (
        serving(bus) as url,
        connect(f"{url}/events?after=gone", additional_headers=AUTH) as ws,
    ):
        assert await receive(ws) == {"type": "missed", "after": "gone"}


@pytest.mark.asyncio
async def test_websocket_with_a_malformed_cursor_is_refused_with_400() -> None:
    """As for a bad extension filter: refused before the handshake completes."""
    bus = EventBus()
    async with serving(bus) as url:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{url}/events?after=a%20b", additional_headers=AUTH):
                pass
    assert refused.value.response.status_code == 400
