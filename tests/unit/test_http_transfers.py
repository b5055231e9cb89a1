"""Specification of the transfer routes: POST /transfers, GET/DELETE /transfers/{id}, complete."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.http_support import (
    AGENT,
    CALLER,
    UNKNOWN,
    FakeControl,
    bridged,
    client,
    make_app,
    party_states,
    registry_of_a_bridged_call,
    worker_ahead_of_registry,
)

TARGET = f"{CALLER}-leg2"
ATTENDED = {"call": CALLER, "to": "2001", "mode": "attended"}


async def start_attended(http: Any) -> str:
    response = await http.post("/transfers", json=ATTENDED)
    assert response.status_code == 201
    transfer_id: str = response.json()["id"]
    return transfer_id


@pytest.mark.asyncio
async def test_an_attended_transfer_is_created_ringing_with_its_location() -> None:
    """POST /transfers (attended): 201, the transfer ringing the target, and Location naming it;
    the moved party hears music while the party it talked to rings the target."""
    control, app = bridged()
    async with client(app) as http:
        response = await http.post("/transfers", json=ATTENDED)
        located = await http.get(response.headers["location"])
    assert response.status_code == 201
    assert response.json() == {
        "id": f"{CALLER}-t1",
        "call_id": CALLER,
        "mode": "attended",
        "state": "ringing",
        "moved": CALLER,
        "initiator": AGENT,
        "extension": "2001",
        "target": TARGET,
        "reason": None,
    }
    assert response.headers["location"] == f"/transfers/{CALLER}-t1"
    assert (located.status_code, located.json()) == (200, response.json())
    assert control.calls == [("start_transfer", CALLER, "2001", "attended")]


@pytest.mark.asyncio
async def test_a_transfer_is_blind_by_default() -> None:
    """Without mode, POST /transfers is blind: 201 and already completed."""
    control, app = bridged()
    async with client(app) as http:
        response = await http.post("/transfers", json={"call": CALLER, "to": "2001"})
    assert response.status_code == 201
    assert (response.json()["mode"], response.json()["state"]) == ("blind", "completed")
    assert response.headers["location"] == f"/transfers/{response.json()['id']}"
    assert control.calls == [("start_transfer", CALLER, "2001", "blind")]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"call": CALLER, "to": "20x1"}, "body.to"),
        ({"call": CALLER, "to": 2001}, "body.to"),
        ({"call": CALLER}, "body.to"),
        ({"call": CALLER, "to": "2001", "mode": "warm"}, "body.mode"),
        ({"call": "bad/id", "to": "2001"}, "body.call"),
        ({"to": "2001"}, "body.call"),
        ({"call": CALLER, "to": "2001", "extension": "2001"}, "body.extension"),
    ],
)
async def test_a_malformed_transfer_is_400_naming_the_field(
    body: dict[str, Any], field: str
) -> None:
    """`to` must be digits (a JSON string), `mode` blind or attended, `call` a channel id, and
    nothing else is accepted; the worker is not asked."""
    control, app = bridged()
    async with client(app) as http:
        response = await http.post("/transfers", json=body)
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid-request")
    assert error["details"]["field"] == field
    assert control.calls == []


@pytest.mark.asyncio
async def test_transferring_an_unknown_channel_is_404_without_asking_the_worker() -> None:
    """A `call` the registry does not know: 404 channel-not-found naming it."""
    control, app = worker_ahead_of_registry()
    async with client(app) as http:
        response = await http.post("/transfers", json={"call": UNKNOWN, "to": "2001"})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "channel-not-found",
        "message": f"no live channel '{UNKNOWN}'",
        "details": {"channel_id": UNKNOWN},
    }
    assert control.calls == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("to", "status", "code"),
    [("2999", 404, "extension-not-found"), ("2002", 409, "extension-unavailable")],
)
async def test_a_transfer_to_a_bad_extension_is_refused(to: str, status: int, code: str) -> None:
    """An unknown extension is 404, an unregistered one 409, as for the blind transfer route."""
    _, app = bridged()
    async with client(app) as http:
        response = await http.post("/transfers", json={**ATTENDED, "to": to})
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert response.json()["error"]["details"]["extension"] == to


@pytest.mark.asyncio
async def test_a_second_transfer_of_the_same_call_is_409() -> None:
    """One transfer at a time per call: 409 call-state-conflict with the reason."""
    _, app = bridged()
    async with client(app) as http:
        await start_attended(http)
        response = await http.post("/transfers", json=ATTENDED)
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (409, "call-state-conflict")
    assert error["details"]["reason"] == "a transfer is already in progress"


@pytest.mark.asyncio
async def test_an_attended_transfer_of_a_party_on_hold_is_409() -> None:
    """A held party talks to no one: an attended transfer of it is refused, nothing changes."""
    _, app = bridged()
    async with client(app) as http:
        await http.post(f"/channels/{AGENT}/hold")
        response = await http.post("/transfers", json=ATTENDED)
        states = await party_states(http)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "call-state-conflict")
    assert states == {CALLER: "held", AGENT: "holding"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/transfers/nope-t9"),
        ("POST", "/transfers/nope-t9/complete"),
        ("DELETE", "/transfers/nope-t9"),
    ],
)
async def test_an_unknown_transfer_is_404_transfer_not_found(method: str, path: str) -> None:
    """Show, complete and cancel of an unknown id: 404 transfer-not-found naming it."""
    _, app = bridged()
    async with client(app) as http:
        response = await http.request(method, path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "transfer-not-found"
    assert response.json()["error"]["details"] == {"transfer_id": "nope-t9"}


@pytest.mark.asyncio
async def test_a_transfer_id_is_validated_naming_the_field() -> None:
    """A transfer id longer than 128 characters is a 400 naming path.transfer_id."""
    _, app = bridged()
    async with client(app) as http:
        response = await http.get("/transfers/" + "t" * 129)
    assert response.json()["error"]["details"]["field"] == "path.transfer_id"


@pytest.mark.asyncio
async def test_completing_before_the_target_answers_is_409() -> None:
    """Complete needs an answered target; the transfer keeps ringing."""
    _, app = bridged()
    async with client(app) as http:
        transfer_id = await start_attended(http)
        response = await http.post(f"/transfers/{transfer_id}/complete")
        after = await http.get(f"/transfers/{transfer_id}")
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (409, "call-state-conflict")
    assert error["details"]["reason"] == "the target has not answered"
    assert after.json()["state"] == "ringing"


@pytest.mark.asyncio
async def test_complete_connects_the_moved_party_to_the_target() -> None:
    """POST /transfers/{id}/complete: 200 completed; the initiator is gone from the call."""
    control, app = bridged()
    async with client(app) as http:
        transfer_id = await start_attended(http)
        control.target_answers(transfer_id)
        response = await http.post(f"/transfers/{transfer_id}/complete")
        states = await party_states(http)
    assert (response.status_code, response.json()["state"]) == (200, "completed")
    assert states == {CALLER: "talking", TARGET: "talking"}


@pytest.mark.asyncio
async def test_cancel_gives_the_initiator_the_moved_party_back() -> None:
    """DELETE /transfers/{id}: 200 cancelled (reason cancelled); the target is gone."""
    _, app = bridged()
    async with client(app) as http:
        transfer_id = await start_attended(http)
        response = await http.delete(f"/transfers/{transfer_id}")
        states = await party_states(http)
        shown = await http.get(f"/transfers/{transfer_id}")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["reason"]) == ("cancelled", "cancelled")
    assert states == {CALLER: "talking", AGENT: "talking"}
    assert shown.json() == response.json()


@pytest.mark.asyncio
@pytest.mark.parametrize("end", ["complete", "cancel"])
@pytest.mark.parametrize("then", ["complete", "cancel"])
async def test_an_ended_transfer_cannot_change(end: str, then: str) -> None:
    """After complete or cancel, both are 409 call-state-conflict."""
    control, app = bridged()

    async def act(http: Any, transfer_id: str, what: str) -> Any:
        if what == "complete":
            return await http.post(f"/transfers/{transfer_id}/complete")
        return await http.delete(f"/transfers/{transfer_id}")

    async with client(app) as http:
        transfer_id = await start_attended(http)
        control.target_answers(transfer_id)
        assert (await act(http, transfer_id, end)).status_code == 200
        response = await act(http, transfer_id, then)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "call-state-conflict")
    assert response.json()["error"]["details"]["reason"] == "has already ended"


NEW_OPERATIONS = [
    ("GET", "/calls/live", None),
    ("DELETE", f"/channels/{AGENT}", None),
    ("POST", f"/channels/{AGENT}/hold", None),
    ("DELETE", f"/channels/{AGENT}/hold", None),
    ("POST", "/transfers", ATTENDED),
    ("GET", "/transfers/x-t1", None),
    ("POST", "/transfers/x-t1/complete", None),
    ("DELETE", "/transfers/x-t1", None),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path", "body"), NEW_OPERATIONS)
async def test_every_new_operation_needs_the_token(
    method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Without the bearer token: 401 unauthorized, and the worker is not asked."""
    control = FakeControl()
    control.bridged(CALLER, AGENT)
    app = make_app(registry_of_a_bridged_call(), control=control)
    async with client(app, auth=False) as http:
        response = await http.request(method, path, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")
    assert control.calls == []


@pytest.mark.asyncio
async def test_openapi_documents_the_transfer_errors() -> None:
    """The document names the codes each status stands for, so clients know what to expect."""
    async with client(make_app()) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    start = paths["/transfers"]["post"]["responses"]
    assert set(start) == {"201", "400", "401", "403", "404", "409"}
    assert "call-state-conflict" in start["409"]["description"]
    assert "extension-unavailable" in start["409"]["description"]
    assert (
        "transfer-not-found"
        in paths["/transfers/{transfer_id}"]["delete"]["responses"]["404"]["description"]
    )
    assert set(paths["/channels/{channel_id}/hold"]) == {"post", "delete"}
