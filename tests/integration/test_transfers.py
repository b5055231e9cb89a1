"""Transfers and hold on real calls: 2000 calls 1000 (an agent), who moves the caller to 1001.

Every phone is a real baresip registered to the lab Asterisk, sending its own test signal; what a
phone heard after a given moment is checked by cross-correlating that part of its recording with
the other phone's signal (or with the music on hold), so "audio both ways" means the right audio.
An attended transfer pressed on the agent's phone needs linphonec (baresip 1.0 cannot do it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Protocol

import pytest

from stasis_app.lab import Lab
from tests.integration.conftest import LinphoneFactory, PhoneFactory
from tests.integration.cti import run_cti
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import CallState, Phone, normalized_cross_correlation, read_wav
from tests.sipkit.audio import RATE
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

MATCH = 0.6
# In the rootfs, where asterisk/etc/musiconhold.conf points.
MOH_FILE = Path("usr/share/asterisk/moh/cti/music.wav")


def _cti(worker: WorkerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CTI_API_URL=worker.api_url, CTI_API_TOKEN=worker.token)
    return run_cti(*args, env=env, timeout=20)


class Ears(Protocol):
    """A phone that records what it receives (baresip's Phone, Linphone)."""

    user: str

    def received_audio(self) -> Path: ...

    def received_seconds(self) -> float: ...


def heard_since(phone: Ears, mark: float, source: Path) -> float:
    """How strongly what ``phone`` received after ``mark`` seconds contains ``source``."""
    received = read_wav(phone.received_audio())
    tail = received[round((mark + 0.5) * RATE) :]
    sent = read_wav(source)
    peak, _ = normalized_cross_correlation(sent, tail, max_lag=len(sent) / RATE)
    return peak


def listen(phone: Ears, seconds: float) -> float:
    """Wait until ``phone`` has received ``seconds`` more audio; returns where that began."""
    mark = phone.received_seconds()
    wait_until(
        lambda: phone.received_seconds() >= mark + seconds,
        timeout=seconds + 10.0,
        what=f"{seconds} s more audio at {phone.user}",
    )
    return mark


def connected_call(
    worker: WorkerProcess, phones: PhoneFactory
) -> tuple[Phone, Phone, dict[str, Any]]:
    """2000 calls 1000, which answers; returns (caller, agent, the live call)."""
    agent = phones("1000", auto_answer=True)
    caller = phones("2000")
    caller.call("1000", timeout=15.0)
    agent.wait_event("CALL_ESTABLISHED")

    def bridged() -> dict[str, Any] | None:
        status, body = worker.api("GET", "/calls/live")
        assert status == 200, body
        calls = [c for c in body["calls"] if c["stage"] == "bridged"]
        return calls[0] if calls else None

    return caller, agent, wait_until(bridged, what="the call bridged")


def party(call: dict[str, Any], role: str) -> str:
    (found,) = [p["channel_id"] for p in call["parties"] if p["role"] == role]
    return str(found)


def transfer_state(worker: WorkerProcess, transfer: str) -> str:
    status, body = worker.api("GET", f"/transfers/{transfer}")
    assert status == 200, body
    return str(body["state"])


def timeline(worker: WorkerProcess, call_id: str) -> list[str]:
    status, body = worker.api("GET", f"/calls/{call_id}")
    assert status == 200, body
    return [e["action"] for e in body["events"]]


def live_call(worker: WorkerProcess, dialed: str) -> dict[str, Any] | None:
    """The live call to ``dialed``, once bridged."""
    status, body = worker.api("GET", "/calls/live")
    assert status == 200, body
    calls = [c for c in body["calls"] if c["dialed"] == dialed and c["stage"] == "bridged"]
    return calls[0] if calls else None


def stored_call(worker: WorkerProcess, call_id: str) -> dict[str, Any] | None:
    """GET /calls/{id} (summary and timeline), once the call's end is stored."""
    status, body = worker.api("GET", f"/calls/{call_id}")
    if status == 404:
        return None  # the store writes on its own thread
    assert status == 200, body
    return body if body["summary"]["ended"] else None


# ------------------------------------------------------------------------------ attended transfer
def test_attended_transfer_through_the_api_moves_the_caller_with_audio_both_ways(
    worker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """POST /transfers (attended): 2000 hears music while 1000 talks to 1001; after complete,
    2000 and 1001 hear each other and 1000's call is over."""
    target = phones("1001", auto_answer=True)
    caller, agent, call = connected_call(worker, phones)
    listen(caller, 2.0)

    status, created = worker.api(
        "POST", "/transfers", {"call": party(call, "caller"), "to": "1001", "mode": "attended"}
    )

    assert status == 201, created
    target.wait_event("CALL_ESTABLISHED", timeout=15.0)
    wait_until(lambda: transfer_state(worker, created["id"]) == "answered", what="consultation")
    mark = listen(target, 3.0)
    assert heard_since(target, mark, signals["1000"]) > MATCH  # the agent consults the target

    status, done = worker.api("POST", f"/transfers/{created['id']}/complete")

    assert status == 200, done
    assert done["state"] == "completed"
    agent.wait_event("CALL_CLOSED", timeout=10.0)
    caller_mark, target_mark = listen(caller, 4.0), listen(target, 0.1)
    listen(target, 3.0)
    assert heard_since(caller, caller_mark, signals["1001"]) > MATCH
    assert heard_since(target, target_mark, signals["2000"]) > MATCH
    caller.hangup()
    target.wait_event("CALL_CLOSED", timeout=10.0)
    worker.wait_summary()
    wait_until(
        lambda: (
            {"transfer-started", "transfer-answered", "transfer-completed"}
            <= set(timeline(worker, call["id"]))
        ),
        what="the transfer in the call's timeline",
    )


def test_attended_transfer_through_the_cli_and_cancel_returns_the_caller(
    worker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """`cti transfer ID 1001 --attended` then `cti transfer cancel TID`: 1001 is hung up and
    the agent has the caller back, audio both ways."""
    target = phones("1001", auto_answer=True)
    caller, agent, call = connected_call(worker, phones)

    started = _cti(worker, "transfer", party(call, "caller"), "1001", "--attended")

    assert started.returncode == 0, started.stderr
    transfer = started.stdout.strip().split()[-1]
    target.wait_event("CALL_ESTABLISHED", timeout=15.0)
    wait_until(lambda: transfer_state(worker, transfer) == "answered", what="consultation")

    cancelled = _cti(worker, "transfer", "cancel", transfer)

    assert cancelled.returncode == 0, cancelled.stderr
    target.wait_event("CALL_CLOSED", timeout=10.0)
    assert transfer_state(worker, transfer) == "cancelled"
    caller_mark, agent_mark = listen(caller, 3.0), listen(agent, 0.1)
    listen(agent, 3.0)
    assert heard_since(caller, caller_mark, signals["1000"]) > MATCH
    assert heard_since(agent, agent_mark, signals["2000"]) > MATCH
    caller.hangup()
    agent.wait_event("CALL_CLOSED", timeout=10.0)


def test_attended_transfer_to_an_unregistered_phone_gives_the_caller_back(
    worker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """1002 has no phone registered: the transfer ends at once as cancelled (unavailable) and
    the agent and the caller talk again."""
    caller, agent, call = connected_call(worker, phones)

    status, created = worker.api(
        "POST", "/transfers", {"call": party(call, "caller"), "to": "1002", "mode": "attended"}
    )

    assert status == 201, created
    assert (created["state"], created["reason"]) == ("cancelled", "unavailable")
    mark = listen(agent, 3.0)
    assert heard_since(agent, mark, signals["2000"]) > MATCH
    caller.hangup()
    agent.wait_event("CALL_CLOSED", timeout=10.0)


# ------------------------------------------------------------------------------------------ hold
def test_hold_plays_music_to_the_held_party_and_unhold_reconnects(
    lab: Lab, worker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """The agent holds (`cti hold`): the caller hears the music on hold, not the agent; after
    `cti unhold` they hear each other again."""
    caller, agent, call = connected_call(worker, phones)

    held = _cti(worker, "hold", party(call, "callee"))

    assert held.returncode == 0, held.stderr
    mark = listen(caller, 4.0)
    assert heard_since(caller, mark, lab.paths.rootfs / MOH_FILE) > MATCH
    assert heard_since(caller, mark, signals["1000"]) < MATCH / 2

    unheld = _cti(worker, "unhold", party(call, "callee"))

    assert unheld.returncode == 0, unheld.stderr
    mark = listen(caller, 3.0)
    assert heard_since(caller, mark, signals["1000"]) > MATCH
    caller.hangup()
    agent.wait_event("CALL_CLOSED", timeout=10.0)
    assert {"held", "unheld"} <= set(timeline(worker, call["id"]))


# ------------------------------------------------------------------------- the phone's own button
def test_a_blind_transfer_pressed_on_the_agents_phone_moves_the_caller(
    worker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """The agent's baresip sends REFER (its /transfer): the worker, not Asterisk, moves the
    caller to 1001 (ChannelTransfer, ari-only); caller and 1001 then hear each other, the
    agent's phone is released, and the call's timeline says the phone did it."""
    target = phones("1001", auto_answer=True)
    caller, agent, call = connected_call(worker, phones)
    listen(caller, 2.0)  # they talk first (baresip needs its media up before a re-INVITE)

    agent.command("transfer", "sip:1001@127.0.0.1")

    target.wait_event("CALL_ESTABLISHED", timeout=15.0)
    agent.wait_event("CALL_CLOSED", timeout=10.0)
    caller_mark, target_mark = listen(caller, 3.0), listen(target, 0.1)
    listen(target, 3.0)
    assert heard_since(caller, caller_mark, signals["1001"]) > MATCH
    assert heard_since(target, target_mark, signals["2000"]) > MATCH
    caller.hangup()
    target.wait_event("CALL_CLOSED", timeout=10.0)
    worker.wait_summary()
    wait_until(lambda: "transferred" in timeline(worker, call["id"]), what="the transfer recorded")
    status, body = worker.api("GET", f"/calls/{call['id']}")
    assert status == 200, body
    (transferred,) = [e for e in body["events"] if e["action"] == "transferred"]
    assert transferred["doc"]["cti"]["transfer_by"] == "phone"


def test_an_attended_transfer_pressed_on_the_agents_phone_merges_the_two_calls(
    worker: WorkerProcess,
    phones: PhoneFactory,
    linphones: LinphoneFactory,
    signals: dict[str, Path],
) -> None:
    """The agent (linphonec) holds the caller, calls 1001 itself (a second, ordinary call
    through the worker), then transfers call 1 to call 2: REFER with Replaces. The worker merges
    the calls: 2000 and 1001 hear each other, both the agent's legs end, the first call's
    timeline says the phone transferred it, and the consultation call ends as transferred."""
    target = phones("1001", auto_answer=True)
    agent = linphones("1000", auto_answer=True)
    caller = phones("2000")
    caller.call("1000", timeout=15.0)
    first = agent.wait_incoming()
    agent.wait_established(first)
    call = wait_until(lambda: live_call(worker, "1000"), what="the call bridged")
    caller_mark, agent_mark = listen(caller, 2.0), listen(agent, 0.1)
    listen(agent, 2.0)
    assert heard_since(caller, caller_mark, signals["1000"]) > MATCH  # they talk
    assert heard_since(agent, agent_mark, signals["2000"]) > MATCH

    agent.hold(first)
    second = agent.call("1001", timeout=15.0)

    target.wait_event("CALL_ESTABLISHED", timeout=10.0)
    consult = wait_until(lambda: live_call(worker, "1001"), what="the consultation bridged")
    assert consult["caller_number"] == "1000"  # an ordinary call from the agent's phone
    mark = listen(target, 2.0)
    assert heard_since(target, mark, signals["1000"]) > MATCH

    agent.transfer_to_call(first, second)

    agent.wait_event(CallState.TRANSFERRED, first, fail_on=(CallState.ERROR,))
    agent.wait_closed(first)
    agent.wait_closed(second)
    caller_mark, target_mark = listen(caller, 3.0), listen(target, 0.1)
    listen(target, 3.0)
    assert heard_since(caller, caller_mark, signals["1001"]) > MATCH
    assert heard_since(target, target_mark, signals["2000"]) > MATCH
    status, body = worker.api("GET", "/calls/live")
    assert status == 200, body
    (merged,) = body["calls"]  # the consultation call is over
    assert merged["id"] == call["id"]
    assert {p["extension"] for p in merged["parties"]} == {"2000", "1001"}  # no agent leg
    caller.hangup()
    target.wait_event("CALL_CLOSED", timeout=10.0)
    summaries = {s["call_id"]: s for s in worker.wait_summary(count=2)}
    assert summaries[consult["id"]]["disposition"] == "transferred"
    assert summaries[call["id"]]["disposition"] == "answered"
    consultation = wait_until(lambda: stored_call(worker, consult["id"]), what="it stored")
    assert consultation["summary"]["disposition"] == "transferred"
    stored = wait_until(lambda: stored_call(worker, call["id"]), what="the first call stored")
    events = {e["action"]: e for e in stored["events"]}
    assert {"transfer-started", "transfer-completed"} <= set(events)
    assert events["transfer-started"]["doc"]["cti"]["transfer_by"] == "phone"
