"""Hold and attended transfer: the call machine's handlers for them (pure; see machine.py rules).

Hold takes the holder out of the call's bridge and plays music into it, so the party left there
hears music and the holder hears nothing. An attended transfer starts the same way (the moved
party hears music), then rings the target for the initiator; once the target answers, the
initiator and the target talk in a consultation bridge of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stasis_app.ari.ids import BridgeId, ChannelId
from stasis_app.calls import causes, dialing
from stasis_app.calls.messages import (
    AddToBridge,
    AttendedTransfer,
    CancelTransfer,
    CheckEndpoint,
    CompleteTransfer,
    CreateBridge,
    DestroyBridge,
    EndpointChecked,
    Hold,
    PartyAnswered,
    PartyGone,
    Record,
    RemoveFromBridge,
    Ring,
    StartMoh,
    StopMoh,
    StopRinging,
    Unhold,
)
from stasis_app.calls.routing import ToExtension, route
from stasis_app.calls.stage import Stage
from stasis_app.calls.views import PartyState, Role, TransferState, TransferView
from stasis_app.errors import CallStateConflict
from stasis_app.events import catalogue as ev

if TYPE_CHECKING:
    from stasis_app.calls.machine import CallMachine

# What the moved party hears, and the cause it is hung up with, when the initiator is gone and
# the target fails too (nobody is left to take the call back).
_FAILED: dict[str, tuple[str, int]] = {
    "busy": ("busy", causes.USER_BUSY),
    "no-answer": ("no-answer", causes.NO_ANSWER),
    "unknown-extension": ("unknown-extension", causes.UNALLOCATED),
}


@dataclass(slots=True)
class Consult:
    """One attended transfer, from start to its outcome."""

    id: str
    moved: ChannelId
    initiator: ChannelId | None  # None once the initiator hung up (the transfer then completes)
    extension: str
    by: str
    state: TransferState = TransferState.RINGING
    target: ChannelId | None = None
    bridge: BridgeId | None = None
    reason: str | None = None

    def view(self, call_id: str) -> TransferView:
        return TransferView(
            id=self.id,
            call_id=call_id,
            mode="attended",
            state=self.state,
            moved=self.moved,
            initiator=self.initiator,
            extension=self.extension,
            target=self.target,
            reason=self.reason,
        )


# ------------------------------------------------------------------------------------------ hold
def hold(call: CallMachine, event: Hold) -> None:
    party = call.parties.get(event.channel)
    other = call.other_talking(event.channel)
    if party is None or party.state is not PartyState.TALKING or other is None:
        raise CallStateConflict(str(event.channel), "is not talking to anyone")
    bridge = _bridge(call)
    call.emit(
        RemoveFromBridge(bridge, event.channel),
        StartMoh(bridge),
        Record(ev.Held(party=str(event.channel), extension=party.extension)),
    )
    party.state = PartyState.HOLDING
    call.set_state(other, PartyState.HELD)
    call.holder = event.channel
    call.stage = Stage.HOLDING


def unhold(call: CallMachine, event: Unhold) -> None:
    holder = call.holder
    party = call.parties.get(event.channel)
    if holder is None or party is None or party.state not in (PartyState.HOLDING, PartyState.HELD):
        raise CallStateConflict(str(event.channel), "is not on hold")
    bridge = _bridge(call)
    call.emit(
        StopMoh(bridge),
        AddToBridge(bridge, (holder,)),
        Record(ev.Unheld(party=str(holder), extension=call.parties[holder].extension)),
    )
    for p in call.parties.values():
        p.state = PartyState.TALKING
    call.holder = None
    call.stage = Stage.BRIDGED


# ------------------------------------------------------------------------------ attended transfer
def start(call: CallMachine, event: AttendedTransfer) -> None:
    moved = call.parties.get(event.moved)
    if call.holder is not None:  # from hold: the held party is the one to move
        initiator = call.holder
        if moved is None or moved.state is not PartyState.HELD:
            raise CallStateConflict(str(event.moved), "is not the party on hold")
    else:
        other = call.other_talking(event.moved)
        if moved is None or moved.state is not PartyState.TALKING or other is None:
            raise CallStateConflict(str(event.moved), "is not talking to anyone")
        initiator = other
    if not isinstance(route(event.extension), ToExtension):
        raise CallStateConflict(event.extension, "is not a phone extension")
    if event.extension in (moved.extension, call.parties[initiator].extension):
        raise CallStateConflict(event.extension, "is already a party of this call")
    bridge = _bridge(call)
    if call.holder is None:
        call.emit(RemoveFromBridge(bridge, initiator), StartMoh(bridge))
    consult = Consult(event.transfer, event.moved, initiator, event.extension, event.by)
    call.transfers[consult.id] = consult
    call.consult = consult
    call.holder = None
    moved.state = PartyState.HELD
    call.set_state(initiator, PartyState.HOLDING)
    call.stage = Stage.CONSULTING
    call.emit(
        Record(
            ev.TransferStarted(
                transfer=consult.id,
                extension=event.extension,
                moved=str(event.moved),
                by=event.by,
            )
        ),
        CheckEndpoint(event.extension),
    )


def target_checked(call: CallMachine, event: EndpointChecked) -> None:
    consult = call.consult
    if consult is None or consult.target is not None or event.extension != consult.extension:
        return
    if event.state == "missing":
        target_failed(call, "unknown-extension")
    elif event.state != "online":
        call.emit(Record(ev.DialFailed(extension=consult.extension, reason="not-registered")))
        target_failed(call, "unavailable")
    else:
        consult.target = dialing.originate(
            call, consult.extension, Role.TARGET, for_party=consult.moved
        )
        if consult.initiator is not None:
            call.emit(Ring(consult.initiator))


def target_answered(call: CallMachine, event: PartyAnswered) -> None:
    consult = call.consult
    if consult is None or event.channel != consult.target:
        call.late_answer(event)
        return
    call.parties[event.channel].answered = True
    if consult.initiator is None:
        _finish(call, consult)
        return
    consult.bridge = call.new_consult_bridge()
    call.emit(
        StopRinging(consult.initiator),
        CreateBridge(consult.bridge),
        AddToBridge(consult.bridge, (consult.initiator, event.channel)),
        Record(ev.TransferAnswered(transfer=consult.id, extension=consult.extension)),
    )
    consult.state = TransferState.ANSWERED
    call.set_state(consult.initiator, PartyState.TALKING)
    call.set_state(event.channel, PartyState.TALKING)


def complete(call: CallMachine, event: CompleteTransfer) -> None:
    consult = _current(call, event.transfer)
    if consult.state is not TransferState.ANSWERED:
        raise CallStateConflict(f"transfer {consult.id}", "the target has not answered yet")
    _finish(call, consult)


def cancel(call: CallMachine, event: CancelTransfer) -> None:
    _give_back(call, _current(call, event.transfer), "cancelled")


def target_failed(call: CallMachine, reason: str) -> None:
    if call.consult is not None:
        if call.consult.target is not None:
            call.parties.pop(call.consult.target, None)
        _give_back(call, call.consult, reason)


def party_gone(call: CallMachine, event: PartyGone) -> None:
    """A party hung up during the consultation (see the module rules for each one)."""
    consult = call.consult
    party = call.parties.pop(event.channel, None)
    if party is None or consult is None:
        return
    if event.channel == consult.target:
        if consult.state is TransferState.RINGING:
            reason = causes.failed_dial_outcome(event.cause)[0]
            call.emit(Record(ev.DialFailed(extension=consult.extension, reason=reason)))
        else:
            call.emit(Record(call.hangup_fact(party, event.cause)))
            reason = "target-hangup"
        consult.target = None
        _give_back(call, consult, reason)
        return
    call.emit(Record(call.hangup_fact(party, event.cause)))
    if event.channel == consult.initiator:
        consult.initiator = None
        if consult.state is TransferState.ANSWERED:
            _finish(call, consult)
        return  # still ringing: the moved party meets the target when it answers
    if event.channel == consult.moved:
        _moved_left(call, consult)


def drop(call: CallMachine) -> None:
    """The call ends or is moved elsewhere during a consultation: end it too."""
    consult = call.consult
    if consult is None:
        return
    if consult.target is not None:
        call.release(consult.target)
    if consult.bridge is not None:
        call.emit(DestroyBridge(consult.bridge))
    _close(call, consult, TransferState.CANCELLED, "call-ended")


# ------------------------------------------------------------------------------------- internals
def _finish(call: CallMachine, consult: Consult) -> None:
    """The moved party and the target talk in the call's bridge; the initiator is released."""
    target = consult.target
    if target is None:  # unreachable: only an answered target gets here
        raise CallStateConflict(f"transfer {consult.id}", "has no target")
    bridge = _bridge(call)
    if consult.bridge is not None:
        call.emit(RemoveFromBridge(consult.bridge, target), DestroyBridge(consult.bridge))
    call.emit(
        StopMoh(bridge),
        AddToBridge(bridge, (target,)),
        Record(ev.TransferCompleted(transfer=consult.id, extension=consult.extension)),
    )
    if consult.initiator is not None:
        call.release(consult.initiator)
    call.parties[target].role = Role.CALLEE
    call.set_state(target, PartyState.TALKING)
    call.set_state(consult.moved, PartyState.TALKING)
    call.callee_extension = consult.extension
    _close(call, consult, TransferState.COMPLETED, None)
    call.stage = Stage.BRIDGED


def _give_back(call: CallMachine, consult: Consult, reason: str) -> None:
    """The initiator has the moved party back; without an initiator, the moved party hears why
    and the call ends."""
    if consult.target is not None:
        call.release(consult.target)
    if consult.bridge is not None:
        call.emit(DestroyBridge(consult.bridge))
    bridge = _bridge(call)
    call.emit(StopMoh(bridge))
    initiator = consult.initiator
    _close(call, consult, TransferState.CANCELLED, reason)
    if initiator is None:
        call.emit(RemoveFromBridge(bridge, consult.moved), DestroyBridge(bridge))
        call.bridge = None
        call.anchor = consult.moved
        prompt, cause = _FAILED.get(reason, ("unavailable", causes.SUBSCRIBER_ABSENT))
        call.disposition = reason if reason in _FAILED else "unavailable"
        call.say_and_end(prompt, cause)
        return
    if consult.bridge is None:  # the target never answered: the initiator heard ringback
        call.emit(StopRinging(initiator))
    call.emit(AddToBridge(bridge, (initiator,)))
    call.set_state(initiator, PartyState.TALKING)
    call.set_state(consult.moved, PartyState.TALKING)
    call.stage = Stage.BRIDGED


def _moved_left(call: CallMachine, consult: Consult) -> None:
    """The moved party hung up: the initiator keeps talking to (or ringing) the target."""
    bridge = _bridge(call)
    call.emit(DestroyBridge(bridge))
    call.bridge = None
    initiator = consult.initiator
    state = consult.state
    consult_bridge = consult.bridge
    _close(call, consult, TransferState.CANCELLED, "moved-hangup")
    if initiator is None:
        call.end(causes.NORMAL)
    elif state is TransferState.ANSWERED:
        call.bridge = consult_bridge
        call.stage = Stage.BRIDGED
    else:
        call.anchor = initiator
        call.set_state(initiator, PartyState.UP)
        dialing.redial(call, initiator, consult.extension, consult.target)


def _close(call: CallMachine, consult: Consult, state: TransferState, reason: str | None) -> None:
    consult.state = state
    consult.reason = reason
    call.consult = None
    if state is TransferState.CANCELLED:
        fact = ev.TransferCancelled(
            transfer=consult.id, extension=consult.extension, reason=reason or "cancelled"
        )
        call.emit(Record(fact))


def _current(call: CallMachine, transfer: str) -> Consult:
    consult = call.consult
    if consult is None or consult.id != transfer:
        raise CallStateConflict(f"transfer {transfer}", "is not in progress")
    return consult


def _bridge(call: CallMachine) -> BridgeId:
    if call.bridge is None:
        raise CallStateConflict(f"call {call.id}", "has no bridge")
    return call.bridge
