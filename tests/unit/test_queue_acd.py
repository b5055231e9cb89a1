"""The ACD (sans-I/O): distribution, agent states and today's figures, as tables.

Every test drives :class:`Acd` with explicit times; nothing sleeps or reads a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stasis_app.errors import AgentNotFound, AgentStateConflict, QueueNotFound
from stasis_app.events import catalogue as ev
from stasis_app.queues.acd import (
    Acd,
    AgentChanged,
    Announce,
    CancelTimer,
    Expired,
    Fact,
    Offer,
    Out,
    Refused,
    StartTimer,
)
from stasis_app.queues.model import Overflow, OverflowKind, QueueConfig, QueueDef, Strategy
from stasis_app.queues.views import AgentState

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC).timestamp()


def config(*queues: QueueDef) -> QueueConfig:
    return QueueConfig({q.name: q for q in queues})


SALES = QueueDef(
    "sales",
    members=("1000", "1001", "1002"),
    agents=("1004",),
    ring_timeout=15,
    wrapup=5,
    max_wait=300,
    announce_every=30,
    service_level=20,
)


class World:
    """An ACD plus the phones' reachability, which tests flip."""

    def __init__(self, *queues: QueueDef, offline: tuple[str, ...] = ()) -> None:
        self.offline = set(offline)
        self.busy: set[str] = set()
        definition = config(*queues) if queues else config(SALES)
        self.acd = Acd(definition, self.reachable, tz=UTC, now=T0, online=self.online)

    def online(self, extension: str) -> bool:
        return extension not in self.offline

    def reachable(self, extension: str) -> bool:
        return extension not in self.offline and extension not in self.busy


def offers(outs: list[Out]) -> list[tuple[str, tuple[str, ...]]]:
    return [(o.call_id, o.agents) for o in outs if isinstance(o, Offer)]


def facts(outs: list[Out]) -> list[ev.Fact]:
    return [o.fact for o in outs if isinstance(o, Fact)]


def changes(outs: list[Out]) -> list[tuple[str, AgentState]]:
    """The agent changes told, in order, each as it was when it happened."""
    return [(o.extension, o.view.state) for o in outs if isinstance(o, AgentChanged)]


def state(w: World, extension: str, now: float = T0) -> AgentState:
    return w.acd.agent_view(extension, now).state


# -- distribution ---------------------------------------------------------------------------------


def test_a_caller_is_offered_to_the_longest_idle_agent() -> None:
    w = World()
    # 1001 finished a call most recently, 1000 before that; 1002 has been idle since the start.
    for ext, at in (("1000", T0 + 10), ("1001", T0 + 20)):
        w.acd.join(f"c{ext}", "sales", "x", "", at - 5)
        w.acd.answered(f"c{ext}", ext, f"leg{ext}", at - 4)
        w.acd.channel_gone(f"leg{ext}", at)
        w.acd.timer(("wrapup", ext), at + 5)
    outs = w.acd.join("c1", "sales", "5551", "Kim", T0 + 60)
    assert offers(outs) == [("c1", ("1002",))]
    assert state(w, "1002") is AgentState.RINGING
    assert isinstance(facts(outs)[0], ev.QueueJoined)


@pytest.mark.parametrize(
    ("offline", "busy", "expected"),
    [
        ((), (), ("1000",)),  # all idle since the same moment: lowest extension
        (("1000",), (), ("1001",)),  # not registered: skipped
        ((), ("1000", "1001"), ("1002",)),  # on another call: skipped
        (("1000", "1001", "1002"), (), None),  # nobody reachable: the caller waits
    ],
)
def test_only_reachable_agents_are_offered(
    offline: tuple[str, ...], busy: tuple[str, ...], expected: tuple[str, ...] | None
) -> None:
    w = World(offline=offline)
    w.busy.update(busy)
    outs = w.acd.join("c1", "sales", "5551", "", T0)
    assert offers(outs) == ([("c1", expected)] if expected else [])


def test_round_robin_goes_on_after_the_last_agent_offered() -> None:
    rr = QueueDef("rr", members=("1000", "1001", "1002"), strategy=Strategy.ROUND_ROBIN, wrapup=0)
    w = World(rr)
    picked = []
    for n in range(4):
        outs = w.acd.join(f"c{n}", "rr", "x", "", T0 + n)
        (call, agents) = offers(outs)[0]
        picked.append(agents[0])
        w.acd.answered(call, agents[0], f"leg{n}", T0 + n)
        w.acd.channel_gone(f"leg{n}", T0 + n)  # no wrap-up: free again at once
    assert picked == ["1000", "1001", "1002", "1000"]


def test_ring_all_rings_every_reachable_agent_and_the_first_answer_takes_it() -> None:
    ra = QueueDef("ra", members=("1000", "1001", "1002"), strategy=Strategy.RING_ALL)
    w = World(ra, offline=("1002",))
    outs = w.acd.join("c1", "ra", "x", "", T0)
    assert offers(outs) == [("c1", ("1000", "1001"))]
    outs = w.acd.answered("c1", "1001", "leg", T0 + 3)
    assert state(w, "1001") is AgentState.ON_CALL
    assert state(w, "1000") is AgentState.AVAILABLE  # its phone is hung up by the call
    assert ("1000", AgentState.AVAILABLE) in changes(outs)


def test_three_callers_two_agents_the_third_waits_and_gets_the_first_agent_free() -> None:
    q = QueueDef("q", members=("1000", "1001"), wrapup=5, max_wait=None, announce_every=None)
    w = World(q)
    assert offers(w.acd.join("a", "q", "1", "", T0)) == [("a", ("1000",))]
    assert offers(w.acd.join("b", "q", "2", "", T0 + 1)) == [("b", ("1001",))]
    assert offers(w.acd.join("c", "q", "3", "", T0 + 2)) == []
    w.acd.answered("a", "1000", "leg-a", T0 + 3)
    w.acd.answered("b", "1001", "leg-b", T0 + 4)
    view = w.acd.queue_view("q", T0 + 10)
    assert [(c.call_id, c.position) for c in view.waiting] == [("c", 1)]
    outs = w.acd.channel_gone("leg-b", T0 + 30)  # 1001 hangs up first: wrap-up
    assert state(w, "1001", T0 + 30) is AgentState.WRAP_UP
    assert StartTimer(("wrapup", "1001"), 5) in outs
    assert offers(outs) == []
    outs = w.acd.timer(("wrapup", "1001"), T0 + 35)
    assert offers(outs) == [("c", ("1001",))]


def test_an_agent_freed_while_a_caller_waits_is_told_free_then_ringing() -> None:
    """One step frees the agent and offers it the next caller: the event stream gets both
    changes, each as it was (a wallboard would otherwise never see it available)."""
    q = QueueDef("q", members=("1000",), wrapup=0, max_wait=None, announce_every=None)
    w = World(q)
    w.acd.join("a", "q", "1", "", T0)
    w.acd.answered("a", "1000", "leg-a", T0 + 1)
    w.acd.join("b", "q", "2", "", T0 + 2)
    outs = w.acd.channel_gone("leg-a", T0 + 30) + w.acd.poke(T0 + 30)
    assert changes(outs) == [("1000", AgentState.AVAILABLE), ("1000", AgentState.RINGING)]
    told = [o.view for o in outs if isinstance(o, AgentChanged)]
    assert [(v.call_id, v.since) for v in told] == [(None, T0 + 30), ("b", T0 + 30)]


def test_callers_are_served_in_the_order_they_joined_across_queues() -> None:
    a = QueueDef("a", members=("1000",))
    b = QueueDef("b", members=("1000",))
    w = World(a, b)
    w.busy.add("1000")
    w.acd.join("late", "a", "x", "", T0 + 5)
    w.acd.join("early", "b", "x", "", T0)
    w.busy.clear()
    assert offers(w.acd.poke(T0 + 6)) == [("early", ("1000",))]


def test_a_missed_offer_goes_to_the_next_agent_then_round_again_after_a_rest() -> None:
    q = QueueDef("q", members=("1000", "1001"), retry=2)
    w = World(q)
    assert offers(w.acd.join("c", "q", "x", "", T0)) == [("c", ("1000",))]
    assert offers(w.acd.missed("c", "1000", T0 + 15)) == [("c", ("1001",))]
    outs = w.acd.missed("c", "1001", T0 + 30)
    assert offers(outs) == []
    assert StartTimer(("retry", "c"), 2) in outs
    assert offers(w.acd.timer(("retry", "c"), T0 + 32)) == [("c", ("1000",))]
    # The caller kept its place all along.
    assert w.acd.queue_view("q", T0 + 32).waiting[0].position == 1


def test_a_missed_agent_is_offered_to_the_next_caller() -> None:
    q = QueueDef("q", members=("1000",))
    w = World(q)
    w.acd.join("a", "q", "x", "", T0)
    w.acd.join("b", "q", "x", "", T0 + 1)
    outs = w.acd.missed("a", "1000", T0 + 15)
    # a tried 1000 already; b has not: b gets it, a rests until a new round.
    assert ("b", ("1000",)) in offers(outs)


# -- agent states ---------------------------------------------------------------------------------


def test_pause_stops_offers_and_unpause_resumes_them() -> None:
    q = QueueDef("q", members=("1000",))
    w = World(q)
    w.acd.pause("1000", "lunch", T0)
    assert state(w, "1000") is AgentState.PAUSED
    assert w.acd.agent_view("1000", T0).pause_reason == "lunch"
    assert offers(w.acd.join("c", "q", "x", "", T0 + 1)) == []
    outs = w.acd.unpause("1000", T0 + 60)
    assert offers(outs) == [("c", ("1000",))]


def test_dynamic_agents_log_in_and_out() -> None:
    w = World()
    assert state(w, "1004") is AgentState.LOGGED_OUT
    w.acd.login("1004", None, T0)
    assert w.acd.agent_view("1004", T0).queues == ("sales",)
    assert state(w, "1004") is AgentState.AVAILABLE
    w.acd.logout("1004", ["sales"], T0 + 5)
    assert state(w, "1004", T0 + 5) is AgentState.LOGGED_OUT


def test_time_in_state_restarts_on_each_change() -> None:
    w = World()
    w.acd.pause("1000", None, T0 + 100)
    assert w.acd.agent_view("1000", T0 + 130).seconds_in_state == 30


@pytest.mark.parametrize(
    ("action", "error", "reason"),
    [
        (lambda a: a.login("9999", None, T0), AgentNotFound, None),
        (lambda a: a.login("1004", ["nope"], T0), QueueNotFound, None),
        (lambda a: a.login("1000", ["sales"], T0), AgentStateConflict, "static member"),
        (lambda a: a.logout("1000", ["sales"], T0), AgentStateConflict, "pause it instead"),
        (lambda a: a.logout("1004", None, T0), AgentStateConflict, "not logged in"),
        (lambda a: a.unpause("1000", T0), AgentStateConflict, "not paused"),
        (lambda a: a.pause("1004", None, T0), AgentStateConflict, "logged out"),
    ],
)
def test_agent_requests_that_cannot_be_honoured(
    action: object, error: type[Exception], reason: str | None
) -> None:
    w = World()
    with pytest.raises(error) as raised:
        action(w.acd)  # type: ignore[operator]
    if reason is not None:
        assert reason in str(raised.value)


def test_a_paused_agent_on_a_call_shows_on_call_then_paused() -> None:
    q = QueueDef("q", members=("1000",), wrapup=0)
    w = World(q)
    w.acd.join("c", "q", "x", "", T0)
    w.acd.answered("c", "1000", "leg", T0 + 2)
    w.acd.pause("1000", "break", T0 + 10)
    assert state(w, "1000") is AgentState.ON_CALL
    w.acd.channel_gone("leg", T0 + 20)
    assert state(w, "1000") is AgentState.PAUSED


# -- callers leaving, overflow, full -------------------------------------------------------------


def test_max_wait_expires_and_overflow_is_counted() -> None:
    q = QueueDef("q", members=("1000",), max_wait=60)
    w = World(q, offline=("1000",))
    outs = w.acd.join("c", "q", "x", "", T0)
    assert StartTimer(("max-wait", "c"), 60) in outs
    assert w.acd.timer(("max-wait", "c"), T0 + 60) == [Expired("c")]
    outs = w.acd.leave("c", T0 + 60, "overflowed", to="queue support")
    (fact,) = facts(outs)
    assert fact == ev.QueueOverflowed(queue="q", wait=60.0, reason="max-wait", to="queue support")
    assert CancelTimer(("announce", "c")) in outs
    assert w.acd.queue_view("q", T0 + 61).today.overflowed == 1


def test_a_full_queue_refuses_and_counts_an_overflow() -> None:
    on_full = Overflow(OverflowKind.HANGUP, prompt="queue-full")
    q = QueueDef("q", members=("1000",), max_callers=1, on_full=on_full)
    w = World(q, offline=("1000",))
    w.acd.join("a", "q", "x", "", T0)
    outs = w.acd.join("b", "q", "x", "", T0 + 1)
    assert Refused("b", "full") in outs
    assert facts(outs) == [ev.QueueOverflowed(queue="q", wait=0.0, reason="full", to=str(on_full))]
    today = w.acd.queue_view("q", T0 + 2).today
    assert (today.offered, today.overflowed) == (2, 1)


def test_an_unknown_queue_is_refused() -> None:
    assert World().acd.join("c", "nope", "x", "", T0) == [Refused("c", "unknown-queue")]


def test_an_abandoning_caller_frees_the_agent_ringing_for_it() -> None:
    w = World()
    w.acd.join("c", "sales", "x", "", T0)
    outs = w.acd.leave("c", T0 + 7, "abandoned")
    assert facts(outs) == [ev.QueueAbandoned(queue="sales", wait=7.0, position=1)]
    assert state(w, "1000", T0 + 7) is AgentState.AVAILABLE


def test_a_dropped_caller_is_not_counted() -> None:
    w = World()
    w.acd.join("c", "sales", "x", "", T0)
    assert facts(w.acd.leave("c", T0 + 7, "dropped")) == []
    today = w.acd.queue_view("sales", T0 + 8).today
    assert (today.answered, today.abandoned, today.overflowed) == (0, 0, 0)


# -- figures --------------------------------------------------------------------------------------


def test_todays_figures() -> None:
    q = QueueDef("q", members=("1000",), service_level=20, wrapup=0)
    w = World(q)
    w.busy.add("1000")
    for call, joined in (("a", 0), ("b", 1), ("c", 2), ("d", 3)):
        w.acd.join(call, "q", "x", "", T0 + joined)
    w.busy.clear()
    # a answered after 10 s (within 20), b after 31 s, c abandons after 40 s, d overflows at 60.
    w.acd.poke(T0 + 10)
    w.acd.answered("a", "1000", "leg-a", T0 + 10)
    w.acd.channel_gone("leg-a", T0 + 30)
    w.acd.answered("b", "1000", "leg-b", T0 + 32)
    w.acd.leave("c", T0 + 42, "abandoned")
    w.acd.leave("d", T0 + 63, "overflowed", to="hang up")
    today = w.acd.queue_view("q", T0 + 70).today
    assert today.date == "2026-12-04"
    assert (today.offered, today.answered, today.abandoned, today.overflowed) == (4, 2, 1, 1)
    assert today.answered_within_sl == 1
    assert today.service_level_pct == 25.0  # 1 of 4 ended
    assert today.average_speed_of_answer == 20.5  # (10 + 31) / 2
    assert today.longest_wait == 60.0
    assert today.average_handle_time == 20.0  # a: 20 s talk, no wrap-up


def test_figures_start_again_at_midnight() -> None:
    w = World()
    w.acd.join("c", "sales", "x", "", T0)
    w.acd.leave("c", T0 + 5, "abandoned")
    tomorrow = T0 + 24 * 3600
    today = w.acd.queue_view("sales", tomorrow).today
    assert (today.date, today.offered, today.abandoned) == ("2026-12-05", 0, 0)


def test_the_figures_are_rebuilt_from_the_days_facts() -> None:
    w = World()
    yesterday = T0 - 24 * 3600
    w.acd.replay(
        [
            (yesterday, ev.QueueJoined(queue="sales", position=1)),
            (T0, ev.QueueJoined(queue="sales", position=1)),
            (T0 + 1, ev.QueueJoined(queue="sales", position=2)),
            (T0 + 5, ev.AgentAnswered(queue="sales", agent="1000", wait=5.0, within_sl=1)),
            (T0 + 30, ev.QueueAbandoned(queue="sales", wait=29.0, position=1)),
            (T0 + 31, ev.QueueOverflowed(queue="sales", wait=0.0, reason="full", to="hang up")),
            (T0 + 31, ev.QueueJoined(queue="gone", position=1)),
        ],
        T0 + 60,
    )
    today = w.acd.queue_view("sales", T0 + 60).today
    assert (today.offered, today.answered, today.abandoned, today.overflowed) == (3, 1, 1, 1)
    assert (today.answered_within_sl, today.longest_wait) == (1, 29.0)


@pytest.mark.parametrize(
    ("position", "serving", "handled", "expected"),
    [
        (1, 1, None, Announce("c", 1, 3)),  # 180 s assumed per call: 3 minutes
        (2, 2, None, Announce("c", 2, 3)),  # two agents share the queue
        (1, 1, (50.0,), Announce("c", 1, 1)),  # today's handle time: 50 s -> 1 minute
        (1, 0, None, Announce("c", 1, None)),  # nobody serves the queue: no estimate
    ],
)
def test_announcements_give_position_and_estimated_wait(
    position: int, serving: int, handled: tuple[float, ...] | None, expected: Announce
) -> None:
    members = ("1000", "1001")[: max(serving, 1)]
    q = QueueDef("q", members=members, wrapup=0, announce_every=30)
    w = World(q)
    if serving == 0:
        w.acd.pause("1000", None, T0)
    if handled:
        w.acd.join("h", "q", "x", "", T0)
        w.acd.answered("h", "1000", "leg-h", T0)
        w.acd.channel_gone("leg-h", T0 + handled[0])
    w.busy.update(members)  # everyone is busy: callers wait
    for n in range(position - 1):
        w.acd.join(f"ahead{n}", "q", "x", "", T0 + 100 + n)
    w.acd.join("c", "q", "x", "", T0 + 200)
    assert w.acd.timer(("announce", "c"), T0 + 230) == [
        expected,
        StartTimer(("announce", "c"), 30),
    ]


# -- restarts -------------------------------------------------------------------------------------


def test_a_caller_who_must_wait_hears_its_position_at_once() -> None:
    q = QueueDef("q", members=("1000",), announce_every=30)
    w = World(q)
    served = w.acd.join("a", "q", "x", "", T0)
    assert not [o for o in served if isinstance(o, Announce)]  # rung at once: nothing to say
    waits = w.acd.join("b", "q", "x", "", T0 + 1)
    # "a" is still in the queue while its agent rings: "b" is second, 2 x 180 s / 1 agent.
    assert waits[-1] == Announce("b", 2, 6)


def test_a_recovered_caller_keeps_its_original_place() -> None:
    q = QueueDef("q", members=("1000",), max_wait=300)
    w = World(q, offline=("1000",))
    w.acd.join("new", "q", "x", "", T0 + 50)
    outs = w.acd.join("old", "q", "x", "", T0 + 60, joined=T0)
    assert facts(outs) == []  # it joined before the restart: not offered twice
    assert StartTimer(("max-wait", "old"), 240) in outs
    assert [c.call_id for c in w.acd.queue_view("q", T0 + 60).waiting] == ["old", "new"]


def test_an_agent_keeps_its_state_across_a_restart() -> None:
    w = World()
    w.acd.login("1004", None, T0)
    w.acd.pause("1004", "training", T0 + 10)
    doc = w.acd.agent_doc("1004")
    again = World()
    again.acd.restore_agent("1004", doc, lambda _channel: False, T0 + 100)
    view = again.acd.agent_view("1004", T0 + 100)
    assert (view.state, view.pause_reason, view.since) == (AgentState.PAUSED, "training", T0 + 10)


def test_a_queue_call_survives_a_restart_only_if_its_channel_does() -> None:
    w = World()
    w.acd.join("c", "sales", "x", "", T0)
    w.acd.answered("c", "1000", "leg", T0 + 2)
    doc = w.acd.agent_doc("1000")
    for live, expected in ((True, AgentState.ON_CALL), (False, AgentState.AVAILABLE)):
        again = World()
        again.acd.restore_agent("1000", doc, {"leg": live}.__getitem__, T0 + 100)
        assert again.acd.agent_view("1000", T0 + 100).state is expected


def test_a_reload_may_not_drop_a_queue_with_callers() -> None:
    w = World()
    w.acd.join("c", "sales", "x", "", T0)
    with pytest.raises(ValueError, match="sales"):
        w.acd.reload(config(QueueDef("other", members=("1000",))), T0 + 1)
    assert w.acd.queue_view("sales", T0 + 1).waiting[0].call_id == "c"
