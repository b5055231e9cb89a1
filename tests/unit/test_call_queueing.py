"""The call machine's QUEUED stage (sans-I/O): what a waiting caller's call asks for, and what it
tells the ACD, given the ACD's decisions and what Asterisk reports.

Ids are deterministic: the call is ``C``, its holding bridge ``C-queue1``, agent legs ``C-leg1``...
"""

from __future__ import annotations

import pytest

from stasis_app.ari.ids import BridgeId, ChannelId, PlaybackId
from stasis_app.calls.machine import Caller, CallMachine
from stasis_app.calls.messages import (
    AddToBridge,
    Bind,
    CreateBridge,
    DestroyBridge,
    DtmfReceived,
    HangupChannel,
    JoinQueue,
    LeaveQueue,
    OfferMissed,
    OfferTaken,
    OperationFailed,
    Originate,
    Output,
    PartyAnswered,
    PartyGone,
    PlaybackDone,
    PlayMedia,
    QueueAnnounce,
    QueueExpired,
    QueueOffer,
    QueueRefused,
    Record,
    Shutdown,
    StartMoh,
    StopMedia,
)
from stasis_app.calls.stage import Stage
from stasis_app.events import catalogue as ev
from stasis_app.ivr import parse
from stasis_app.queues.model import Overflow, OverflowKind, QueueConfig, QueueDef

C = ChannelId("C")
LEG1, LEG2 = ChannelId("C-leg1"), ChannelId("C-leg2")
HOLD = BridgeId("C-queue1")

IVR = parse(
    {
        "language": "en",
        "start": "main",
        "menus": {"main": {"prompts": ["welcome"], "options": {"1": {"queue": "sales"}}}},
    },
    "test",
    queues=("sales", "support"),
)


def machine(sales: QueueDef) -> CallMachine:
    config = QueueConfig({"sales": sales, "support": QueueDef("support", members=("2000",))})
    caller = Caller(C, "5551", "Kim", "PJSIP/5551-00000001", True)
    m = CallMachine("C", caller, "500", lambda: IVR, queues=lambda: config)
    m.start()
    return m


SALES = QueueDef("sales", members=("1000", "1001"), greeting="queue-hold", music="jazz")


def queued(sales: QueueDef = SALES) -> tuple[CallMachine, list[Output]]:
    m = machine(sales)
    out = m.handle(DtmfReceived(C, "1"))
    return m, out


def ops(outputs: list[Output]) -> list[Output]:
    return [o for o in outputs if not isinstance(o, Record)]


def facts(outputs: list[Output]) -> list[ev.Fact]:
    return [o.fact for o in outputs if isinstance(o, Record)]


def test_joining_puts_the_caller_alone_in_a_holding_bridge_with_music_and_a_greeting() -> None:
    m, out = queued()
    assert m.stage is Stage.QUEUED
    assert ops(out)[-5:] == [
        CreateBridge(HOLD, holding=True, name="cti-queue:sales"),
        AddToBridge(HOLD, (C,)),
        StartMoh(HOLD, "jazz"),
        JoinQueue("sales"),
        PlayMedia(C, PlaybackId("C-say1"), ("queue-hold",), "en"),
    ]


def test_an_offer_rings_each_agent_as_a_leg_for_the_queues_ring_timeout() -> None:
    m, _ = queued()
    out = m.handle(QueueOffer("sales", ("1000", "1001"), 12.0))
    originates = [o for o in out if isinstance(o, Originate)]
    assert [(o.leg, o.extension, o.timeout) for o in originates] == [
        (LEG1, "1000", 12.0),
        (LEG2, "1001", 12.0),
    ]
    assert [o for o in out if isinstance(o, Bind)] == [Bind(LEG1), Bind(LEG2)]
    assert ev.AgentOffered(queue="sales", agent="1001", leg="C-leg2") in facts(out)


def test_the_first_agent_to_answer_is_bridged_and_the_others_released() -> None:
    m, _ = queued()
    m.handle(QueueOffer("sales", ("1000", "1001"), 12.0))
    out = m.handle(PartyAnswered(LEG2))
    assert ops(out) == [
        OfferTaken("1001", LEG2),
        HangupChannel(LEG1, 16),
        StopMedia(PlaybackId("C-say1")),
        DestroyBridge(HOLD),
        CreateBridge(BridgeId("C-bridge")),
        AddToBridge(BridgeId("C-bridge"), (C, LEG2)),
    ]
    assert facts(out) == [ev.Bridged(extension="1001", bridge="C-bridge")]
    assert (m.stage, m.callee_extension, m.disposition) == (Stage.BRIDGED, "1001", "answered")


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (17, "busy"),
        (19, "no-answer"),
        (18, "no-answer"),
        (21, "unavailable"),
        (None, "unavailable"),
    ],
)
def test_an_agent_that_does_not_take_the_call_is_a_missed_offer(
    cause: int | None, reason: str
) -> None:
    m, _ = queued()
    m.handle(QueueOffer("sales", ("1000",), 12.0))
    out = m.handle(PartyGone(LEG1, cause))
    assert ops(out) == [OfferMissed("1000")]
    assert facts(out) == [ev.AgentMissed(queue="sales", agent="1000", reason=reason)]
    assert m.stage is Stage.QUEUED


def test_a_refused_originate_is_a_missed_offer() -> None:
    m, _ = queued()
    offer = m.handle(QueueOffer("sales", ("1000",), 12.0))
    (originate,) = [o for o in offer if isinstance(o, Originate)]
    out = m.handle(OperationFailed(originate, 400))
    assert ops(out) == [OfferMissed("1000")]
    assert facts(out) == [ev.AgentMissed(queue="sales", agent="1000", reason="unavailable")]


def test_the_caller_hanging_up_abandons_the_queue_and_releases_ringing_agents() -> None:
    m, _ = queued()
    m.handle(QueueOffer("sales", ("1000",), 12.0))
    out = m.handle(PartyGone(C, 16))
    assert HangupChannel(LEG1, 16) in out
    assert ops(out)[-2:] == [DestroyBridge(HOLD), LeaveQueue("abandoned")]
    assert m.disposition == "abandoned"
    assert m.finished


def test_a_worker_shutdown_drops_the_caller_without_counting_it() -> None:
    m, _ = queued()
    out = m.handle(Shutdown(41))
    assert LeaveQueue("dropped") in out
    assert m.disposition == "worker-stopped"


def test_announcements_say_position_and_wait() -> None:
    m, _ = queued()
    out = m.handle(QueueAnnounce(12, 3))
    assert ops(out) == [
        PlayMedia(C, PlaybackId("C-say2"), ("queue-position-many", "queue-wait-3"), "en")
    ]
    assert ops(m.handle(QueueAnnounce(None, None))) == []


@pytest.mark.parametrize(
    ("overflow", "expected_stage", "expected"),
    [
        (Overflow(OverflowKind.HANGUP, prompt="queue-timeout"), Stage.CLOSING, "queue-timeout"),
        (Overflow(OverflowKind.QUEUE, "support"), Stage.QUEUED, "cti-queue:support"),
        (Overflow(OverflowKind.EXTENSION, "2000", "transferring"), Stage.ANNOUNCING, "2000"),
    ],
)
def test_waiting_too_long_sends_the_caller_where_on_max_wait_says(
    overflow: Overflow, expected_stage: Stage, expected: str
) -> None:
    sales = QueueDef("sales", members=("1000",), greeting=None, on_max_wait=overflow)
    m, _ = queued(sales)
    out = m.handle(QueueExpired())
    assert LeaveQueue("overflowed", str(overflow)) in out
    assert DestroyBridge(HOLD) in out
    assert m.stage is expected_stage
    shown = repr(ops(out)) + repr(facts(out))
    assert expected in shown


def test_a_full_queue_sends_the_caller_where_on_full_says() -> None:
    sales = QueueDef(
        "sales",
        members=("1000",),
        greeting=None,
        max_callers=1,
        on_full=Overflow(OverflowKind.HANGUP, prompt="queue-full"),
    )
    m, _ = queued(sales)
    out = m.handle(QueueRefused("sales", "full"))
    assert DestroyBridge(HOLD) in out
    assert not [o for o in out if isinstance(o, LeaveQueue)]  # the ACD never had it
    (play,) = [o for o in out if isinstance(o, PlayMedia)]
    assert play.prompts == ("queue-full",)
    m.handle(PlaybackDone(play.playback))
    assert (m.finished, m.disposition) == (True, "queue-full")


def test_a_stale_offer_for_a_queue_the_caller_left_is_ignored() -> None:
    sales = QueueDef(
        "sales",
        members=("1000",),
        greeting=None,
        on_max_wait=Overflow(OverflowKind.QUEUE, "support"),
    )
    m, _ = queued(sales)
    m.handle(QueueExpired())
    assert m.handle(QueueOffer("sales", ("1000",), 12.0)) == []


def test_a_recovered_caller_rejoins_with_its_original_time() -> None:
    caller = Caller(C, "5551", "Kim", "PJSIP/5551-00000001", True)
    config = QueueConfig({"sales": SALES})
    m = CallMachine("C", caller, "500", lambda: IVR, queues=lambda: config)
    out = m.adopt_queued("sales", HOLD, 1234.5)
    assert ops(out) == [StartMoh(HOLD, "jazz"), JoinQueue("sales", 1234.5)]
    assert facts(out) == [ev.Adopted(stage="queued")]
    assert m.stage is Stage.QUEUED
