"""Routing the anchor and ringing phones for it: the call machine's dialing handlers (pure).

Routing a dialed (or transferred-to) extension: 500 enters the IVR, 7777 is handed to the
dialplan's Echo(), a phone extension is checked (``CheckEndpoint``) and rung as a new leg of the
call, anything else hears "unknown extension". A leg that answers is bridged with the party
waiting for it; one that fails (busy, no answer, not registered) is announced to that party.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stasis_app.ari.ids import ChannelId
from stasis_app.calls import causes, naming
from stasis_app.calls.messages import (
    AddToBridge,
    Bind,
    CheckEndpoint,
    ContinueInDialplan,
    CreateBridge,
    EndpointChecked,
    Originate,
    PartyAnswered,
    Record,
    Ring,
    StopRinging,
)
from stasis_app.calls.party import Party
from stasis_app.calls.routing import Nowhere, ToEcho, ToExtension, ToIvr
from stasis_app.calls.routing import route as route_of
from stasis_app.calls.stage import Stage
from stasis_app.calls.views import PartyState, Role
from stasis_app.events import catalogue as ev

if TYPE_CHECKING:
    from stasis_app.calls.machine import CallMachine

# (disposition, prompt, cause) of a phone that cannot be rung.
UNAVAILABLE = ("unavailable", "unavailable", causes.SUBSCRIBER_ABSENT)


@dataclass(slots=True)
class Dial:
    waiting: ChannelId  # who hears ringback and is bridged when the phone answers
    extension: str
    leg: ChannelId | None = None  # None while the endpoint check is out


def route(call: CallMachine, extension: str) -> None:
    target = route_of(extension)
    anchor = call.anchor
    if isinstance(target, ToIvr):
        if call.stage is Stage.ROUTING and call.parties[anchor].answered:
            # The dialplan answered the IVR number before Stasis: the timeline still says so.
            call.emit(Record(ev.Answered()))
        call.answer(anchor)
        call.stage = Stage.IVR
        call.ivr.begin(call, anchor)
    elif isinstance(target, ToEcho):
        call.answer(anchor)
        call.stage = Stage.ECHO
        call.disposition = "echo"
        call.emit(Record(ev.EchoStarted()))
        call.emit(ContinueInDialplan(anchor, naming.ECHO_CONTEXT, extension))
        # The dialplan owns the channel now: its StasisEnd ends our record of the call.
        call.parties.pop(anchor)
    elif isinstance(target, ToExtension):
        call.stage = Stage.DIALING
        call.dial = Dial(anchor, target.extension)
        call.emit(CheckEndpoint(target.extension))
    elif isinstance(target, Nowhere):
        call.disposition = "unknown-extension"
        call.say_and_end("unknown-extension", causes.UNALLOCATED)


def originate(
    call: CallMachine,
    extension: str,
    role: Role,
    *,
    for_party: ChannelId,
    timeout: float | None = None,
) -> ChannelId:
    """Ring ``extension`` as a new party of this call, shown as ``for_party``'s caller id, for
    ``timeout`` seconds (None: the worker's ring timeout)."""
    leg = call.next_leg()
    shown = call.parties[for_party]
    call.parties[leg] = Party(
        leg, extension, role, PartyState.RINGING, extension, f"Extension {extension}", False
    )
    call.emit(
        Bind(leg),
        Record(ev.Dialing(extension=extension, leg=str(leg))),
        Originate(
            leg,
            extension,
            f'"{shown.name}" <{shown.number}>',
            (naming.LEG_ARG, call.id),
            originator=for_party,
            timeout=timeout,
        ),
    )
    return leg


def redial(call: CallMachine, waiting: ChannelId, extension: str, leg: ChannelId | None) -> None:
    """``waiting`` goes back to waiting for ``extension`` (already ringing as ``leg``)."""
    call.stage = Stage.DIALING
    call.dial = Dial(waiting, extension, leg)
    if leg is None:
        call.emit(CheckEndpoint(extension))


def endpoint_checked(call: CallMachine, event: EndpointChecked) -> None:
    dial = call.dial
    if dial is None or dial.leg is not None or event.extension != dial.extension:
        return
    if event.state == "missing":
        call.disposition = "unknown-extension"
        call.say_and_end("unknown-extension", causes.UNALLOCATED)
    elif event.state != "online":
        failed(call, UNAVAILABLE, "not-registered")
    else:
        dial.leg = originate(call, dial.extension, Role.CALLEE, for_party=dial.waiting)
        call.emit(Ring(dial.waiting))


def failed(call: CallMachine, outcome: tuple[str, str, int], reason: str | None = None) -> None:
    disposition, prompt, cause = outcome
    dial, call.dial = call.dial, None
    if dial is None:
        return
    if dial.leg is not None:
        call.parties.pop(dial.leg, None)
    call.emit(Record(ev.DialFailed(extension=dial.extension, reason=reason or disposition)))
    call.disposition = disposition
    call.anchor = dial.waiting
    call.say_and_end(prompt, cause)


def connect(call: CallMachine, event: PartyAnswered) -> None:
    dial = call.dial
    if dial is None or event.channel != dial.leg:
        call.late_answer(event)
        return
    leg = call.parties[dial.leg]
    leg.answered = True
    call.answer(dial.waiting)
    bridge = call.new_call_bridge()
    call.emit(
        StopRinging(dial.waiting),
        CreateBridge(bridge),
        AddToBridge(bridge, (dial.waiting, dial.leg)),
        Record(ev.Bridged(extension=dial.extension, bridge=str(bridge))),
    )
    call.set_state(dial.waiting, PartyState.TALKING)
    leg.state = PartyState.TALKING
    call.bridge, call.stage, call.disposition = bridge, Stage.BRIDGED, "answered"
    call.callee_extension = dial.extension
    call.dial = None
