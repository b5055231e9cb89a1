"""Call queues on real calls: callers dial the IVR (500), press a key, and wait for agents.

The worker runs with a short English IVR (tests/integration/ivr/queues-ivr.toml) and short-timer
queues (queues-test.toml): queue ``q`` has the static members 1000 and 1001 and the dynamic agent
1004, rings each agent 4 s, rests 1 s between rounds, gives 1 s of wrap-up and announces the
caller's position every 4 s over the music. Every phone is a real baresip; an agent whose phone a
test does not start is unregistered, hence never offered a call.

What the queues decided is read where an operator would read it: ``GET /queues/{name}`` and
``GET /agents`` while it happens, then each call's timeline (``GET /calls/{id}``) and the worker's
``call.summary`` lines. What a caller heard is checked by cross-correlating its recording with the
prompt file (or the music on hold) Asterisk played.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from stasis_app.lab import Lab
from stasis_app.settings import REPO_ROOT
from tests.integration.conftest import PhoneFactory
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import Phone, normalized_cross_correlation, read_wav
from tests.sipkit.audio import RATE
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

HERE = Path(__file__).parent
QUEUES_IVR = HERE / "ivr" / "queues-ivr.toml"
QUEUES_FILE = HERE / "ivr" / "queues-test.toml"
PROMPTS = REPO_ROOT / "sounds" / "en"
# In the rootfs, where asterisk/etc/musiconhold.conf points.
MOH_FILE = Path("usr/share/asterisk/moh/cti/music.wav")
MATCH = 0.6
# Keys of the test IVR's menu.
TO_Q, TO_SHORT, TO_BRIEF, TO_NIGHT = "1", "2", "3", "9"


@pytest.fixture
def qworker(lab: Lab, tmp_path: Path) -> Iterator[WorkerProcess]:
    """`cti run` with the test IVR and the short-timer queues file."""
    proc = WorkerProcess(
        tmp_path / "worker",
        ivr_file=QUEUES_IVR,
        extra_env={"CTI_QUEUES_FILE": str(QUEUES_FILE)},
    ).start()
    yield proc
    proc.stop()


# ------------------------------------------------------------------------------------ helpers
def get(worker: WorkerProcess, path: str) -> Any:
    status, body = worker.api("GET", path)
    assert status == 200, (path, status, body)
    return body


def queue(worker: WorkerProcess, name: str = "q") -> dict[str, Any]:
    return dict(get(worker, f"/queues/{name}"))


def waiting(worker: WorkerProcess, name: str = "q") -> list[dict[str, Any]]:
    return list(queue(worker, name)["waiting"])


def agent(worker: WorkerProcess, extension: str) -> dict[str, Any]:
    (found,) = [a for a in get(worker, "/agents")["agents"] if a["extension"] == extension]
    return dict(found)


def wait_agent(worker: WorkerProcess, extension: str, state: str, *, timeout: float = 10.0) -> None:
    worker.wait_for(
        lambda: agent(worker, extension)["state"] == state,
        timeout=timeout,
        what=f"agent {extension} {state}",
    )


def wait_reachable(worker: WorkerProcess, *extensions: str, reachable: bool = True) -> None:
    """The worker has seen each agent's phone (un)registered: only then is it offered calls."""
    for ext in extensions:
        worker.wait_for(
            lambda ext=ext: agent(worker, ext)["reachable"] is reachable,
            what=f"agent {ext} {'reachable' if reachable else 'unreachable'}",
        )


def live_call_id(worker: WorkerProcess, number: str, *, exclude: set[str] | None = None) -> str:
    """The id of the live call ``number`` is making (not one of ``exclude``)."""

    def probe() -> str | None:
        calls = get(worker, "/calls/live")["calls"]
        ids = [c["id"] for c in calls if c["caller_number"] == number]
        ids = [i for i in ids if i not in (exclude or set())]
        return ids[0] if ids else None

    return str(worker.wait_for(probe, what=f"a live call from {number}"))


def flat(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """An ECS document with dotted keys (``cti.queue.agent``), nested or not."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out |= flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def timeline(worker: WorkerProcess, call_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The call's stored events so far: (action, flattened document); [] before the first."""
    status, body = worker.api("GET", f"/calls/{call_id}")
    if status == 404:
        return []  # the store writes on its own thread
    assert status == 200, body
    return [(e["action"], flat(e["doc"])) for e in body["events"]]


def actions(worker: WorkerProcess, call_id: str) -> list[str]:
    return [action for action, _ in timeline(worker, call_id)]


def wait_action(
    worker: WorkerProcess, call_id: str, action: str, *, count: int = 1, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Wait until the call's timeline has ``count`` events ``action``; returns their documents."""

    def probe() -> list[dict[str, Any]] | None:
        docs = [doc for a, doc in timeline(worker, call_id) if a == action]
        return docs if len(docs) >= count else None

    return list(worker.wait_for(probe, timeout=timeout, what=f"{count} {action} in call {call_id}"))


def queue_actions(worker: WorkerProcess, call_id: str) -> list[tuple[str, str | None]]:
    """The call's queue events as (action, agent or queue), in order."""
    out = []
    for action, doc in timeline(worker, call_id):
        if action.startswith(("queue-", "agent-")):
            out.append((action, doc.get("cti.queue.agent") or doc.get("cti.queue.name")))
    return out


def stored_end(worker: WorkerProcess, call_id: str) -> dict[str, Any]:
    """The call's ``call-ended`` document, once stored."""
    return wait_action(worker, call_id, "call-ended")[0]


def enter_ivr(worker: WorkerProcess, phone: Phone, *, exclude: set[str] | None = None) -> str:
    """``phone`` calls 500 and is heard by the IVR; returns the call id."""
    phone.call("500", timeout=10.0)
    call_id = live_call_id(worker, phone.user, exclude=exclude)
    # The menu's prompt is playing: the IVR, not the dialplan's Answer(), takes the next key.
    wait_until(
        lambda: phone.received_seconds() >= 0.5,
        timeout=10.0,
        what=f"the menu prompt at {phone.user}",
    )
    return call_id


def join(
    worker: WorkerProcess, phone: Phone, key: str = TO_Q, *, exclude: set[str] | None = None
) -> str:
    """``phone`` calls the IVR and presses ``key``; returns the call id once it joined."""
    call_id = enter_ivr(worker, phone, exclude=exclude)
    phone.send_dtmf(key)
    wait_action(worker, call_id, "queue-joined")
    return call_id


def waiter(worker: WorkerProcess, call_id: str, name: str = "q") -> dict[str, Any] | None:
    """The caller of ``call_id`` as GET /queues/{name} lists it, if waiting there."""
    found = [w for w in waiting(worker, name) if w["call_id"] == call_id]
    return found[0] if found else None


def heard(phone: Phone, sound: Path) -> float:
    """How strongly the phone's latest recording contains ``sound`` (anywhere in it)."""
    received = read_wav(phone.received_audio())
    peak, _ = normalized_cross_correlation(read_wav(sound), received, max_lag=len(received) / RATE)
    return peak


def heard_between(phone: Phone, start: float, end: float, sound: Path) -> float:
    """How strongly what the phone received from ``start`` to ``end`` s contains ``sound``."""
    received = read_wav(phone.received_audio())[round(start * RATE) : round(end * RATE)]
    sent = read_wav(sound)
    peak, _ = normalized_cross_correlation(sent, received, max_lag=len(sent) / RATE)
    return peak


def hears_other(phone: Phone, source: Path) -> float:
    """How strongly the phone's recording contains the other phone's source signal."""
    peak, _ = normalized_cross_correlation(
        read_wav(source), read_wav(phone.received_audio()), max_lag=30.0
    )
    return peak


def calls_seen(phone: Phone) -> int:
    """How many calls the phone has seen (rung, answered or closed), by baresip call id."""
    return len({e.call_id for e in phone.events() if e.type.startswith("CALL_") and e.call_id})


def hang_up(phone: Phone) -> None:
    phone.hangup()
    phone.wait_event("CALL_CLOSED", timeout=10.0)


# --------------------------------------------------------------------------- waiting callers
def test_third_caller_waits_hears_music_and_position_then_gets_the_first_free_agent(
    lab: Lab, qworker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """Three callers, two agents: the third waits at position 1 while both talk, hears music and
    "you are number 1"; when 1001 hangs up (1 s wrap-up) the third is connected to 1001."""
    a1000 = phones("1000", auto_answer=True)
    a1001 = phones("1001", auto_answer=True)
    first, second, third = phones("1002"), phones("1003"), phones("2000")
    wait_reachable(qworker, "1000", "1001")

    call1 = join(qworker, first)
    a1000.wait_event("CALL_ESTABLISHED", timeout=10.0)  # tie on idle time: lowest extension
    call2 = join(qworker, second)
    a1001.wait_event("CALL_ESTABLISHED", timeout=10.0)
    call3 = join(qworker, third)
    joined_at = third.received_seconds()  # music only, until the announcement 4 s after joining

    q = queue(qworker)
    assert [(w["call_id"], w["position"], w["offered_to"]) for w in q["waiting"]] == [
        (call3, 1, [])
    ], q["waiting"]
    assert q["waiting"][0]["caller_number"] == "2000"
    states = {a["extension"]: (a["state"], a["call_id"]) for a in q["agents"]}
    assert states["1000"] == ("on-call", call1), states
    assert states["1001"] == ("on-call", call2), states
    assert (q["today"]["offered"], q["today"]["answered"]) == (3, 2), q["today"]
    # The first announcement comes 4 s after joining and lasts ~1.6 s.
    qworker.wait_for(
        lambda: (waiter(qworker, call3) or {}).get("waiting_seconds", 0) >= 7.0,
        timeout=15.0,
        what="the third caller waiting past its first announcement",
    )
    assert [w["call_id"] for w in waiting(qworker)] == [call3]

    hung_up_at = time.monotonic()
    hang_up(a1001)

    offered = a1001.wait_event("CALL_ESTABLISHED", timeout=10.0)
    assert offered.received_at - hung_up_at >= 1.0, "offered again before its 1 s wrap-up"
    (answered,) = wait_action(qworker, call3, "agent-answered")
    assert answered["cti.queue.agent"] == "1001"
    assert answered["cti.queue.wait"] >= 7.0
    assert not waiting(qworker)
    assert calls_seen(a1000) == 1
    wait_until(lambda: a1001.received_seconds() >= 3.0, timeout=10.0, what="3 s of audio at 1001")
    hang_up(third)
    hang_up(a1000)
    a1001.wait_event("CALL_CLOSED", timeout=10.0)

    assert heard(third, PROMPTS / "queue-position-1.wav") > MATCH
    music = lab.paths.rootfs / MOH_FILE
    assert heard_between(third, joined_at + 0.5, joined_at + 3.0, music) > MATCH
    assert hears_other(a1001, signals["2000"]) > MATCH, "1001 did not hear the third caller"
    assert queue_actions(qworker, call3) == [
        ("queue-joined", "q"),
        ("agent-offered", "1001"),
        ("agent-answered", "1001"),
    ]
    summaries = qworker.wait_summary(count=3)
    assert [s["disposition"] for s in summaries] == ["answered"] * 3


def test_longest_idle_agent_is_offered_the_next_caller(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """1001 finishes its call before 1000 does: the next caller rings 1001, idle the longest,
    although a tie would go to 1000."""
    a1000 = phones("1000", auto_answer=True)
    a1001 = phones("1001", auto_answer=True)
    one, two = phones("1002"), phones("1003")
    wait_reachable(qworker, "1000", "1001")
    call1 = join(qworker, one)
    a1000.wait_event("CALL_ESTABLISHED", timeout=10.0)
    call2 = join(qworker, two)
    a1001.wait_event("CALL_ESTABLISHED", timeout=10.0)

    hang_up(a1001)
    wait_agent(qworker, "1001", "available")  # after its 1 s wrap-up
    hang_up(a1000)
    one.wait_event("CALL_CLOSED", timeout=10.0)
    wait_agent(qworker, "1000", "available")

    call3 = join(qworker, one, exclude={call1, call2})

    a1001.wait_event("CALL_ESTABLISHED", timeout=10.0)
    assert [x for x in queue_actions(qworker, call3) if x[0] == "agent-offered"] == [
        ("agent-offered", "1001")
    ]
    assert agent(qworker, "1000")["state"] == "available"
    assert agent(qworker, "1001")["calls_today"] == 2
    hang_up(one)
    a1001.wait_event("CALL_CLOSED", timeout=10.0)
    assert [x[1] for x in queue_actions(qworker, call1) if x[0] == "agent-answered"] == ["1000"]


def test_unanswered_agent_is_skipped_after_ring_timeout_and_caller_keeps_its_place(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """1000 rings 4 s without answering: the call goes to 1001 while the caller stays first in
    line; the timeline says 1000 missed it (no-answer)."""
    a1000 = phones("1000")
    a1001 = phones("1001")
    caller = phones("1002")
    wait_reachable(qworker, "1000", "1001")

    call = join(qworker, caller)

    a1000.wait_event("CALL_INCOMING", timeout=10.0)
    ringing = waiter(qworker, call)
    assert ringing is not None
    assert (ringing["position"], ringing["offered_to"]) == (1, ["1000"])
    assert agent(qworker, "1000")["state"] == "ringing"
    a1001.wait_event("CALL_INCOMING", timeout=10.0)  # after 1000's 4 s ring timeout
    a1000.wait_event("CALL_CLOSED", timeout=5.0)
    moved = waiter(qworker, call)
    assert moved is not None
    assert (moved["position"], moved["offered_to"]) == (1, ["1001"])
    assert agent(qworker, "1000")["state"] == "available"

    a1001.answer()

    a1001.wait_event("CALL_ESTABLISHED", timeout=10.0)
    (answered,) = wait_action(qworker, call, "agent-answered")
    assert answered["cti.queue.agent"] == "1001"
    assert answered["cti.queue.wait"] >= 4.0
    (missed,) = wait_action(qworker, call, "agent-missed")
    assert (missed["cti.queue.agent"], missed["cti.reason"]) == ("1000", "no-answer")
    assert queue_actions(qworker, call) == [
        ("queue-joined", "q"),
        ("agent-offered", "1000"),
        ("agent-missed", "1000"),
        ("agent-offered", "1001"),
        ("agent-answered", "1001"),
    ]
    hang_up(caller)
    a1001.wait_event("CALL_CLOSED", timeout=10.0)


def test_paused_agent_gets_no_offer_until_unpaused(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """Paused, 1000 is passed over (the caller goes to 1001), and a second caller waits rather
    than ring it; unpausing 1000 offers it that caller at once."""
    a1000 = phones("1000", auto_answer=True)
    a1001 = phones("1001", auto_answer=True)
    one, two = phones("1002"), phones("1003")
    wait_reachable(qworker, "1000", "1001")

    status, paused = qworker.api("POST", "/agents/1000/pause", {"reason": "lunch"})
    assert status == 200, paused
    assert (paused["state"], paused["pause_reason"]) == ("paused", "lunch")

    call1 = join(qworker, one)
    a1001.wait_event("CALL_ESTABLISHED", timeout=10.0)
    call2 = join(qworker, two)
    # join() distributes at once: had 1000 been offered the caller, it would be ringing now.
    held = waiter(qworker, call2)
    assert held is not None
    assert (held["position"], held["offered_to"]) == (1, []), held
    assert agent(qworker, "1000")["state"] == "paused"
    assert calls_seen(a1000) == 0

    status, unpaused = qworker.api("DELETE", "/agents/1000/pause")

    assert status == 200, unpaused
    assert (unpaused["state"], unpaused["call_id"]) == ("ringing", call2), unpaused
    a1000.wait_event("CALL_ESTABLISHED", timeout=10.0)
    (answered,) = wait_action(qworker, call2, "agent-answered")
    assert answered["cti.queue.agent"] == "1000"
    assert [x[1] for x in queue_actions(qworker, call1) if x[0] == "agent-offered"] == ["1001"]
    hang_up(one)
    hang_up(two)
    a1000.wait_event("CALL_CLOSED", timeout=10.0)
    a1001.wait_event("CALL_CLOSED", timeout=10.0)


def test_agent_on_a_call_outside_the_queues_is_passed_over(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """1000 talks to 2000 on an ordinary call: it is not reachable, so the caller goes to 1001
    (1000 would otherwise win the longest-idle tie); once that call ends it is reachable again."""
    a1000 = phones("1000")
    a1001 = phones("1001", auto_answer=True)
    other = phones("2000", auto_answer=True)
    caller = phones("1002")
    wait_reachable(qworker, "1000", "1001")
    a1000.dial("2000")
    other.wait_event("CALL_ESTABLISHED", timeout=10.0)
    wait_reachable(qworker, "1000", reachable=False)
    assert agent(qworker, "1000")["state"] == "available"  # free as far as the queues go

    call_id = join(qworker, caller)

    a1001.wait_event("CALL_ESTABLISHED", timeout=10.0)
    (answered,) = wait_action(qworker, call_id, "agent-answered")
    assert answered["cti.queue.agent"] == "1001"
    assert [x[1] for x in queue_actions(qworker, call_id) if x[0] == "agent-offered"] == ["1001"]
    hang_up(a1000)
    other.wait_event("CALL_CLOSED", timeout=10.0)
    wait_reachable(qworker, "1000")
    hang_up(caller)
    a1001.wait_event("CALL_CLOSED", timeout=10.0)


# --------------------------------------------------------------------------- leaving the queue
def test_caller_hanging_up_while_waiting_is_counted_abandoned(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """With no agent reachable two callers wait; the second hangs up: today's abandoned is 1,
    its timeline says queue-abandoned at position 2, and the first is still first."""
    one, two = phones("1002"), phones("1003")
    wait_reachable(qworker, "1000", "1001", reachable=False)
    call1 = join(qworker, one)
    call2 = join(qworker, two)
    assert [(w["call_id"], w["position"]) for w in waiting(qworker)] == [(call1, 1), (call2, 2)]

    hang_up(two)

    qworker.wait_for(
        lambda: queue(qworker)["today"]["abandoned"] == 1,
        what="today.abandoned == 1",
    )
    q = queue(qworker)
    assert [(w["call_id"], w["position"]) for w in q["waiting"]] == [(call1, 1)]
    assert (q["today"]["offered"], q["today"]["answered"]) == (2, 0), q["today"]
    assert q["today"]["service_level_pct"] == 0.0, q["today"]
    (abandoned,) = wait_action(qworker, call2, "queue-abandoned")
    assert (abandoned["cti.queue.position"], abandoned["cti.queue.outcome"]) == (2, "abandoned")
    assert abandoned["cti.queue.wait"] > 0
    assert stored_end(qworker, call2)["cti.disposition"] == "abandoned"
    hang_up(one)
    qworker.wait_for(lambda: queue(qworker)["today"]["abandoned"] == 2, what="today.abandoned == 2")


def test_max_wait_overflows_to_the_next_queue_then_to_an_extension(
    qworker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """Queue short (no agent reachable) sends its caller after 4 s, with the transferring
    prompt, to queue backup (no agent reachable either), which after 4 s sends it to 2000:
    2000 rings, answers and talks to the caller."""
    target = phones("2000", auto_answer=True)
    caller = phones("1002")
    wait_reachable(qworker, "1005", "1003", reachable=False)

    call = join(qworker, caller, TO_SHORT)

    target.wait_event("CALL_ESTABLISHED", timeout=25.0)
    wait_until(lambda: target.received_seconds() >= 3.0, timeout=10.0, what="3 s of audio at 2000")
    short, backup = queue(qworker, "short")["today"], queue(qworker, "backup")["today"]
    assert (short["offered"], short["overflowed"], short["answered"]) == (1, 1, 0), short
    assert (backup["offered"], backup["overflowed"], backup["answered"]) == (1, 1, 0), backup
    assert not waiting(qworker, "short")
    assert not waiting(qworker, "backup")
    hang_up(caller)
    target.wait_event("CALL_CLOSED", timeout=10.0)

    assert heard(caller, PROMPTS / "transferring.wav") > MATCH
    assert hears_other(target, signals["1002"]) > MATCH, "2000 did not hear the caller"
    overflows = wait_action(qworker, call, "queue-overflowed", count=2)
    assert [
        (o["cti.queue.name"], o["cti.reason"], o["cti.queue.overflow_to"]) for o in overflows
    ] == [("short", "max-wait", "queue backup"), ("backup", "max-wait", "extension 2000")]
    assert all(4.0 <= o["cti.queue.wait"] < 6.0 for o in overflows), overflows
    events = actions(qworker, call)
    tail = events[events.index("queue-overflowed") :]
    assert [a for a in tail if a != "answered"][:6] == [
        "queue-overflowed",
        "queue-joined",
        "queue-overflowed",
        "transferred",
        "dialing",
        "bridged",
    ], events
    assert stored_end(qworker, call)["cti.disposition"] == "answered"


def test_max_wait_overflow_to_a_goodbye_hangs_up(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """Queue brief (no agent reachable) says queue-timeout after 4 s and hangs up."""
    caller = phones("1002")
    wait_reachable(qworker, "1005", reachable=False)

    call = join(qworker, caller, TO_BRIEF)

    caller.wait_event("CALL_CLOSED", timeout=20.0)
    assert heard(caller, PROMPTS / "queue-timeout.wav") > MATCH
    today = queue(qworker, "brief")["today"]
    assert (today["offered"], today["overflowed"]) == (1, 1), today
    (overflow,) = wait_action(qworker, call, "queue-overflowed")
    assert overflow["cti.queue.overflow_to"] == "hang up after queue-timeout"
    end = stored_end(qworker, call)
    assert end["cti.disposition"] == "queue-timeout", end


# -------------------------------------------------------------------------------- restarts
def test_waiting_callers_survive_a_worker_kill_in_their_order(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """SIGKILL with two callers waiting (1000 paused, 1001 unregistered): the restarted worker
    has both waiting in their original order and joining times, 1000 still paused and today's
    figures kept; unpausing 1000 gives it the first caller."""
    a1000 = phones("1000", auto_answer=True)
    one, two = phones("1002"), phones("1003")
    wait_reachable(qworker, "1000")
    status, body = qworker.api("POST", "/agents/1000/pause", {"reason": "meeting"})
    assert status == 200, body
    call1 = join(qworker, one)
    call2 = join(qworker, two)
    before = waiting(qworker)
    assert [(w["call_id"], w["position"]) for w in before] == [(call1, 1), (call2, 2)]
    wait_until(lambda: len(actions(qworker, call2)) > 0, what="the second caller stored")
    waited = waiting(qworker)[0]["waiting_seconds"]

    qworker.stop(signal.SIGKILL)
    qworker.start()

    qworker.wait_for(
        lambda: qworker.count("recovery.adopt_queued") >= 2, what="both callers adopted"
    )
    after = qworker.wait_for(
        lambda: waiting(qworker) if len(waiting(qworker)) == 2 else None,
        what="two callers waiting in q after the restart",
    )
    assert [(w["call_id"], w["position"]) for w in after] == [(call1, 1), (call2, 2)]
    for old, new in zip(before, after, strict=True):
        joined_before = old["joined"]
        assert abs(_seconds(new["joined"]) - _seconds(joined_before)) < 1.0, (old, new)
    kept = agent(qworker, "1000")
    assert (kept["state"], kept["pause_reason"]) == ("paused", "meeting"), kept
    assert queue(qworker)["today"]["offered"] == 2
    wait_reachable(qworker, "1000")

    status, body = qworker.api("DELETE", "/agents/1000/pause")

    assert status == 200, body
    a1000.wait_event("CALL_ESTABLISHED", timeout=10.0)
    (answered,) = wait_action(qworker, call1, "agent-answered")
    assert answered["cti.queue.agent"] == "1000"
    assert answered["cti.queue.wait"] > waited, "the wait restarted with the worker"
    assert [(w["call_id"], w["position"]) for w in waiting(qworker)] == [(call2, 1)]
    hang_up(one)
    hang_up(two)
    a1000.wait_event("CALL_CLOSED", timeout=10.0)


def test_adopted_queue_caller_is_recorded_with_its_whole_duration(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """A caller adopted back into q after a SIGKILL, who then hangs up: the stored call keeps
    the time it spent before the restart (its duration spans call-started to call-ended) and the
    menus it went through."""
    caller = phones("1002")
    wait_reachable(qworker, "1000", "1001", reachable=False)
    call = join(qworker, caller)
    qworker.wait_for(
        lambda: (waiter(qworker, call) or {}).get("waiting_seconds", 0) >= 2.0,
        what="the caller waiting 2 s",
    )

    qworker.stop(signal.SIGKILL)
    qworker.start()
    qworker.wait_for(lambda: qworker.count("recovery.adopt_queued") >= 1, what="caller adopted")
    hang_up(caller)

    stored_end(qworker, call)
    summary = get(qworker, f"/calls/{call}")["summary"]
    (logged,) = [s for s in qworker.wait_summary() if s["call_id"] == call]
    span = summary["ended"] - summary["started"]
    assert span >= 2.0, summary
    # A product bug (reported 2026-12-04): both are counted from the adoption, not the arrival,
    # and ivr_path comes back empty.
    assert summary["duration"] == pytest.approx(span, abs=0.5), (
        f"stored duration {summary['duration']} s, but the call lasted {span:.2f} s "
        "(call-started to call-ended): an adopted call's duration restarts at the adoption"
    )
    assert logged["duration"] == pytest.approx(span, abs=0.5), logged
    assert summary["ivr_path"] == ["main"], summary


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# ------------------------------------------------------------------------------ agents
def test_dynamic_agent_takes_calls_only_while_logged_in(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """1004 (a dynamic agent of q) logs in and is rung for a caller; after logging out it is
    not offered the next caller, who is offered to it once it logs in again."""
    a1004 = phones("1004", auto_answer=True)
    one, two = phones("1002"), phones("1003")
    wait_reachable(qworker, "1004")
    wait_reachable(qworker, "1000", "1001", reachable=False)
    assert agent(qworker, "1004")["state"] == "logged-out"

    status, body = qworker.api("POST", "/agents/1004/login")
    assert status == 200, body
    assert (body["state"], body["queues"]) == ("available", ["q"]), body
    call1 = join(qworker, one)
    a1004.wait_event("CALL_ESTABLISHED", timeout=10.0)
    (answered,) = wait_action(qworker, call1, "agent-answered")
    assert answered["cti.queue.agent"] == "1004"
    hang_up(one)
    a1004.wait_event("CALL_CLOSED", timeout=10.0)

    status, body = qworker.api("POST", "/agents/1004/logout")
    assert status == 200, body
    assert (body["state"], body["queues"]) == ("logged-out", []), body
    call2 = join(qworker, two)
    held = waiter(qworker, call2)
    assert held is not None
    assert (held["position"], held["offered_to"]) == (1, []), held
    assert calls_seen(a1004) == 1

    status, body = qworker.api("POST", "/agents/1004/login", {"queues": ["q"]})
    assert status == 200, body
    a1004.wait_event("CALL_ESTABLISHED", timeout=10.0)
    (answered,) = wait_action(qworker, call2, "agent-answered")
    assert answered["cti.queue.agent"] == "1004"
    hang_up(two)
    a1004.wait_event("CALL_CLOSED", timeout=10.0)


# ------------------------------------------------------------------------------- after hours
def test_menu_out_of_hours_plays_closed_and_hangs_up(
    qworker: WorkerProcess, phones: PhoneFactory
) -> None:
    """Key 9 leads to menu night, whose hours are never open: the caller hears the closed
    prompt instead of the menu and is hung up; the timeline says hours-closed."""
    caller = phones("1002")
    call = enter_ivr(qworker, caller)

    caller.send_dtmf(TO_NIGHT)

    caller.wait_event("CALL_CLOSED", timeout=20.0)
    assert heard(caller, PROMPTS / "closed.wav") > MATCH
    (closed,) = wait_action(qworker, call, "hours-closed")
    assert (closed["cti.menu"], closed["cti.hours"]) == ("night", "never"), closed
    assert "menu-entered" not in [
        a for a, doc in timeline(qworker, call) if doc.get("cti.menu") == "night"
    ]
    end = stored_end(qworker, call)
    assert end["cti.disposition"] == "ivr-hangup", end
