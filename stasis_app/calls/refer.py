"""Transfers pressed on a phone (SIP REFER): the call machine's handlers for them (pure).

The dialplan and our originates set ``PJSIP_TRANSFER_HANDLING=ari-only`` on every channel, so
Asterisk accepts a phone's REFER (202), moves nothing, and sends the worker a ``ChannelTransfer``
event; the phone learns the outcome from the NOTIFYs that ``transfer_progress`` makes Asterisk
send (``channel_answered``: done, the phone hangs up its leg; ``channel_declined``: it keeps it).

* **Blind** (the phone dialed an extension): the party the phone talks to is moved there, exactly
  like a blind transfer from the REST API, and the phone is told at once that it is done.
* **Attended** (the phone first called the target itself, a second call in our app, then sent
  REFER with Replaces): the two calls merge. The dispatcher asks the consultation call to give
  its target up (:class:`GiveUp`: the target leaves that call's bridge, still up, and that call
  ends), then asks this call to take it over (:class:`TakeOver`): the target joins this call's
  bridge and replaces the phone, which is told it is done. Each call records what it saw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stasis_app.ari.ids import ChannelId
from stasis_app.calls import causes
from stasis_app.calls.messages import (
    AddToBridge,
    Bind,
    BlindTransfer,
    GiveUp,
    PhoneTransfer,
    Record,
    RemoveFromBridge,
    StopMoh,
    TakeOver,
    TransferProgress,
)
from stasis_app.calls.party import Party
from stasis_app.calls.routing import Nowhere, route
from stasis_app.calls.stage import Stage
from stasis_app.calls.views import PartyState, Role
from stasis_app.errors import CallStateConflict
from stasis_app.events import catalogue as ev

if TYPE_CHECKING:
    from stasis_app.calls.machine import CallMachine

DONE = "channel_answered"
DECLINED = "channel_declined"


def phone_blind(call: CallMachine, event: PhoneTransfer) -> None:
    moved = call.other_talking(event.source) if event.source in call.parties else None
    if (
        call.stage not in (Stage.BRIDGED, Stage.HOLDING)
        or moved is None
        or isinstance(route(event.extension), Nowhere)
    ):
        call.emit(TransferProgress(event.source, DECLINED))
        return
    call.emit(TransferProgress(event.source, DONE))
    call.blind(BlindTransfer(moved, event.extension, "phone"))


def give_up(call: CallMachine, event: GiveUp) -> None:
    party = call.parties.get(event.channel)
    if party is None or call.bridge is None:
        raise CallStateConflict(str(event.channel), "is not a party of this call")
    call.parties.pop(event.channel)  # not hung up: its events now belong to the other call
    call.emit(RemoveFromBridge(call.bridge, event.channel))
    call.emit(Record(ev.Transferred(extension=party.extension, by="phone", stage=call.stage.value)))
    call.disposition = "transferred"
    call.end(causes.NORMAL)


def take_over(call: CallMachine, event: TakeOver) -> None:
    moved = call.other_talking(event.source) if event.source in call.parties else None
    if moved is None or call.bridge is None:
        raise CallStateConflict(str(event.source), "is not talking to anyone")
    bridge = call.bridge
    call.emit(TransferProgress(event.source, DONE), Bind(event.party))
    if call.stage is Stage.HOLDING:
        call.emit(StopMoh(bridge))
    call.parties[event.party] = _joined(event.party, event.extension)
    call.emit(
        AddToBridge(bridge, (event.party,)),
        Record(
            ev.TransferStarted(
                transfer=event.transfer, extension=event.extension, moved=str(moved), by="phone"
            )
        ),
        Record(ev.TransferCompleted(transfer=event.transfer, extension=event.extension)),
    )
    call.release(event.source)
    call.set_state(moved, PartyState.TALKING)
    call.holder = None
    call.callee_extension = event.extension
    call.stage = Stage.BRIDGED


def _joined(channel: ChannelId, extension: str) -> Party:
    return Party(
        channel,
        extension,
        Role.CALLEE,
        PartyState.TALKING,
        extension,
        f"Extension {extension}",
        True,
    )


__all__ = ["DECLINED", "DONE", "give_up", "phone_blind", "take_over"]
