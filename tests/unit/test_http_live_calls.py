"""Specification of the party routes: GET /calls/live, DELETE /channels/{id}, hold and unhold."""

from __future__ import annotations

import pytest

from tests.unit.http_support import (
    AGENT,
    CALLER,
    UNKNOWN,
    FakeHistory,
    bridged,
    client,
    make_app,
    party_states,
    registry_of_a_bridged_call,
    worker_ahead_of_registry,
)


@pytest.mark.asyncio
async def test_live_calls_list_each_call_with_its_parties() -> None:
    """GET /calls/live: the call, its start (ISO 8601), its duration by the app's clock, its
    bridge and its parties with extension, role and state."""
    _, app = bridged()
    async with client(app) as http:
        response = await http.get("/calls/live")
    assert response.status_code == 200
    [call] = response.json()["calls"]
    assert (call["id"], call["caller_number"], call["caller_name"]) == (CALLER, "1000", "Alice")
    assert (call["dialed"], call["stage"]) == ("2000", "bridged")
    assert call["bridge_id"] == f"{CALLER}-bridge"
    assert call["started"] == "2024-05-01T10:00:00Z"
    assert call["duration"] == 100.0  # make_app's clock is EPOCH0 + 100
    assert call["parties"] == [
        {"channel_id": CALLER, "extension": "1000", "role": "caller", "state": "talking"},
        {"channel_id": AGENT, "extension": "2000", "role": "callee", "state": "talking"},
    ]
    assert call["transfer"] is None


@pytest.mark.asyncio
async def test_live_calls_show_the_attended_transfer_in_progress() -> None:
    """During an attended transfer the call carries it, and its target is a party."""
    _, app = bridged()
    async with client(app) as http:
        created = await http.post(
            "/transfers", json={"call": CALLER, "to": "2001", "mode": "attended"}
        )
        [call] = (await http.get("/calls/live")).json()["calls"]
    assert call["transfer"] == created.json()
    assert call["stage"] == "consulting"
    assert [(p["role"], p["state"]) for p in call["parties"]] == [
        ("caller", "held"),
        ("callee", "holding"),
        ("target", "ringing"),
    ]


@pytest.mark.asyncio
async def test_no_live_calls_is_an_empty_list() -> None:
    """No call in progress: an empty list, not an error."""
    async with client(make_app()) as http:
        response = await http.get("/calls/live")
    assert (response.status_code, response.json()) == (200, {"calls": []})


@pytest.mark.asyncio
async def test_calls_live_is_not_taken_for_a_call_id() -> None:
    """/calls/live answers the live calls even with a history; /calls/<id> is still history."""
    control, _ = bridged()
    app = make_app(registry_of_a_bridged_call(), control=control, history=FakeHistory())
    async with client(app) as http:
        live = await http.get("/calls/live")
        recorded = await http.get("/calls/c1")
    assert [c["id"] for c in live.json()["calls"]] == [CALLER]
    assert recorded.json()["summary"]["call_id"] == "c1"


@pytest.mark.asyncio
async def test_calls_live_works_without_a_history() -> None:
    """A worker without a call store still lists live calls (history answers 503 on its own)."""
    _, app = bridged()
    async with client(app) as http:
        live = await http.get("/calls/live")
        history = await http.get("/calls/c1")
    assert live.status_code == 200
    assert (history.status_code, history.json()["error"]["code"]) == (503, "history-unavailable")


@pytest.mark.asyncio
async def test_delete_a_channel_hangs_it_up() -> None:
    """DELETE /channels/{id} hangs up that party: 204."""
    control, app = bridged()
    async with client(app) as http:
        response = await http.delete(f"/channels/{AGENT}")
    assert (response.status_code, response.content) == (204, b"")
    assert control.calls == [("hangup", AGENT)]


@pytest.mark.asyncio
async def test_delete_an_unknown_channel_is_404_without_asking_the_worker() -> None:
    """An id the registry does not know: 404 channel-not-found naming it."""
    control, app = worker_ahead_of_registry()
    async with client(app) as http:
        response = await http.delete(f"/channels/{UNKNOWN}")
    assert response.status_code == 404
    assert response.json()["error"]["details"] == {"channel_id": UNKNOWN}
    assert control.calls == []


@pytest.mark.asyncio
async def test_a_channel_allows_get_and_delete() -> None:
    """A wrong method on /channels/{id} is 405 with an Allow header naming both methods."""
    _, app = bridged()
    async with client(app) as http:
        response = await http.put(f"/channels/{CALLER}")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"


@pytest.mark.asyncio
async def test_hold_puts_the_other_party_on_hold() -> None:
    """POST /channels/{id}/hold: 204; the channel holds, the party it talked to is held."""
    control, app = bridged()
    async with client(app) as http:
        response = await http.post(f"/channels/{AGENT}/hold")
        states = await party_states(http)
    assert response.status_code == 204
    assert states == {CALLER: "held", AGENT: "holding"}
    assert control.calls == [("hold", AGENT)]


@pytest.mark.asyncio
async def test_unhold_takes_the_party_back() -> None:
    """DELETE /channels/{id}/hold: 204; both talk again."""
    control, app = bridged()
    async with client(app) as http:
        await http.post(f"/channels/{AGENT}/hold")
        response = await http.delete(f"/channels/{AGENT}/hold")
        states = await party_states(http)
    assert response.status_code == 204
    assert states == {CALLER: "talking", AGENT: "talking"}
    assert control.calls == [("hold", AGENT), ("unhold", AGENT)]


@pytest.mark.asyncio
async def test_holding_twice_is_409_call_state_conflict() -> None:
    """A channel that already holds cannot hold again: 409 with the reason in the details."""
    _, app = bridged()
    async with client(app) as http:
        await http.post(f"/channels/{AGENT}/hold")
        response = await http.post(f"/channels/{AGENT}/hold")
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (409, "call-state-conflict")
    assert error["details"]["reason"] == "already holds the other party"


@pytest.mark.asyncio
async def test_unhold_without_hold_is_409() -> None:
    """Taking back a party nobody holds is a 409 call-state-conflict."""
    _, app = bridged()
    async with client(app) as http:
        response = await http.delete(f"/channels/{AGENT}/hold")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "call-state-conflict")


@pytest.mark.asyncio
@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_hold_of_an_unknown_channel_is_404(method: str) -> None:
    """Hold and unhold of a channel the registry does not know: 404, the worker not asked."""
    control, app = worker_ahead_of_registry()
    async with client(app) as http:
        response = await http.request(method, f"/channels/{UNKNOWN}/hold")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "channel-not-found")
    assert control.calls == []


@pytest.mark.asyncio
async def test_hold_path_is_validated_naming_the_field() -> None:
    """A channel id with a character ARI never uses is a 400 naming path.channel_id."""
    _, app = bridged()
    async with client(app) as http:
        response = await http.post("/channels/bad$id/hold")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "path.channel_id"
