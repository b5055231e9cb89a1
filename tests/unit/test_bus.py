"""Specification of the live event bus: call events in, screen pops out, never blocking."""

from __future__ import annotations

import asyncio

import pytest

from stasis_app.errors import SubscriberLimit
from stasis_app.events import CallEvent
from stasis_app.events import catalogue as ev
from stasis_app.events.bus import EventBus, ScreenPop, Subscription
from tests.unit.http_support import EPOCH0, call_event


async def take_all(subscription: Subscription) -> list[ScreenPop]:
    items: list[ScreenPop] = []
    while True:
        try:
            items.append(await asyncio.wait_for(anext(subscription), 0.01))
        except (TimeoutError, StopAsyncIteration):
            return items


def a_call(bus: EventBus, call_id: str = "c1", callee: str = "2000") -> None:
    bus.emit(call_event("call-started", call_id, caller_name="Alice", dialed="2000"))
    bus.emit(call_event("dialing", call_id, extension=callee, leg=f"{call_id}-leg1"))
    bus.emit(call_event("answered", call_id))
    bus.emit(call_event("bridged", call_id, extension=callee, bridge=f"{call_id}-bridge"))
    bus.emit(call_event("call-ended", call_id, disposition="answered", cause=16, duration=12.5))


@pytest.mark.asyncio
async def test_a_call_becomes_ringing_answered_ended() -> None:
    """A dialed call gives ringing (with caller id), one answered, and ended."""
    bus = EventBus()
    sub = bus.subscribe()
    a_call(bus)
    pops = await take_all(sub)
    assert [p["type"] for p in pops] == ["ringing", "answered", "ended"]
    ringing = pops[0]
    assert (ringing["extension"], ringing["caller_number"], ringing["caller_name"]) == (
        "2000",
        "1000",
        "Alice",
    )
    assert pops[1]["answered_by"] == "extension"
    assert (pops[2]["disposition"], pops[2]["duration"]) == ("answered", 12.5)


@pytest.mark.asyncio
async def test_system_answer_before_dialing_is_a_screen_pop() -> None:
    """The IVR answering a call is an answered pop by the system."""
    bus = EventBus()
    sub = bus.subscribe()
    bus.emit(call_event("answered"))
    [pop] = await take_all(sub)
    assert (pop["type"], pop["answered_by"]) == ("answered", "system")


@pytest.mark.asyncio
async def test_answer_to_play_a_failure_prompt_is_not_a_screen_pop() -> None:
    """After a failed dial, answering the caller only plays "unavailable": nobody answered."""
    bus = EventBus()
    sub = bus.subscribe()
    bus.emit(call_event("dialing", extension="2000"))
    bus.emit(call_event("dial-failed", extension="2000", reason="busy"))
    bus.emit(call_event("answered"))
    assert [p["type"] for p in await take_all(sub)] == ["ringing"]


@pytest.mark.asyncio
async def test_transfer_is_a_screen_pop() -> None:
    """An IVR transfer reaches screens with its target extension."""
    bus = EventBus()
    sub = bus.subscribe()
    bus.emit(call_event("transferred", extension="2001", by="ivr"))
    [pop] = await take_all(sub)
    assert (pop["type"], pop["extension"], pop["by"]) == ("transferred", "2001", "ivr")


@pytest.mark.asyncio
async def test_other_actions_are_not_screen_pops() -> None:
    """Digits, menus and the like are for the call record, not for screens."""
    bus = EventBus()
    sub = bus.subscribe()
    bus.emit(call_event("digit", digit="1"))
    bus.emit(call_event("menu-entered", menu="main"))
    assert await take_all(sub) == []


@pytest.mark.asyncio
async def test_extension_filter_keeps_calls_that_extension_took_part_in() -> None:
    """A subscriber for 2001 sees the call rung at 2001 (even its end) and not others."""
    bus = EventBus()
    mine, other = bus.subscribe("2001"), bus.subscribe("3000")
    bus.emit(call_event("dialing", "c1", extension="2001"))
    bus.emit(call_event("call-ended", "c1", disposition="no-answer", cause=19, duration=3.0))
    assert [p["type"] for p in await take_all(mine)] == ["ringing", "ended"]
    assert await take_all(other) == []


@pytest.mark.asyncio
async def test_extension_filter_matches_the_caller() -> None:
    """The caller's extension is a party to its calls."""
    bus = EventBus()
    sub = bus.subscribe("1000")
    bus.emit(call_event("dialing", extension="2000"))
    assert len(await take_all(sub)) == 1


@pytest.mark.asyncio
async def test_slow_subscriber_loses_the_oldest_and_is_told() -> None:
    """A full queue drops its oldest events; the reader first gets an overflow count."""
    bus = EventBus(queue_size=2)
    sub = bus.subscribe()
    for n in range(5):
        bus.emit(call_event("transferred", f"c{n}", extension="2000", by="ivr"))
    pops = await take_all(sub)
    assert pops[0] == {"type": "overflow", "dropped": 3}
    assert [p["call_id"] for p in pops[1:]] == ["c3", "c4"]


@pytest.mark.asyncio
async def test_closing_the_bus_ends_every_subscription() -> None:
    """At shutdown, open streams finish instead of waiting forever."""
    bus = EventBus()
    sub = bus.subscribe()
    reader = asyncio.create_task(take_all_until_end(sub))
    await asyncio.sleep(0)
    bus.close()
    assert await asyncio.wait_for(reader, 1) == []
    assert bus.subscribers == 0


async def take_all_until_end(sub: Subscription) -> list[ScreenPop]:
    return [item async for item in sub]


@pytest.mark.asyncio
async def test_unsubscribed_reader_gets_nothing_more() -> None:
    """After unsubscribe, emit no longer reaches the subscription."""
    bus = EventBus()
    sub = bus.subscribe()
    bus.unsubscribe(sub)
    bus.emit(call_event("dialing", extension="2000"))
    assert await take_all(sub) == []
    assert bus.subscribers == 0


def test_emit_without_a_loop_or_subscribers_does_not_fail() -> None:
    """emit is synchronous and safe with nobody listening."""
    bus = EventBus()
    bus.emit(call_event("dialing", extension="2000"))
    assert bus.subscribers == 0


# -- transfers and hold (events built from catalogue facts, as the call machine emits them) -------


def record(bus: EventBus, fact: ev.Fact, call_id: str = "c1") -> None:
    bus.emit(CallEvent.of(call_id, fact, caller="1000", dialed="2000", at=EPOCH0))


def answered_call(bus: EventBus) -> None:
    """1000 called 2000, which answered."""
    record(bus, ev.CallStarted("1000", "Alice", "2000", "PJSIP/1000-00000001"))
    record(bus, ev.Dialing(extension="2000", leg="c1-leg1"))
    record(bus, ev.Bridged(extension="2000", bridge="c1-bridge"))


@pytest.mark.asyncio
async def test_an_attended_transfer_rings_the_target_with_the_original_caller() -> None:
    """2000 transfers the caller to 3000: 3000 rings with 1000's number and name, answers, and
    the call becomes 3000's; every pop of the transfer carries its id."""
    bus = EventBus()
    sub = bus.subscribe()
    answered_call(bus)
    record(bus, ev.TransferStarted(transfer="t1", extension="3000", moved="c1", by="phone"))
    record(bus, ev.TransferAnswered(transfer="t1", extension="3000"))
    record(bus, ev.TransferCompleted(transfer="t1", extension="3000"))
    pops = (await take_all(sub))[2:]
    assert [(p["type"], p["extension"]) for p in pops] == [
        ("ringing", "3000"),
        ("answered", "3000"),
        ("transferred", "3000"),
    ]
    ringing, answered, transferred = pops
    assert (ringing["caller_number"], ringing["caller_name"], ringing["by"]) == (
        "1000",
        "Alice",
        "phone",
    )
    assert answered["answered_by"] == "extension"
    assert transferred["by"] == "phone"  # remembered from transfer-started
    assert {p["transfer"] for p in pops} == {"t1"}


@pytest.mark.asyncio
async def test_the_transfer_target_sees_the_call_from_its_ringing_on() -> None:
    """A subscriber for 3000 gets the transfer and the rest of the call, not what came before."""
    bus = EventBus()
    target = bus.subscribe("3000")
    answered_call(bus)
    record(bus, ev.TransferStarted(transfer="t1", extension="3000", moved="c1", by="api"))
    record(bus, ev.TransferCompleted(transfer="t1", extension="3000"))
    record(bus, ev.CallEnded(disposition="answered", cause=16, duration=30.0, callee="3000"))
    pops = await take_all(target)
    assert [p["type"] for p in pops] == ["ringing", "transferred", "ended"]
    assert pops[0]["caller_number"] == "1000"
    assert pops[-1]["extension"] == "3000"


@pytest.mark.asyncio
async def test_a_cancelled_transfer_tells_the_target_why() -> None:
    """The target's ringing pop is closed by transfer-cancelled, with the reason."""
    bus = EventBus()
    sub = bus.subscribe("3000")
    answered_call(bus)
    record(bus, ev.TransferStarted(transfer="t1", extension="3000", moved="c1", by="api"))
    record(bus, ev.TransferCancelled(transfer="t1", extension="3000", reason="no-answer"))
    cancelled = (await take_all(sub))[-1]
    assert (cancelled["type"], cancelled["extension"]) == ("transfer-cancelled", "3000")
    assert (cancelled["reason"], cancelled["transfer"]) == ("no-answer", "t1")


@pytest.mark.asyncio
async def test_hold_and_unhold_are_screen_pops_of_the_holding_extension() -> None:
    bus = EventBus()
    sub = bus.subscribe("2000")
    answered_call(bus)
    record(bus, ev.Held(party="c1-leg1", extension="2000"))
    record(bus, ev.Unheld(party="c1-leg1", extension="2000"))
    pops = (await take_all(sub))[-2:]
    assert [(p["type"], p["extension"]) for p in pops] == [("held", "2000"), ("unheld", "2000")]


@pytest.mark.asyncio
async def test_an_answer_after_a_transfer_started_is_not_a_system_answer() -> None:
    """Like after a dial, answering the caller then only plays a prompt."""
    bus = EventBus()
    sub = bus.subscribe()
    record(bus, ev.TransferStarted(transfer="t1", extension="3000", moved="c1", by="ivr"))
    record(bus, ev.Answered())
    assert [p["type"] for p in await take_all(sub)] == ["ringing"]


# -- queues ---------------------------------------------------------------------------------------

SALES_CALL = (ev.CallStarted("1000", "Alice", "600", "PJSIP/1000-00000001"), ev.Answered())


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fact", "expected"),
    [
        pytest.param(
            ev.QueueJoined(queue="sales", position=2),
            {"type": "queue-joined", "extension": "", "queue": "sales", "position": 2},
            id="joined",
        ),
        pytest.param(
            ev.AgentOffered(queue="sales", agent="1001", leg="c1-leg1"),
            {"type": "agent-offered", "extension": "1001", "queue": "sales"},
            id="offered",
        ),
        pytest.param(
            ev.AgentMissed(queue="sales", agent="1001", reason="no-answer"),
            {"type": "agent-missed", "extension": "1001", "queue": "sales", "reason": "no-answer"},
            id="missed",
        ),
        pytest.param(
            ev.AgentAnswered(queue="sales", agent="1002", wait=14.25, within_sl=1),
            {"type": "agent-answered", "extension": "1002", "queue": "sales", "wait": 14.25},
            id="answered",
        ),
        pytest.param(
            ev.QueueAbandoned(queue="sales", wait=31.5, position=1),
            {"type": "queue-abandoned", "extension": "", "queue": "sales", "wait": 31.5},
            id="abandoned",
        ),
        pytest.param(
            ev.QueueOverflowed(queue="sales", wait=300.0, reason="max-wait", to="queue support"),
            {
                "type": "queue-overflowed",
                "extension": "",
                "queue": "sales",
                "wait": 300.0,
                "to": "queue support",
                "reason": "max-wait",
            },
            id="overflowed",
        ),
    ],
)
async def test_each_queue_fact_is_a_screen_pop(fact: ev.Fact, expected: ScreenPop) -> None:
    """A queue pop is the usual call fields plus the queue's: where the caller waits, which
    agent rings or took the call, how long the caller waited, where an overflow sent them."""
    bus = EventBus()
    sub = bus.subscribe()
    record(bus, fact)
    [pop] = await take_all(sub)
    assert pop == {
        "call_id": "c1",
        "at": EPOCH0,
        "event_id": pop["event_id"],
        "caller_number": "1000",
        "caller_name": "",
        "dialed": "2000",
        **expected,
    }


@pytest.mark.asyncio
async def test_hours_closed_is_not_a_screen_pop() -> None:
    """The caller hears the closed message: nobody's screen is concerned."""
    bus = EventBus()
    sub = bus.subscribe()
    record(bus, ev.HoursClosed(menu="main", hours="office"))
    assert await take_all(sub) == []


@pytest.mark.asyncio
async def test_a_queue_call_pops_its_queue_steps_and_its_phones() -> None:
    """Joined, the system's answer (music), the first agent rings and misses, the second rings
    and takes it: the queue's pops and the dialed phones' usual ringing/answered, in order."""
    bus = EventBus()
    sub = bus.subscribe()
    for fact in (
        *SALES_CALL,
        ev.QueueJoined(queue="sales", position=1),
        ev.AgentOffered(queue="sales", agent="1001", leg="c1-leg1"),
        ev.Dialing(extension="1001", leg="c1-leg1"),
        ev.AgentMissed(queue="sales", agent="1001", reason="no-answer"),
        ev.AgentOffered(queue="sales", agent="1002", leg="c1-leg2"),
        ev.Dialing(extension="1002", leg="c1-leg2"),
        ev.Answered(),  # to play the next announcement: not a system answer any more
        ev.Bridged(extension="1002", bridge="c1-bridge"),
        ev.AgentAnswered(queue="sales", agent="1002", wait=21.0, within_sl=0),
        ev.CallEnded(disposition="answered", cause=16, duration=80.0, callee="1002"),
    ):
        record(bus, fact)
    pops = await take_all(sub)
    assert [(p["type"], p["extension"]) for p in pops] == [
        ("answered", "2000"),
        ("queue-joined", ""),
        ("agent-offered", "1001"),
        ("ringing", "1001"),
        ("agent-missed", "1001"),
        ("agent-offered", "1002"),
        ("ringing", "1002"),
        ("answered", "1002"),
        ("agent-answered", "1002"),
        ("ended", "1002"),
    ]
    assert pops[0]["answered_by"] == "system"
    assert {p["caller_name"] for p in pops} == {"Alice"}


@pytest.mark.asyncio
async def test_an_offer_alone_makes_the_agent_a_party_to_the_call() -> None:
    """A screen for 1001 gets the call from the offer on, even when the queue emits no dialing
    for it, and hears nothing of another agent's calls."""
    bus = EventBus()
    agent, other = bus.subscribe("1001"), bus.subscribe("1003")
    record(bus, ev.QueueJoined(queue="sales", position=1))
    record(bus, ev.AgentOffered(queue="sales", agent="1001", leg="c1-leg1"))
    record(bus, ev.AgentAnswered(queue="sales", agent="1001", wait=4.0, within_sl=1))
    record(bus, ev.Held(party="c1-leg1", extension="1001"))
    assert [p["type"] for p in await take_all(agent)] == ["agent-offered", "agent-answered", "held"]
    assert await take_all(other) == []


@pytest.mark.asyncio
async def test_an_answer_makes_the_agent_a_party_to_the_call() -> None:
    """agent-answered names the agent as well (a call picked up after a worker restart has no
    offer on this bus)."""
    bus = EventBus()
    agent = bus.subscribe("1002")
    record(bus, ev.AgentAnswered(queue="sales", agent="1002", wait=4.0, within_sl=1))
    record(bus, ev.CallEnded(disposition="answered", duration=9.0, callee="1002"))
    assert [p["type"] for p in await take_all(agent)] == ["agent-answered", "ended"]


@pytest.mark.asyncio
async def test_a_missed_agent_learns_how_the_call_went_on() -> None:
    """An agent that rang and missed stays a party, like any phone the call rang: its screen
    sees another agent take the call (or the caller abandon), so no stale offer is left."""
    bus = EventBus()
    missed = bus.subscribe("1001")
    record(bus, ev.AgentOffered(queue="sales", agent="1001", leg="c1-leg1"))
    record(bus, ev.AgentMissed(queue="sales", agent="1001", reason="busy"))
    record(bus, ev.AgentOffered(queue="sales", agent="1002", leg="c1-leg2"))
    record(bus, ev.AgentAnswered(queue="sales", agent="1002", wait=30.0, within_sl=0))
    pops = await take_all(missed)
    assert [(p["type"], p["extension"]) for p in pops] == [
        ("agent-offered", "1001"),
        ("agent-missed", "1001"),
        ("agent-offered", "1002"),
        ("agent-answered", "1002"),
    ]


@pytest.mark.asyncio
async def test_an_abandoned_caller_reaches_the_ringing_agent() -> None:
    bus = EventBus()
    agent = bus.subscribe("1001")
    record(bus, ev.AgentOffered(queue="sales", agent="1001", leg="c1-leg1"))
    record(bus, ev.QueueAbandoned(queue="sales", wait=12.0, position=1))
    assert [p["type"] for p in await take_all(agent)][-1] == "queue-abandoned"


# -- agent state (not call events) ----------------------------------------------------------------


def agent_state(extension: str = "1001", state: str = "paused") -> ScreenPop:
    return {
        "type": "agent-state",
        "extension": extension,
        "state": state,
        "reason": "lunch",
        "queues": ["sales"],
        "at": 1733330000.0,
    }


@pytest.mark.asyncio
async def test_an_agent_state_reaches_its_extension_and_unfiltered_subscribers() -> None:
    """Screens of that agent and supervisors (no filter) get it, as given plus the event_id
    the bus mints for it (its resume cursor); others do not."""
    bus = EventBus()
    everyone, agent, other = bus.subscribe(), bus.subscribe("1001"), bus.subscribe("1002")
    item = agent_state()
    bus.publish_agent(item)
    [received] = await take_all(everyone)
    assert received == {**agent_state(), "event_id": received["event_id"]}
    assert len(received["event_id"]) == 32
    assert await take_all(agent) == [received]
    assert await take_all(other) == []
    assert item == agent_state()  # the publisher's dict is not changed


@pytest.mark.asyncio
async def test_an_agent_state_does_not_make_the_agent_a_party_to_any_call() -> None:
    """Publishing an agent's state touches no call: its screen still gets other calls' pops
    only when it takes part in them."""
    bus = EventBus()
    agent = bus.subscribe("1001")
    record(bus, ev.QueueJoined(queue="sales", position=1))
    bus.publish_agent(agent_state(state="available"))
    record(bus, ev.QueueAbandoned(queue="sales", wait=3.0, position=1))
    assert [p["type"] for p in await take_all(agent)] == ["agent-state"]


@pytest.mark.asyncio
async def test_agent_states_and_call_pops_share_one_bounded_queue() -> None:
    """A slow reader loses the oldest items, agent states and pops alike, and is told."""
    bus = EventBus(queue_size=2)
    sub = bus.subscribe()
    for state in ("available", "ringing", "on-call"):
        bus.publish_agent(agent_state(state=state))
    record(bus, ev.QueueJoined(queue="sales", position=1))
    pops = await take_all(sub)
    assert pops[0] == {"type": "overflow", "dropped": 2}
    assert [p["type"] for p in pops[1:]] == ["agent-state", "queue-joined"]
    assert pops[1]["state"] == "on-call"


@pytest.mark.asyncio
async def test_publishing_an_agent_state_without_subscribers_or_after_close_is_harmless() -> None:
    """Synchronous, nothing kept for later subscribers, nothing delivered after close."""
    bus = EventBus()
    bus.publish_agent(agent_state())
    sub = bus.subscribe("1001")
    bus.close()
    bus.publish_agent(agent_state())
    assert await take_all(sub) == []


def test_publishing_an_agent_state_needs_no_event_loop() -> None:
    bus = EventBus()
    bus.subscribe()
    bus.publish_agent(agent_state())
    assert bus.subscribers == 1


def test_subscribers_are_bounded_and_a_closed_one_frees_its_slot() -> None:
    """One subscriber past max_subscribers raises SubscriberLimit naming the limit; closing one
    makes room again."""
    bus = EventBus(max_subscribers=2)
    first, _second = bus.subscribe(), bus.subscribe("2000")
    with pytest.raises(SubscriberLimit) as info:
        bus.subscribe()
    assert info.value.limit == 2
    first.close()
    bus.subscribe()
    assert bus.subscribers == 2


# -- resume (subscribe(after=event_id)) -----------------------------------------------------------


def dialing(call_id: str, extension: str) -> CallEvent:
    """A phone rings for ``call_id``; its event id is ``e-<call_id>``."""
    data = {"extension": extension}
    return CallEvent(call_id, "dialing", data, "1000", extension, EPOCH0, event_id=f"e-{call_id}")


def three_calls_and_an_agent(bus: EventBus) -> str:
    """Ringing for 2000, 3000, 2000 (calls c1, c2, c3), then an agent state of 2000; returns
    the event id the bus gave the agent state."""
    for call_id, extension in (("c1", "2000"), ("c2", "3000"), ("c3", "2000")):
        bus.emit(dialing(call_id, extension))
    watcher = bus.subscribe(after="e-c3")
    bus.publish_agent(agent_state(extension="2000", state="available"))
    [item] = watcher._items
    watcher.close()
    return str(item["event_id"])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("extension", "after", "expected"),
    [
        (None, "e-c1", ["e-c2", "e-c3", "agent"]),
        (None, "e-c3", ["agent"]),
        (None, "agent", []),
        ("2000", "e-c1", ["e-c3", "agent"]),
        ("3000", "e-c1", ["e-c2"]),
        ("2000", "e-c2", ["e-c3", "agent"]),  # a cursor the filtered stream never sent
        ("4000", "e-c1", []),
        (None, "never-seen", ["missed"]),
        ("2000", "never-seen", ["missed"]),
    ],
)
async def test_resume_replays_what_came_after_the_cursor_with_the_filter(
    extension: str | None, after: str, expected: list[str]
) -> None:
    """A subscriber resuming after an event id first gets the kept items that followed it, as
    its filter would have let them through; an id not kept gives one ``missed`` item."""
    bus = EventBus()
    agent_id = three_calls_and_an_agent(bus)
    replayed = await take_all(
        bus.subscribe(extension, after=agent_id if after == "agent" else after)
    )
    names = [str(i.get("event_id", i["type"])) for i in replayed]
    assert [("agent" if n == agent_id else n) for n in names] == expected


@pytest.mark.asyncio
async def test_an_unknown_cursor_gives_missed_then_live_items() -> None:
    """``missed`` names the cursor; what happens from then on follows as usual."""
    bus = EventBus()
    three_calls_and_an_agent(bus)
    sub = bus.subscribe(after="from-before-a-restart")
    bus.emit(dialing("c4", "2000"))
    items = await take_all(sub)
    assert items[0] == {"type": "missed", "after": "from-before-a-restart"}
    assert [i["event_id"] for i in items[1:]] == ["e-c4"]


@pytest.mark.asyncio
async def test_a_cursor_older_than_the_ring_is_missed() -> None:
    """The ring keeps ``history`` items: an evicted cursor is missed, the next kept one is not."""
    bus = EventBus(history=2)
    for call_id in ("c1", "c2", "c3"):
        bus.emit(dialing(call_id, "2000"))
    assert await take_all(bus.subscribe(after="e-c1")) == [{"type": "missed", "after": "e-c1"}]
    assert [p["event_id"] for p in await take_all(bus.subscribe(after="e-c2"))] == ["e-c3"]


@pytest.mark.asyncio
async def test_items_are_kept_while_nobody_listens() -> None:
    """The ring fills with no subscriber at all: that is when a client is reconnecting."""
    bus = EventBus()
    bus.emit(dialing("c1", "2000"))
    assert bus.subscribers == 0
    bus.emit(dialing("c2", "2000"))
    assert [p["event_id"] for p in await take_all(bus.subscribe(after="e-c1"))] == ["e-c2"]


def test_the_ring_is_bounded() -> None:
    """However many items pass, the ring and its index hold at most ``history`` entries."""
    bus = EventBus(history=3)
    for n in range(50):
        bus.emit(dialing(f"c{n}", "2000"))
        bus.publish_agent(agent_state())
    assert len(bus._recent) == len(bus._places) == 3


@pytest.mark.asyncio
async def test_no_history_means_every_resume_is_missed() -> None:
    """``history=0`` keeps nothing: a cursor is always reported missed."""
    bus = EventBus(history=0)
    bus.emit(dialing("c1", "2000"))
    assert await take_all(bus.subscribe(after="e-c1")) == [{"type": "missed", "after": "e-c1"}]
