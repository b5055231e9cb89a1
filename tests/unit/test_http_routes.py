"""Specification of the REST routes, driven in process through httpx.ASGITransport."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from stasis_app.calls.registry import LiveRegistry
from stasis_app.errors import AriConnectionError
from stasis_app.http.models import ChannelList, ChannelOut
from tests.unit.http_support import (
    EPOCH0,
    Clock,
    FakeControl,
    FakeHistory,
    FakeStatus,
    bridge_json,
    channel_json,
    client,
    contact_event,
    event,
    make_app,
)

CALLER = "1714557600.12"


def live_registry() -> LiveRegistry:
    registry = LiveRegistry(now=Clock(EPOCH0 + 30))
    registry.apply(event("StasisStart", channel=channel_json(CALLER), args=["2000"]))
    registry.apply(event("ChannelStateChange", at=2, channel=channel_json(CALLER, state="Up")))
    registry.apply(
        event(
            "ChannelEnteredBridge",
            bridge=bridge_json(channels=[CALLER]),
            channel=channel_json(CALLER, state="Up"),
        )
    )
    registry.apply(contact_event("2000"))
    return registry


@pytest.mark.asyncio
async def test_health_reports_ari_and_asterisk() -> None:
    """/health: connected, reconnects, Asterisk version and uptime by the injected clock."""
    async with client(make_app(), auth=False) as http:
        body = (await http.get("/health")).json()
    assert body["status"] == "ok"
    assert (body["ari_connected"], body["reconnects"], body["asterisk_version"]) == (
        True,
        2,
        "22.5.0",
    )
    assert body["asterisk_uptime"] == 100.0
    assert (body["loop_lag_max_ms"], body["loop_lag_recent_p99_ms"]) == (12.5, 1.5)


@pytest.mark.asyncio
async def test_health_is_unavailable_while_ari_is_down() -> None:
    """A disconnected worker still answers /health, with 503, its fields and the reason."""
    app = make_app(status=FakeStatus(ari_connected=False, asterisk_started=None))
    async with client(app, auth=False) as http:
        answer = await http.get("/health")
    body = answer.json()
    assert answer.status_code == 503
    assert (body["status"], body["asterisk_uptime"]) == ("unavailable", None)
    assert [p["code"] for p in body["problems"]] == ["ari-disconnected"]


@pytest.mark.asyncio
async def test_channels_lists_the_live_state() -> None:
    """/channels answers from the registry: state, caller, dialed, bridge, answer time, duration."""
    async with client(make_app(live_registry())) as http:
        [channel] = (await http.get("/channels")).json()["channels"]
    assert channel["id"] == CALLER
    assert (channel["state"], channel["caller_number"], channel["dialed"]) == ("Up", "1000", "2000")
    assert channel["bridge_id"] == f"{CALLER}-bridge"
    assert channel["answered"] == "2024-05-01T10:00:02Z"
    assert channel["duration"] == 30.0


@pytest.mark.asyncio
async def test_channels_json_is_exactly_the_documented_schema() -> None:
    """/channels skips pydantic models for speed; its JSON must still be ChannelList's."""
    registry = live_registry()
    registry.apply(event("StasisStart", at=5, channel=channel_json("1714557600.13"), args=["500"]))
    async with client(make_app(registry)) as http:
        response = await http.get("/channels")
    expected = ChannelList(channels=[ChannelOut.model_validate(c) for c in registry.channels()])
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected.model_dump(mode="json")
    assert len(response.json()["channels"]) == 2


@pytest.mark.asyncio
async def test_one_channel_by_id() -> None:
    """/channels/{id} returns that channel."""
    async with client(make_app(live_registry())) as http:
        response = await http.get(f"/channels/{CALLER}")
    assert (response.status_code, response.json()["id"]) == (200, CALLER)


@pytest.mark.asyncio
async def test_unknown_channel_is_404_channel_not_found() -> None:
    """An id the registry does not know is a 404 envelope naming it."""
    async with client(make_app(live_registry())) as http:
        response = await http.get("/channels/1714557600.99")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "channel-not-found"
    assert response.json()["error"]["details"] == {"channel_id": "1714557600.99"}


@pytest.mark.asyncio
async def test_bridges_and_endpoints_are_listed() -> None:
    """/bridges lists members; /endpoints lists registration state and contacts with RTT."""
    async with client(make_app(live_registry())) as http:
        bridges = (await http.get("/bridges")).json()["bridges"]
        endpoints = (await http.get("/endpoints")).json()["endpoints"]
    assert bridges[0]["channels"] == [CALLER]
    assert endpoints[0]["id"] == "PJSIP/2000"
    assert endpoints[0]["contacts"][0]["rtt_ms"] == 12.345


@pytest.mark.asyncio
async def test_click_to_dial_returns_the_call_id() -> None:
    """POST /calls asks the worker to ring A then B, and answers 201 with the call id."""
    control = FakeControl()
    async with client(make_app(control=control)) as http:
        response = await http.post(
            "/calls", json={"from_extension": "1000", "to_extension": "2000"}
        )
    assert (response.status_code, response.json()) == (201, {"call_id": "api-1"})
    assert control.calls == [("call", "1000", "2000")]


@pytest.mark.asyncio
async def test_click_to_dial_an_unknown_extension_is_404() -> None:
    """The worker's ExtensionNotFound becomes 404 extension-not-found."""
    async with client(make_app()) as http:
        response = await http.post(
            "/calls", json={"from_extension": "1000", "to_extension": "2999"}
        )
    assert (response.status_code, response.json()["error"]["code"]) == (404, "extension-not-found")


@pytest.mark.asyncio
async def test_click_to_dial_an_unregistered_extension_is_409() -> None:
    """The worker's ExtensionUnavailable becomes 409 extension-unavailable."""
    control = FakeControl(extensions={"1000": True, "2000": False})
    async with client(make_app(control=control)) as http:
        response = await http.post(
            "/calls", json={"from_extension": "1000", "to_extension": "2000"}
        )
    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "extension-unavailable",
    )


@pytest.mark.asyncio
async def test_click_to_dial_to_itself_is_400_naming_the_field() -> None:
    """Calling an extension from itself is refused before the worker is asked."""
    async with client(make_app()) as http:
        response = await http.post(
            "/calls", json={"from_extension": "1000", "to_extension": "1000"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "body.to_extension"


@pytest.mark.asyncio
async def test_hangup_a_live_channel_is_204() -> None:
    """POST /channels/{id}/hangup asks the worker and answers 204."""
    control = FakeControl(channels={CALLER})
    async with client(make_app(live_registry(), control=control)) as http:
        response = await http.post(f"/channels/{CALLER}/hangup")
    assert response.status_code == 204
    assert control.calls == [("hangup", CALLER)]


@pytest.mark.asyncio
async def test_hangup_an_unknown_channel_is_404_without_asking_the_worker() -> None:
    """The registry decides that a channel does not exist."""
    control = FakeControl()
    async with client(make_app(control=control)) as http:
        response = await http.post("/channels/1714557600.99/hangup")
    assert response.status_code == 404
    assert control.calls == []


@pytest.mark.asyncio
async def test_transfer_a_live_channel_is_204() -> None:
    """POST /channels/{id}/transfer blind-transfers to the extension."""
    control = FakeControl(channels={CALLER})
    async with client(make_app(live_registry(), control=control)) as http:
        response = await http.post(f"/channels/{CALLER}/transfer", json={"extension": "1000"})
    assert response.status_code == 204
    assert control.calls == [("transfer", CALLER, "1000")]


@pytest.mark.asyncio
async def test_asterisk_unreachable_is_503_not_a_crash() -> None:
    """An ARI transport failure during call control is 503 asterisk-unavailable."""

    class Down(FakeControl):
        async def click_to_dial(self, from_extension: str, to_extension: str) -> str:
            raise AriConnectionError("connection refused")

    async with client(make_app(control=Down())) as http:
        response = await http.post(
            "/calls", json={"from_extension": "1000", "to_extension": "2000"}
        )
    assert (response.status_code, response.json()["error"]["code"]) == (503, "asterisk-unavailable")


@pytest.mark.asyncio
async def test_a_bug_is_a_logged_500_envelope() -> None:
    """An unexpected exception becomes a logged 500 internal-error, not a dropped connection."""

    class Broken(FakeControl):
        async def click_to_dial(self, from_extension: str, to_extension: str) -> str:
            raise KeyError("oops")

    with capture_logs() as logs:
        async with client(make_app(control=Broken())) as http:
            response = await http.post(
                "/calls", json={"from_extension": "1000", "to_extension": "2000"}
            )
    assert (response.status_code, response.json()["error"]["code"]) == (500, "internal-error")
    assert [line["event"] for line in logs if line["log_level"] == "error"] == [
        "http.internal_error"
    ]


@pytest.mark.asyncio
async def test_call_history_without_a_store_is_503() -> None:
    """A worker without a call store says so: 503 history-unavailable."""
    async with client(make_app()) as http:
        response = await http.get("/calls")
    assert (response.status_code, response.json()["error"]["code"]) == (503, "history-unavailable")


@pytest.mark.asyncio
async def test_call_history_lists_and_filters() -> None:
    """GET /calls passes the filter and paging to the store and lists its summaries."""
    history = FakeHistory()
    async with client(make_app(history=history)) as http:
        body = (await http.get("/calls", params={"extension": "2000", "limit": 5})).json()
    assert [c["call_id"] for c in body["calls"]] == ["c1"]
    assert history.queries == [{"extension": "2000", "limit": 5, "offset": 0}]


@pytest.mark.asyncio
async def test_call_history_filters_by_time_caller_and_disposition() -> None:
    """GET /calls turns since/until (ISO 8601, UTC when no zone is given) into epoch seconds and
    passes caller and disposition through."""
    history = FakeHistory()
    params = {
        "since": "2026-11-26T08:00:00Z",
        "until": "2026-11-26T09:00:00",
        "caller": "+821012345678",
        "disposition": "no-answer",
    }
    async with client(make_app(history=history)) as http:
        response = await http.get("/calls", params=params)
    assert response.status_code == 200
    (query,) = history.queries
    assert query["since"] == 1795680000.0
    assert query["until"] == 1795683600.0
    assert (query["caller"], query["disposition"]) == ("+821012345678", "no-answer")


@pytest.mark.asyncio
async def test_call_history_rejects_a_malformed_time() -> None:
    """A since that is not a date is a 400 naming the field, not a 500."""
    async with client(make_app(history=FakeHistory())) as http:
        response = await http.get("/calls", params={"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "since" in response.json()["error"]["message"]


@pytest.mark.asyncio
async def test_one_call_with_its_timeline() -> None:
    """GET /calls/{id} returns the summary and the events; an unknown id is 404."""
    async with client(make_app(history=FakeHistory())) as http:
        found = await http.get("/calls/c1")
        missing = await http.get("/calls/c2")
    assert [e["action"] for e in found.json()["events"]] == ["call-started"]
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "call-not-found")


@pytest.mark.asyncio
async def test_dead_letters_are_listed() -> None:
    """GET /dead-letters shows the events Elasticsearch refused, with the reason."""
    async with client(make_app(history=FakeHistory())) as http:
        body = (await http.get("/dead-letters")).json()
    (letter,) = body["dead_letters"]
    assert (letter["event_id"], letter["call_id"]) == ("e9", "c1")
    assert "mapper_parsing_exception" in letter["reason"]
