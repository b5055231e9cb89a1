"""The sans-I/O call machine, as a specification: given these inputs, exactly these outputs.

No Asterisk, no event loop, no clock: each test builds a machine, walks it to a stage with the
inputs Asterisk would send, and checks what it asks for next. Ids are deterministic (the call id is
``C``; legs ``C-leg1``, ``C-leg2``; the bridge ``C-bridge``; a consultation ``C-consult1``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stasis_app.ari.ids import BridgeId, ChannelId, PlaybackId
from stasis_app.calls.machine import ALL_INPUTS, TABLE, Caller, CallMachine
from stasis_app.calls.messages import (
    AddToBridge,
    Answer,
    AttendedTransfer,
    Bind,
    BlindTransfer,
    CancelTransfer,
    CheckEndpoint,
    CompleteTransfer,
    ContinueInDialplan,
    CreateBridge,
    DestroyBridge,
    DtmfReceived,
    EndpointChecked,
    GiveUp,
    HangupChannel,
    Hold,
    Input,
    OperationFailed,
    Originate,
    Output,
    PartyAnswered,
    PartyGone,
    PhoneTransfer,
    PlaybackDone,
    PlayMedia,
    QueueAnnounce,
    QueueExpired,
    QueueOffer,
    QueueRefused,
    Record,
    RemoveFromBridge,
    Ring,
    Shutdown,
    StartMoh,
    StopMoh,
    StopRinging,
    TakeOver,
    TimerFired,
    TransferProgress,
    Unhold,
)
from stasis_app.calls.stage import Stage
from stasis_app.calls.views import PartyState, Role, TransferState
from stasis_app.errors import CallStateConflict, IllegalCallInput
from stasis_app.events import catalogue as ev
from stasis_app.ivr import IvrDefinition, parse
from stasis_app.queues.model import QueueConfig, QueueDef

C = ChannelId("C")
LEG1 = ChannelId("C-leg1")
LEG2 = ChannelId("C-leg2")
BRIDGE = BridgeId("C-bridge")
CONSULT = BridgeId("C-consult1")

IVR = parse(
    {
        "language": "en",
        "start": "main",
        "menus": {
            "main": {
                "prompts": ["welcome"],
                "timeout": 2,
                "max_retries": 1,
                "options": {
                    "1": {"transfer": "1000"},
                    "2": {"transfer": "2000", "prompt": "transferring"},
                    "3": {"queue": "sales"},
                    "9": {"hangup": "goodbye"},
                },
            }
        },
    },
    "test",
    queues=("sales",),
)
QUEUES = QueueConfig({"sales": QueueDef("sales", members=("1001",), greeting=None)})


def machine(dialed: str, *, answered: bool = False, ivr: IvrDefinition = IVR) -> CallMachine:
    caller = Caller(C, "2000", "Alice", "PJSIP/2000-00000001", answered)
    return CallMachine("C", caller, dialed, lambda: ivr, queues=lambda: QUEUES)


def facts(outputs: list[Output]) -> list[ev.Fact]:
    return [o.fact for o in outputs if isinstance(o, Record)]


def ops(outputs: list[Output]) -> list[Output]:
    """The outputs that are not call events (what Asterisk is asked to do, and notes)."""
    return [o for o in outputs if not isinstance(o, Record)]


# ----------------------------------------------------------------------- walking to each stage
def routing() -> CallMachine:
    return machine("1000")


def ivr() -> CallMachine:
    m = machine("500", answered=True)
    m.start()
    return m


def announcing() -> CallMachine:
    m = ivr()
    m.handle(DtmfReceived(C, "2"))
    return m


def dialing() -> CallMachine:
    m = machine("1000")
    m.start()
    m.handle(EndpointChecked("1000", "online"))
    return m


def queued() -> CallMachine:
    m = ivr()
    m.handle(DtmfReceived(C, "3"))
    return m


def bridged() -> CallMachine:
    m = dialing()
    m.handle(PartyAnswered(LEG1))
    return m


def holding() -> CallMachine:
    m = bridged()
    m.handle(Hold(LEG1))  # the agent (1000) holds: the caller hears music
    return m


def consulting() -> CallMachine:
    m = bridged()
    m.handle(AttendedTransfer("T", C, "1001", "api"))  # 1000 consults 1001 about the caller
    m.handle(EndpointChecked("1001", "online"))
    return m


def consulting_answered() -> CallMachine:
    m = consulting()
    m.handle(PartyAnswered(LEG2))
    return m


def echo() -> CallMachine:
    m = machine("7777")
    m.start()
    return m


def closing() -> CallMachine:
    m = machine("1000")
    m.start()
    m.handle(EndpointChecked("1000", "offline"))
    return m


def ended() -> CallMachine:
    m = bridged()
    m.handle(PartyGone(C, 16))
    return m


STAGES: dict[Stage, Callable[[], CallMachine]] = {
    Stage.ROUTING: routing,
    Stage.IVR: ivr,
    Stage.ANNOUNCING: announcing,
    Stage.DIALING: dialing,
    Stage.QUEUED: queued,
    Stage.BRIDGED: bridged,
    Stage.HOLDING: holding,
    Stage.CONSULTING: consulting,
    Stage.ECHO: echo,
    Stage.CLOSING: closing,
    Stage.ENDED: ended,
}


@pytest.mark.parametrize("stage", list(Stage))
def test_each_walk_reaches_its_stage(stage: Stage) -> None:
    """The walks the tables below start from really end in the stage they are named after."""
    assert STAGES[stage]().stage is stage


# ------------------------------------------------------------------- the legality table itself
SAMPLES: dict[type[Any], Input] = {
    PartyAnswered: PartyAnswered(ChannelId("stranger")),
    PartyGone: PartyGone(ChannelId("stranger")),
    DtmfReceived: DtmfReceived(C, "5"),
    PlaybackDone: PlaybackDone(PlaybackId("stranger")),
    TimerFired: TimerFired(999),
    EndpointChecked: EndpointChecked("4321", "online"),
    OperationFailed: OperationFailed(StopRinging(C), 404),
    BlindTransfer: BlindTransfer(C, "2000", "api"),
    AttendedTransfer: AttendedTransfer("T9", C, "1003", "api"),
    CompleteTransfer: CompleteTransfer("T"),
    CancelTransfer: CancelTransfer("T"),
    Hold: Hold(LEG1),
    Unhold: Unhold(LEG1),
    Shutdown: Shutdown(41),
    PhoneTransfer: PhoneTransfer(LEG1, "1002"),
    GiveUp: GiveUp(LEG1),
    TakeOver: TakeOver(LEG1, ChannelId("B-leg1"), "1002", "T7"),
    QueueOffer: QueueOffer("sales", ("1001",), 15.0),
    QueueAnnounce: QueueAnnounce(2, 3),
    QueueExpired: QueueExpired(),
    QueueRefused: QueueRefused("sales", "full"),
}
# What the module docstring's table says, as data: x illegal, 409 refused, "ok" accepted.
X, R, OK = "x", "409", "ok"
EXPECTED: dict[Stage, tuple[str, ...]] = {
    # ans gone dtmf play timer ep fail blind att complete cancel hold unhold shutdown
    # + phone-transfer give-up take-over + queue offer, announce, expired, refused
    Stage.ROUTING: (X, X, X, X, X, X, X, R, R, R, R, R, R, X, X, R, R, X, X, X, X),
    Stage.IVR: (OK, OK, OK, OK, OK, X, OK, OK, R, R, R, R, R, OK, OK, R, R, OK, OK, OK, OK),
    Stage.ANNOUNCING: (OK, OK, OK, OK, OK, X, OK, OK, R, R, R, R, R, OK, OK, R, R, OK, OK, OK, OK),
    Stage.DIALING: (OK, OK, OK, OK, OK, OK, OK, OK, R, R, R, R, R, OK, OK, R, R, OK, OK, OK, OK),
    Stage.QUEUED: (OK, OK, OK, OK, OK, X, OK, OK, R, R, R, R, R, OK, OK, R, R, OK, OK, OK, OK),
    Stage.BRIDGED: (OK, OK, OK, OK, OK, X, OK, OK, OK, R, R, OK, R, OK, OK, OK, OK, OK, OK, OK, OK),
    Stage.HOLDING: (OK, OK, OK, OK, OK, X, OK, OK, OK, R, R, R, OK, OK, OK, OK, OK, OK, OK, OK, OK),
    Stage.CONSULTING: (OK, OK, OK, OK, OK, OK, OK, R, R, R, OK, R, R, OK, OK, R, R, OK, OK, OK, OK),
    Stage.ECHO: (OK, OK, OK, OK, OK, X, OK, R, R, R, R, R, R, OK, OK, R, R, OK, OK, OK, OK),
    Stage.CLOSING: (OK, OK, OK, OK, OK, X, OK, R, R, R, R, R, R, OK, OK, R, R, OK, OK, OK, OK),
    Stage.ENDED: (OK, OK, OK, OK, OK, OK, OK, R, R, R, R, R, R, OK, OK, R, R, OK, OK, OK, OK),
}
COLUMNS = (
    *(PartyAnswered, PartyGone, DtmfReceived, PlaybackDone, TimerFired, EndpointChecked),
    *(OperationFailed, BlindTransfer, AttendedTransfer, CompleteTransfer, CancelTransfer),
    *(Hold, Unhold, Shutdown, PhoneTransfer, GiveUp, TakeOver),
    *(QueueOffer, QueueAnnounce, QueueExpired, QueueRefused),
)


def _outcome(stage: Stage, kind: type[Any]) -> str:
    m = STAGES[stage]()
    try:
        m.handle(SAMPLES[kind])
    except IllegalCallInput as exc:
        return X if exc.stage == stage.value else f"illegal in {exc.stage}"
    except CallStateConflict:
        return R
    return OK


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("kind", COLUMNS, ids=lambda k: k.__name__)
def test_every_stage_decides_every_input(stage: Stage, kind: type[Any]) -> None:
    """Each stage x input is accepted, refused (409: the call goes on) or illegal, as documented
    in the module's table."""
    column = COLUMNS.index(kind)
    assert _outcome(stage, kind) == EXPECTED[stage][column]


def test_the_table_covers_every_input_and_stage() -> None:
    assert set(COLUMNS) == set(ALL_INPUTS)
    assert set(TABLE) == set(Stage)


def test_a_refused_request_changes_nothing() -> None:
    """409 is raised before any state changes: the call goes on as if nothing was asked."""
    m = ivr()
    before = (m.stage, dict(m.parties), m.bridge)
    with pytest.raises(CallStateConflict):
        m.handle(Hold(C))
    assert (m.stage, dict(m.parties), m.bridge) == before


def test_an_illegal_input_is_named_and_abort_ends_with_a_prompt() -> None:
    """The pump's answer to IllegalCallInput: the anchor hears service-unavailable, then the
    call ends with cause 41; nobody is left in silence."""
    m = ivr()
    with pytest.raises(IllegalCallInput) as raised:
        m.handle(EndpointChecked("1000", "online"))
    assert "ivr" in str(raised.value)
    out = m.abort()
    play = [o for o in out if isinstance(o, PlayMedia)]
    assert [p.prompts for p in play] == [("service-unavailable",)]
    assert m.stage is Stage.CLOSING
    end = m.handle(PlaybackDone(play[0].playback))
    assert HangupChannel(C, 41) in end
    assert facts(end)[-1] == ev.CallEnded(disposition="failed", cause=41, ivr_path=("main",))


# ----------------------------------------------------------------------------- routing a call
def test_an_internal_call_checks_the_phone_rings_it_and_bridges_on_answer() -> None:
    m = machine("1000")
    assert ops(m.start()) == [CheckEndpoint("1000")]
    out = m.handle(EndpointChecked("1000", "online"))
    assert ops(out) == [
        Bind(LEG1),
        Originate(LEG1, "1000", '"Alice" <2000>', ("dialed", "C"), originator=C),
        Ring(C),
    ]
    assert facts(out) == [ev.Dialing(extension="1000", leg="C-leg1")]
    out = m.handle(PartyAnswered(LEG1))
    assert ops(out) == [
        Answer(C),
        StopRinging(C),
        CreateBridge(BRIDGE),
        AddToBridge(BRIDGE, (C, LEG1)),
    ]
    assert facts(out) == [ev.Answered(), ev.Bridged(extension="1000", bridge="C-bridge")]
    assert {p.state for p in m.parties.values()} == {PartyState.TALKING}


@pytest.mark.parametrize(
    ("dialed", "checked", "prompt", "cause", "disposition"),
    [
        ("1000", "offline", "unavailable", 20, "unavailable"),
        ("1000", "missing", "unknown-extension", 1, "unknown-extension"),
        ("9999", None, "unknown-extension", 1, "unknown-extension"),
    ],
)
def test_a_call_that_cannot_ring_hears_why_then_ends(
    dialed: str, checked: str | None, prompt: str, cause: int, disposition: str
) -> None:
    m = machine(dialed)
    out = m.start()
    if checked is not None:
        out = m.handle(EndpointChecked(dialed, checked))
    play = [o for o in out if isinstance(o, PlayMedia)]
    assert Answer(C) in out
    assert [p.prompts for p in play] == [(prompt,)]
    end = m.handle(PlaybackDone(play[0].playback))
    assert end[0] == HangupChannel(C, cause)
    assert facts(end)[-1] == ev.CallEnded(disposition=disposition, cause=cause)


@pytest.mark.parametrize(
    ("cause", "prompt", "end_cause", "disposition"),
    [
        (17, "busy", 17, "busy"),
        (19, "no-answer", 19, "no-answer"),
        (18, "no-answer", 19, "no-answer"),
        (21, "unavailable", 20, "unavailable"),
        (None, "unavailable", 20, "unavailable"),
    ],
)
def test_a_ringing_phone_that_fails_is_announced_to_the_caller(
    cause: int | None, prompt: str, end_cause: int, disposition: str
) -> None:
    m = dialing()
    out = m.handle(PartyGone(LEG1, cause))
    # The caller is answered to hear why (a direct call was still ringing).
    assert facts(out) == [ev.DialFailed(extension="1000", reason=disposition), ev.Answered()]
    play = [o for o in out if isinstance(o, PlayMedia)]
    assert [p.prompts for p in play] == [(prompt,)]
    assert m.stage is Stage.CLOSING
    end = m.handle(PlaybackDone(play[0].playback))
    assert facts(end) == [ev.CallEnded(disposition=disposition, cause=end_cause)]


def test_the_echo_number_hands_the_caller_to_the_dialplan() -> None:
    m = machine("7777")
    out = m.start()
    assert ops(out) == [Answer(C), ContinueInDialplan(C, "cti-echo", "7777")]
    end = m.handle(PartyGone(C))
    assert ops(end) == []  # the dialplan owns the channel: nothing to hang up
    assert facts(end) == [ev.CallEnded(disposition="echo", cause=16)]


def test_the_ivr_transfer_announces_then_rings() -> None:
    m = ivr()
    out = m.handle(DtmfReceived(C, "2"))
    assert ev.Transferred(extension="2000", by="ivr") in facts(out)
    say = [o for o in out if isinstance(o, PlayMedia) and o.prompts == ("transferring",)]
    assert m.stage is Stage.ANNOUNCING
    assert ops(m.handle(PlaybackDone(say[0].playback))) == [CheckEndpoint("2000")]
    assert m.stage.value == "dialing"  # (by value: mypy narrowed the stage above)


# ------------------------------------------------------------------- hangup of any party, anywhere
HANGUPS: list[tuple[str, Callable[[], CallMachine], ChannelId, Stage, str]] = [
    ("ivr caller", ivr, C, Stage.ENDED, "abandoned"),
    ("announcing caller", announcing, C, Stage.ENDED, "abandoned"),
    ("dialing caller", dialing, C, Stage.ENDED, "abandoned"),
    ("dialing leg", dialing, LEG1, Stage.CLOSING, "unavailable"),
    ("bridged caller", bridged, C, Stage.ENDED, "answered"),
    ("bridged callee", bridged, LEG1, Stage.ENDED, "answered"),
    ("holding holder", holding, LEG1, Stage.ENDED, "answered"),
    ("holding held", holding, C, Stage.ENDED, "answered"),
    ("consulting moved", consulting, C, Stage.DIALING, "answered"),
    ("consulting initiator", consulting, LEG1, Stage.CONSULTING, "answered"),
    ("consulting target", consulting, LEG2, Stage.BRIDGED, "answered"),
    ("consulted moved", consulting_answered, C, Stage.BRIDGED, "answered"),
    ("consulted initiator", consulting_answered, LEG1, Stage.BRIDGED, "answered"),
    ("consulted target", consulting_answered, LEG2, Stage.BRIDGED, "answered"),
    ("closing caller", closing, C, Stage.ENDED, "unavailable"),
    ("echo caller", echo, C, Stage.ENDED, "echo"),
]


@pytest.mark.parametrize(
    ("walk", "gone", "stage", "disposition"),
    [h[1:] for h in HANGUPS],
    ids=[h[0] for h in HANGUPS],
)
def test_hangup_of_any_party_at_any_stage(
    walk: Callable[[], CallMachine], gone: ChannelId, stage: Stage, disposition: str
) -> None:
    """Whoever hangs up, the call lands where the rules say, and every party still up is either
    hung up by us or still part of the call (none is forgotten)."""
    m = walk()
    before = set(m.parties)
    out = m.handle(PartyGone(gone, 16))
    assert m.stage is stage
    assert m.disposition == disposition
    hung_up = {o.channel for o in out if isinstance(o, HangupChannel)}
    assert gone not in hung_up
    assert before - {gone} == hung_up | set(m.parties)
    if stage is Stage.ENDED:
        assert isinstance(facts(out)[-1], ev.CallEnded)
        assert m.parties == {}


def test_a_released_party_hanging_up_is_expected_and_ignored() -> None:
    m = consulting_answered()
    m.handle(CompleteTransfer("T"))  # releases the initiator, LEG1
    assert m.handle(PartyGone(LEG1, 16)) == []
    assert m.stage is Stage.BRIDGED


# ----------------------------------------------------------------------------------------- hold
def test_hold_takes_the_holder_out_and_plays_music_to_the_other() -> None:
    m = bridged()
    out = m.handle(Hold(LEG1))
    assert ops(out) == [RemoveFromBridge(BRIDGE, LEG1), StartMoh(BRIDGE)]
    assert facts(out) == [ev.Held(party="C-leg1", extension="1000")]
    assert (m.parties[LEG1].state, m.parties[C].state) == (PartyState.HOLDING, PartyState.HELD)
    out = m.handle(Unhold(LEG1))
    assert ops(out) == [StopMoh(BRIDGE), AddToBridge(BRIDGE, (LEG1,))]
    assert facts(out) == [ev.Unheld(party="C-leg1", extension="1000")]
    assert m.stage is Stage.BRIDGED


@pytest.mark.parametrize(
    ("walk", "request_"),
    [
        (bridged, Unhold(LEG1)),  # not on hold
        (holding, Hold(C)),  # the held party cannot hold too
        (ivr, Hold(C)),  # nobody to hold
        (bridged, Hold(ChannelId("stranger"))),
    ],
)
def test_hold_requests_the_call_cannot_honour_are_refused(
    walk: Callable[[], CallMachine], request_: Input
) -> None:
    with pytest.raises(CallStateConflict):
        walk().handle(request_)


# ----------------------------------------------------------------------------- attended transfer
def test_attended_transfer_holds_the_moved_party_and_rings_the_target() -> None:
    m = bridged()
    out = m.handle(AttendedTransfer("T", C, "1001", "api"))
    assert ops(out) == [RemoveFromBridge(BRIDGE, LEG1), StartMoh(BRIDGE), CheckEndpoint("1001")]
    assert facts(out) == [ev.TransferStarted(transfer="T", extension="1001", moved="C", by="api")]
    out = m.handle(EndpointChecked("1001", "online"))
    assert ops(out) == [
        Bind(LEG2),
        # The target's phone shows the party being transferred, not the agent.
        Originate(LEG2, "1001", '"Alice" <2000>', ("dialed", "C"), originator=C),
        Ring(LEG1),
    ]
    out = m.handle(PartyAnswered(LEG2))
    assert ops(out) == [
        StopRinging(LEG1),
        CreateBridge(CONSULT),
        AddToBridge(CONSULT, (LEG1, LEG2)),
    ]
    assert facts(out) == [ev.TransferAnswered(transfer="T", extension="1001")]
    view = m.transfer_view("T")
    assert view is not None
    assert (view.state, view.initiator, view.target) == (TransferState.ANSWERED, LEG1, LEG2)


def test_complete_bridges_moved_and_target_and_releases_the_initiator() -> None:
    m = consulting_answered()
    out = m.handle(CompleteTransfer("T"))
    assert ops(out) == [
        RemoveFromBridge(CONSULT, LEG2),
        DestroyBridge(CONSULT),
        StopMoh(BRIDGE),
        AddToBridge(BRIDGE, (LEG2,)),
        HangupChannel(LEG1, 16),
    ]
    assert facts(out) == [ev.TransferCompleted(transfer="T", extension="1001")]
    assert set(m.parties) == {C, LEG2}
    assert m.parties[LEG2].role is Role.CALLEE
    assert m.stage is Stage.BRIDGED
    assert m.callee_extension == "1001"


@pytest.mark.parametrize("walk", [consulting, consulting_answered])
def test_cancel_gives_the_initiator_the_moved_party_back(walk: Callable[[], CallMachine]) -> None:
    m = walk()
    answered = m.consult is not None and m.consult.bridge is not None
    out = m.handle(CancelTransfer("T"))
    expected: list[Output] = [HangupChannel(LEG2, 16)]
    expected += [DestroyBridge(CONSULT)] if answered else []
    expected += [StopMoh(BRIDGE)]
    expected += [] if answered else [StopRinging(LEG1)]
    expected += [AddToBridge(BRIDGE, (LEG1,))]
    assert ops(out) == expected
    assert facts(out) == [ev.TransferCancelled(transfer="T", extension="1001", reason="cancelled")]
    assert set(m.parties) == {C, LEG1}
    assert m.stage is Stage.BRIDGED


@pytest.mark.parametrize(
    ("checked", "gone_cause", "reason"),
    [
        ("offline", None, "unavailable"),
        ("missing", None, "unknown-extension"),
        ("online", 17, "busy"),
        ("online", 19, "no-answer"),
        ("online", 21, "unavailable"),
    ],
)
def test_a_target_that_fails_returns_the_moved_party(
    checked: str, gone_cause: int | None, reason: str
) -> None:
    m = bridged()
    m.handle(AttendedTransfer("T", C, "1001", "api"))
    out = m.handle(EndpointChecked("1001", checked))
    if gone_cause is not None:
        out = m.handle(PartyGone(LEG2, gone_cause))
    assert ev.TransferCancelled(transfer="T", extension="1001", reason=reason) in facts(out)
    assert AddToBridge(BRIDGE, (LEG1,)) in out
    assert m.stage is Stage.BRIDGED
    view = m.transfer_view("T")
    assert view is not None
    assert (view.state, view.reason) == (TransferState.CANCELLED, reason)


def test_the_initiator_hanging_up_while_the_target_rings_completes_on_answer() -> None:
    m = consulting()
    m.handle(PartyGone(LEG1, 16))
    out = m.handle(PartyAnswered(LEG2))
    assert ops(out) == [StopMoh(BRIDGE), AddToBridge(BRIDGE, (LEG2,))]
    assert facts(out) == [ev.TransferCompleted(transfer="T", extension="1001")]


def test_the_initiator_gone_and_the_target_busy_tells_the_moved_party() -> None:
    m = consulting()
    m.handle(PartyGone(LEG1, 16))
    out = m.handle(PartyGone(LEG2, 17))
    assert [o.prompts for o in out if isinstance(o, PlayMedia)] == [("busy",)]
    assert m.stage is Stage.CLOSING
    assert m.disposition == "busy"


def test_attended_transfer_from_hold_moves_the_held_party() -> None:
    m = holding()
    out = m.handle(AttendedTransfer("T", C, "1001", "api"))
    assert ops(out) == [CheckEndpoint("1001")]  # already out of the bridge, music already on
    assert m.stage is Stage.CONSULTING


@pytest.mark.parametrize(
    ("walk", "request_"),
    [
        (consulting, CompleteTransfer("T")),  # not answered yet
        (consulting_answered, CompleteTransfer("other")),
        (consulting_answered, AttendedTransfer("T2", C, "1002", "api")),
        (bridged, AttendedTransfer("T", C, "1000", "api")),  # already a party
        (bridged, AttendedTransfer("T", C, "500", "api")),  # not a phone
        (holding, AttendedTransfer("T", LEG1, "1001", "api")),  # the holder is not held
    ],
)
def test_transfer_requests_the_call_cannot_honour_are_refused(
    walk: Callable[[], CallMachine], request_: Input
) -> None:
    with pytest.raises(CallStateConflict):
        walk().handle(request_)


# ------------------------------------------------------------------------------- blind transfer
def test_blind_transfer_of_the_callee_releases_the_caller_and_rings_anew() -> None:
    m = bridged()
    out = m.handle(BlindTransfer(LEG1, "1002", "api"))
    assert ops(out) == [HangupChannel(C, 16), DestroyBridge(BRIDGE), CheckEndpoint("1002")]
    assert facts(out) == [
        ev.Transferred(extension="1002", by="api", stage="bridged", moved="C-leg1")
    ]
    assert m.anchor == LEG1
    out = m.handle(EndpointChecked("1002", "online"))
    assert Ring(LEG1) in out
    assert m.stage is Stage.DIALING


def test_after_a_blind_transfer_the_new_bridge_has_a_fresh_id() -> None:
    """Asterisk answers the DELETE of the old bridge before its id is free: creating the same
    id at once (a target that answers within milliseconds) fails 409 and leaves the moved
    party alone in silence. Every bridge the call makes has an id of its own."""
    m = bridged()
    m.handle(BlindTransfer(LEG1, "1002", "api"))
    out = m.handle(EndpointChecked("1002", "online"))
    (ring,) = [o for o in out if isinstance(o, Originate)]
    out = m.handle(PartyAnswered(ring.leg))
    (made,) = [o for o in out if isinstance(o, CreateBridge)]
    assert made.bridge != BRIDGE
    assert made.bridge == BridgeId("C-bridge2")
    assert m.bridge == made.bridge


def test_blind_transfer_during_a_consultation_is_refused() -> None:
    with pytest.raises(CallStateConflict):
        consulting().handle(BlindTransfer(C, "1002", "api"))


# ------------------------------------------------------------------------- races and failures
def test_a_request_racing_a_hangup_is_refused_not_acted_on() -> None:
    """The agent's hold arrives just after the caller hung up: the call has ended, 409."""
    m = bridged()
    m.handle(PartyGone(C, 16))
    with pytest.raises(CallStateConflict):
        m.handle(Hold(LEG1))


def test_a_transfer_racing_the_moved_partys_hangup_is_refused() -> None:
    m = bridged()
    m.handle(PartyGone(LEG1, 16))  # ends the call, but the request was already queued
    with pytest.raises(CallStateConflict):
        m.handle(AttendedTransfer("T", LEG1, "1001", "api"))


@pytest.mark.parametrize(
    "op",
    [
        AddToBridge(BRIDGE, (C, LEG1)),
        StopRinging(C),
        HangupChannel(LEG1, 16),
        StartMoh(BRIDGE),
        PlayMedia(C, PlaybackId("C-say1"), ("busy",), None),
    ],
)
def test_a_404_means_the_party_is_already_gone_and_changes_nothing(op: Output) -> None:
    m = bridged()
    assert isinstance(op, (AddToBridge, StopRinging, HangupChannel, StartMoh, PlayMedia))
    assert m.handle(OperationFailed(op, 404)) == []
    assert m.stage is Stage.BRIDGED


def test_a_refused_originate_is_a_failed_dial() -> None:
    m = dialing()
    origin = Originate(LEG1, "1000", "", (), None)
    out = m.handle(OperationFailed(origin, 500))
    assert facts(out) == [ev.DialFailed(extension="1000", reason="unavailable"), ev.Answered()]
    assert m.stage is Stage.CLOSING


def test_an_asterisk_failure_ends_the_call_with_cause_41() -> None:
    m = bridged()
    out = m.handle(OperationFailed(StartMoh(BRIDGE), 500))
    assert {o.channel for o in out if isinstance(o, HangupChannel)} == {C, LEG1}
    assert facts(out)[-1] == ev.CallEnded(disposition="failed", cause=41, callee="1000")


@pytest.mark.parametrize(
    ("walk", "disposition"),
    [(ivr, "worker-stopped"), (dialing, "worker-stopped"), (bridged, "answered")],
)
def test_shutdown_ends_every_call(walk: Callable[[], CallMachine], disposition: str) -> None:
    m = walk()
    out = m.handle(Shutdown(41))
    assert m.stage is Stage.ENDED
    assert facts(out)[-1].data()["disposition"] == disposition
    assert all(o.cause == 41 for o in out if isinstance(o, HangupChannel))


def test_adopt_resumes_a_bridged_call() -> None:
    m = machine("1000", answered=True)
    out = m.adopt(LEG1, "1000", BRIDGE)
    assert facts(out) == [ev.Adopted(stage="bridged")]
    assert m.stage is Stage.BRIDGED
    out = m.handle(PartyGone(LEG1, 16))
    assert HangupChannel(C, 16) in out


def test_the_live_view_lists_every_party() -> None:
    view = consulting_answered().view(100.0)
    assert view.stage == "consulting"
    assert [(p.channel_id, p.role, p.state) for p in view.parties] == [
        (C, Role.CALLER, PartyState.HELD),
        (LEG1, Role.CALLEE, PartyState.TALKING),
        (LEG2, Role.TARGET, PartyState.TALKING),
    ]
    assert view.transfer is not None
    assert view.transfer.state is TransferState.ANSWERED


# ------------------------------------------------------------------- transfers pressed on a phone
def test_a_phones_blind_transfer_moves_the_party_it_talks_to() -> None:
    """The agent's phone (1000, LEG1) REFERs the caller to 1002: the phone is told it is done,
    the caller is routed to 1002 and the agent's leg released."""
    m = bridged()
    out = m.handle(PhoneTransfer(LEG1, "1002"))
    assert ops(out) == [
        TransferProgress(LEG1, "channel_answered"),
        HangupChannel(LEG1, 16),
        DestroyBridge(BRIDGE),
        CheckEndpoint("1002"),
    ]
    assert facts(out) == [ev.Transferred(extension="1002", by="phone", stage="bridged", moved="C")]
    assert m.anchor == C


@pytest.mark.parametrize(
    ("walk", "source", "extension", "told"),
    [
        (bridged, LEG1, "9999", [TransferProgress(LEG1, "channel_declined")]),
        (dialing, LEG1, "1002", [TransferProgress(LEG1, "channel_declined")]),
        (ivr, C, "1002", [TransferProgress(C, "channel_declined")]),
        (ended, LEG1, "1002", []),  # an ended call has nobody to tell: ignored
    ],
    ids=["nowhere", "not-yet-bridged", "in-the-ivr", "ended"],
)
def test_a_phones_transfer_that_cannot_be_made_is_declined(
    walk: Callable[[], CallMachine], source: ChannelId, extension: str, told: list[Output]
) -> None:
    m = walk()
    stage = m.stage
    out = m.handle(PhoneTransfer(source, extension))
    assert out == told
    assert m.stage is stage


def test_a_phones_attended_transfer_merges_the_two_calls() -> None:
    """Call A: caller C with agent LEG1. The agent's phone consulted 1002 in call B, then sent
    REFER with Replaces. B gives the target up (still up) and ends; A takes it over."""
    b = machine("1002")
    b.start()
    b.handle(EndpointChecked("1002", "online"))
    b.handle(PartyAnswered(LEG1))  # in call B, C is the phone's second dialog, LEG1 is 1002
    out = b.handle(GiveUp(LEG1))
    assert RemoveFromBridge(BRIDGE, LEG1) in out
    assert HangupChannel(LEG1, 16) not in out
    assert HangupChannel(C, 16) in out
    assert b.stage is Stage.ENDED
    assert facts(out)[-1].data()["disposition"] == "transferred"

    a = bridged()
    target = ChannelId("B-leg1")
    out = a.handle(TakeOver(LEG1, target, "1002", "T7"))
    assert ops(out) == [
        TransferProgress(LEG1, "channel_answered"),
        Bind(target),
        AddToBridge(BRIDGE, (target,)),
        HangupChannel(LEG1, 16),
    ]
    assert facts(out) == [
        ev.TransferStarted(transfer="T7", extension="1002", moved="C", by="phone"),
        ev.TransferCompleted(transfer="T7", extension="1002"),
    ]
    assert set(a.parties) == {C, target}
    assert a.stage is Stage.BRIDGED
    assert a.handle(PartyGone(LEG1, 16)) == []  # the phone hangs its first leg up: expected


def test_a_second_visit_of_the_ivr_plays_under_new_ids() -> None:
    """A blind transfer back to 500: the new session's tokens start at 1 again, its playback
    ids must not collide with the first visit's (Asterisk may still be stopping those)."""
    m = ivr()
    out = m.handle(BlindTransfer(C, "500", "api"))
    assert [o.playback for o in out if isinstance(o, PlayMedia)] == [PlaybackId("C-s2p1")]
    assert m.ivr.path == ["main", "main"]


def test_recovery_watches_the_echo_caller_until_it_leaves() -> None:
    """In the echo test the dialplan owns the caller, but its end still ends our record."""
    assert echo().channels == (C,)
    assert bridged().channels == (C, LEG1)
