"""The sans-I/O call machine: one call, any number of parties. Inputs in, outputs out.

The call task (:mod:`stasis_app.calls.call`) feeds :class:`CallMachine` what happened and performs
what it returns, in order (:mod:`stasis_app.calls.messages`). The machine never awaits, sleeps,
reads a clock or touches Asterisk; parties and bridges are data, stages an enum, and which input
each stage accepts is the table at the bottom of this module.

Rules
-----
* A call has an *anchor*: the party the call is about while it is alone (in the IVR, hearing a
  prompt, waiting for a phone to answer). It starts as the caller; a blind transfer makes the
  moved party the anchor.
* At most two parties talk in the call's bridge (``<call>-bridge``). Hold takes the holder out
  of the bridge and plays music into it. An attended transfer is hold plus a consultation: the
  initiator and the target talk in a second bridge (``<call>-consult<n>``) while the moved party
  hears music. Complete moves the target into the call's bridge and releases the initiator;
  cancel, or a target that is busy, does not answer, is unavailable or hangs up, gives the
  initiator the moved party back. The initiator hanging up completes the transfer (as on a PBX):
  at once if the target answered, else when it does.
* A party we hang up on purpose is *released*: it leaves ``parties`` at once, so its own hangup
  events find no party and are ignored.
  Any other party's hangup ends the call, except the transfer cases above and a ringing leg,
  whose failure (busy, no answer...) the anchor hears as a prompt before the call ends.
* Failed operations come back as :class:`OperationFailed`: a refused originate is a failed dial;
  a 4xx on anything else means the party is already gone and its hangup event will follow, so
  it is ignored; anything worse ends the call with cause 41.
* Requests (transfer, hold ...) that the stage cannot honour raise :class:`CallStateConflict`
  before anything changes: the call goes on. Any other input a stage does not accept raises
  :class:`IllegalCallInput`; the call task then calls :meth:`CallMachine.abort`, which plays
  ``service-unavailable`` to the anchor and ends the call (never silence).

Stages and the inputs they accept (``-`` ignored, ``409`` CallStateConflict, ``x`` illegal;
``ans`` PartyAnswered, ``dtmf`` a key, ``play`` PlaybackDone, ``ep`` EndpointChecked, ``fail``
OperationFailed, ``blind``/``att`` transfers, ``c/c`` complete or cancel, ``hold``/``unh``)::

    stage       ans      gone     dtmf  play   timer  ep       fail  blind att  c/c  hold unh
    ROUTING     x        x        x     x      x      x        x     409   409  409  409  409
    IVR         hangup   end      ivr   ivr    ivr    x        fail  yes   409  409  409  409
    ANNOUNCING  hangup   end      -     route  -      x        fail  yes   409  409  409  409
    DIALING     BRIDGED  fail     -     -      -      dial     fail  yes   409  409  409  409
    QUEUED      agent    queue    -     -      -      x        queue yes   409  409  409  409
    BRIDGED     hangup   end      -     -      -      x        fail  yes   yes  409  yes  409
    HOLDING     hangup   end      -     -      -      x        fail  yes   yes  409  409  yes
    CONSULTING  consult  consult  -     -      -      consult  fail  409   409  yes  409  409
    ECHO        hangup   end      -     -      -      x        -     409   409  409  409  409
    CLOSING     hangup   end      -     end    -      x        fail  409   409  409  409  409
    ENDED       -        -        -     -      -      -        -     409   409  409  409  409

In QUEUED (:mod:`.queueing`) an offered agent's leg answering connects it (``agent``), a leg
failing is a missed offer and the caller keeps waiting (``queue``); the ACD's inputs
(``QueueOffer``, ``QueueAnnounce``, ``QueueExpired``, ``QueueRefused``) are accepted there and
ignored in every other stage (the caller left the queue after the ACD decided).

Every stage but ROUTING and ENDED accepts Shutdown (end the call now). Transfers pressed on a
phone (:mod:`.refer`): ``PhoneTransfer`` (blind) is accepted wherever Shutdown is, and declined
to the phone unless two parties talk (BRIDGED, HOLDING); ``GiveUp`` and ``TakeOver`` (the two
halves of a phone's attended transfer) are requests accepted in BRIDGED and HOLDING only.
(``answered`` in a stage that rings nobody is a leg we released answering late: it is hung up.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from stasis_app.ari.ids import BridgeId, ChannelId, PlaybackId
from stasis_app.calls import causes, dialing, naming, queueing, refer
from stasis_app.calls import transfers as xfer
from stasis_app.calls.ivr_bridge import IvrDriver
from stasis_app.calls.messages import (
    Answer,
    AttendedTransfer,
    BlindTransfer,
    CancelTransfer,
    CheckEndpoint,
    CompleteTransfer,
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
    Shutdown,
    StopMedia,
    TakeOver,
    TimerFired,
    Unhold,
)
from stasis_app.calls.party import Caller, Party
from stasis_app.calls.stage import Stage
from stasis_app.calls.views import LiveCallView, PartyState, PartyView, Role, TransferView
from stasis_app.errors import CallStateConflict, IllegalCallInput
from stasis_app.events import catalogue as ev
from stasis_app.ivr import IvrDefinition
from stasis_app.queues.model import QueueConfig


class CallMachine:
    """One call; see the module rules. Not thread-safe: one call task drives it."""

    def __init__(
        self,
        call_id: str,
        caller: Caller,
        dialed: str,
        ivr: Callable[[], IvrDefinition],
        *,
        queues: Callable[[], QueueConfig] = QueueConfig,
        arrived: datetime | None = None,
    ) -> None:
        self.id = call_id
        self.dialed = dialed
        self.caller = caller
        self.stage = Stage.ROUTING
        self.parties: dict[ChannelId, Party] = {
            caller.channel: Party(
                caller.channel,
                naming.extension_of(caller.channel_name),
                Role.CALLER,
                PartyState.UP if caller.answered else PartyState.RINGING,
                caller.number,
                caller.name,
                caller.answered,
            )
        }
        self.anchor = caller.channel
        self.bridge: BridgeId | None = None
        self.holder: ChannelId | None = None
        self.dial: dialing.Dial | None = None
        self.consult: xfer.Consult | None = None
        self.transfers: dict[str, xfer.Consult] = {}
        self.disposition = "abandoned"
        self.cause: int | None = None
        self.callee_extension: str | None = None
        self.ivr = IvrDriver(call_id, ivr, arrived)
        self.queues = queues
        self.queued: queueing.Queued | None = None
        self.via_queue: str | None = None  # the last queue the caller joined, for the views
        self._says: dict[PlaybackId, Callable[[], None]] = {}
        self._legs = 0
        self._bridges = 0  # call bridges made so far (each new one gets a fresh id)
        self._consults = 0
        self._queue_bridges = 0
        self._said = 0
        self._out: list[Output] = []

    # ------------------------------------------------------------------------------ public
    @property
    def finished(self) -> bool:
        return self.stage is Stage.ENDED

    @property
    def channels(self) -> tuple[ChannelId, ...]:
        """The channels whose disappearance concerns this call (recovery checks them)."""
        if self.stage is Stage.ECHO:
            return (*self.parties, self.anchor)  # it ends when the echo caller leaves
        return tuple(self.parties)

    def start(self) -> list[Output]:
        """Record the call and route it on the dialed extension. Accepted once, in ROUTING."""
        if self.stage is not Stage.ROUTING:
            raise IllegalCallInput(self.stage.value, "start()")
        c = self.caller
        self.emit(Record(ev.CallStarted(c.number, c.name, self.dialed, c.channel_name)))
        self.route_anchor(self.dialed)
        return self._flush()

    def adopt(self, other: ChannelId, extension: str, bridge: BridgeId) -> list[Output]:
        """Resume a call found bridged after a restart: its two parties talk in ``bridge``."""
        if self.stage is not Stage.ROUTING:
            raise IllegalCallInput(self.stage.value, "adopt()")
        self.parties[other] = Party(
            other, extension, Role.CALLEE, PartyState.TALKING, extension, "", True
        )
        self.parties[self.caller.channel].state = PartyState.TALKING
        self.bridge, self.stage, self.disposition = bridge, Stage.BRIDGED, "answered"
        self._bridges = naming.bridge_number(bridge)  # the next one the call makes is a new id
        self.callee_extension = extension
        self.emit(Record(ev.Adopted(stage=self.stage.value)))
        return self._flush()

    def adopt_queued(self, queue: str, bridge: BridgeId, joined: float) -> list[Output]:
        """Resume a caller found waiting in a queue's holding bridge after a restart."""
        if self.stage is not Stage.ROUTING:
            raise IllegalCallInput(self.stage.value, "adopt_queued()")
        self.parties[self.caller.channel].answered = True
        self.parties[self.caller.channel].state = PartyState.UP
        queueing.adopt(self, queue, bridge, joined)
        self.emit(Record(ev.Adopted(stage=self.stage.value)))
        return self._flush()

    def handle(self, event: Input) -> list[Output]:
        """Feed one input; returns the outputs to perform, in order."""
        handler = _TABLE[self.stage].get(type(event))
        if handler is None:
            if isinstance(event, _REQUESTS):
                raise CallStateConflict(
                    f"call {self.id}",
                    f"not possible while {self.stage.value}",
                    stage=self.stage.value,
                )
            raise IllegalCallInput(self.stage.value, event)
        try:
            handler(self, event)
        except CallStateConflict:
            self._out.clear()  # handlers refuse before they change anything: nothing to do
            raise
        return self._flush()

    def abort(self) -> list[Output]:
        """End the call cleanly after an illegal input: the anchor hears that the service is
        unavailable, everyone else is released."""
        self._out.clear()
        if self.stage is not Stage.ENDED:
            self.disposition = "failed"
            self.release_all_but(self.anchor)
            self.say_and_end("service-unavailable", causes.TEMPORARY_FAILURE)
        return self._flush()

    def fail(self) -> list[Output]:
        """End the call at once after a fault of ours (an exception in the call task)."""
        self._out.clear()
        self.disposition = "failed"
        self.end(causes.TEMPORARY_FAILURE)
        return self._flush()

    def view(self, started: float) -> LiveCallView:
        c = self.caller
        return LiveCallView(
            id=self.id,
            caller_number=c.number,
            caller_name=c.name,
            dialed=self.dialed,
            stage=self.stage.value,
            started=started,
            parties=tuple(
                PartyView(p.channel, p.extension, p.role, p.state) for p in self.parties.values()
            ),
            bridge_id=self.bridge,
            transfer=self.consult.view(self.id) if self.consult is not None else None,
            ivr_path=tuple(self.ivr.path),
            queue=self.via_queue,
        )

    def transfer_view(self, transfer_id: str) -> TransferView | None:
        found = self.transfers.get(transfer_id)
        return found.view(self.id) if found is not None else None

    # ------------------------------------------------------------------ helpers for handlers
    def emit(self, *outputs: Output) -> None:
        self._out.extend(outputs)

    def _flush(self) -> list[Output]:
        out, self._out = self._out, []
        return out

    def language(self) -> str | None:
        return self.ivr.language

    def other_talking(self, channel: ChannelId) -> ChannelId | None:
        for p in self.parties.values():
            if p.channel != channel and p.state in (PartyState.TALKING, PartyState.HELD):
                return p.channel
        return None

    def set_state(self, channel: ChannelId, state: PartyState) -> None:
        party = self.parties.get(channel)
        if party is not None:
            party.state = state

    def answer(self, channel: ChannelId) -> None:
        party = self.parties[channel]
        if not party.answered:
            party.answered = True
            self.emit(Answer(channel))
            if channel == self.caller.channel:
                self.emit(Record(ev.Answered()))
        party.state = PartyState.UP

    def release(self, channel: ChannelId, cause: int = causes.NORMAL) -> None:
        """Hang up a party on purpose; its hangup events are then expected."""
        if self.parties.pop(channel, None) is not None:
            self.emit(HangupChannel(channel, cause))

    def release_all_but(self, keep: ChannelId) -> None:
        """Leave ``keep`` alone in the call: no IVR, prompt, bridge, music or other party."""
        self.stop_saying()
        self._clear(keep, causes.NORMAL)
        self.holder = None
        self.dial = None
        self.set_state(keep, PartyState.UP)

    def _clear(self, keep: ChannelId | None, cause: int) -> None:
        """Stop the IVR, leave the queue, release every party but ``keep``, end a consultation,
        drop the bridge."""
        self.ivr.stop(self)
        if self.queued is not None:
            # The caller gone while waiting is an abandoned call; any other way out is not.
            queueing.drop(self, "dropped" if self.anchor in self.parties else "abandoned")
        for channel in [c for c in self.parties if c != keep]:
            self.release(channel, cause)
        if self.consult is not None:
            xfer.drop(self)
        if self.bridge is not None:
            self.emit(DestroyBridge(self.bridge))
            self.bridge = None

    def hangup_fact(self, party: Party, cause: int | None) -> ev.Fact:
        if party.role is Role.CALLER:
            return ev.CallerHangup(cause=cause)
        return ev.CalleeHangup(cause=cause, extension=party.extension)

    # ------------------------------------------------------------------------------ routing
    def route_anchor(self, extension: str) -> None:
        """Send the anchor where ``extension`` leads (IVR, echo, a phone, or nowhere)."""
        dialing.route(self, extension)

    def next_leg(self) -> ChannelId:
        self._legs += 1
        return naming.leg_id(self.id, self._legs)

    def new_call_bridge(self) -> BridgeId:
        self._bridges += 1
        return naming.bridge_id(self.id, self._bridges)

    def new_consult_bridge(self) -> BridgeId:
        self._consults += 1
        return naming.consult_bridge_id(self.id, self._consults)

    def new_queue_bridge(self) -> BridgeId:
        self._queue_bridges += 1
        return naming.queue_bridge_id(self.id, self._queue_bridges)

    # ------------------------------------------------------------------------------- prompts
    def say(self, prompt: str, then: Callable[[], None]) -> None:
        """Play ``prompt`` to the anchor; when it has finished, run ``then``."""
        self.say_many((prompt,), then)

    def say_many(self, prompts: tuple[str, ...], then: Callable[[], None]) -> None:
        self._said += 1
        playback = naming.say_playback_id(self.id, self._said)
        self._says[playback] = then
        self.emit(PlayMedia(self.anchor, playback, prompts, self.language()))

    def stop_saying(self) -> None:
        """Stop the call's own prompts (their ``then`` never runs)."""
        for playback in self._says:
            self.emit(StopMedia(playback))
        self._says.clear()

    def announce(self, prompt: str, extension: str) -> None:
        """Play ``prompt`` to the anchor, then route it to ``extension``."""
        self.stage = Stage.ANNOUNCING
        self.say(prompt, lambda: self.route_anchor(extension))

    def say_and_end(self, prompt: str, cause: int) -> None:
        self.stage = Stage.CLOSING
        self.cause = cause
        self.ivr.stop(self)
        if self.anchor in self.parties:
            self.answer(self.anchor)
            self.say(prompt, lambda: self.end(cause))
        else:
            self.end(cause)

    # ------------------------------------------------------------------------------- endings
    def end(self, cause: int) -> None:
        """Hang up every party not yet released, destroy our bridges, record the end."""
        if self.stage is Stage.ENDED:
            return
        self.cause = self.cause or cause
        self._clear(None, self.cause)
        self.stage = Stage.ENDED
        self.emit(
            Record(
                ev.CallEnded(
                    disposition=self.disposition,
                    cause=self.cause,
                    ivr_path=tuple(self.ivr.path),
                    callee=self.callee_extension,
                )
            )
        )

    # ----------------------------------------------------------------------------- handlers
    def late_answer(self, event: PartyAnswered) -> None:
        # A leg we released (or never knew) answered after all: it has no one to talk to.
        if event.channel not in self.parties:
            self.emit(HangupChannel(event.channel, causes.NORMAL))

    def gone(self, event: PartyGone) -> None:
        if self.stage is Stage.ECHO and event.channel == self.anchor:
            self.end(causes.NORMAL)  # it left Stasis for Echo(); the call is Asterisk's now
            return
        party = self.parties.pop(event.channel, None)
        if party is None:
            return  # released on purpose, or not ours
        if party.state is not PartyState.RINGING:
            self.emit(Record(self.hangup_fact(party, event.cause)))
        if self.stage is Stage.DIALING and self.dial is not None:
            if event.channel == self.dial.leg:
                dialing.failed(self, causes.failed_dial_outcome(event.cause))
                return
            self.disposition = "abandoned"
        self.end(causes.NORMAL)

    def _dtmf(self, event: DtmfReceived) -> None:
        if event.channel == self.anchor:
            self.ivr.digit(self, event.digit)

    def _played(self, event: PlaybackDone) -> None:
        then = self._says.pop(event.playback, None)
        if then is not None:
            then()
        elif self.stage is Stage.IVR:
            self.ivr.prompt_done(self, event.playback)

    def _timer(self, event: TimerFired) -> None:
        self.ivr.timer(self, event.token)

    def operation_failed(self, event: OperationFailed) -> None:
        op = event.op
        if isinstance(op, (Originate, CheckEndpoint)):
            if self.stage is Stage.CONSULTING:
                xfer.target_failed(self, "unavailable")
            elif self.dial is not None:
                dialing.failed(self, dialing.UNAVAILABLE)
            return
        if 400 <= event.status < 500:
            return  # the party or resource is already gone; its own event follows
        self.disposition = "failed"
        self.end(causes.TEMPORARY_FAILURE)

    def blind(self, event: BlindTransfer) -> None:
        if event.moved not in self.parties:
            raise CallStateConflict(str(event.moved), "is not a party of this call")
        self.emit(
            Record(
                ev.Transferred(
                    extension=event.extension,
                    by=event.by,
                    stage=self.stage.value,
                    moved=str(event.moved),
                )
            )
        )
        self.release_all_but(event.moved)
        self.anchor = event.moved
        self.route_anchor(event.extension)

    def _shutdown(self, event: Shutdown) -> None:
        if self.stage not in (Stage.BRIDGED, Stage.HOLDING, Stage.CONSULTING):
            self.disposition = "worker-stopped"
        self.end(event.cause)

    def _ignore(self, event: Input) -> None:
        pass


_Handler = Callable[[CallMachine, Any], None]
_REQUESTS = (
    *(BlindTransfer, AttendedTransfer, CompleteTransfer, CancelTransfer, Hold, Unhold),
    *(GiveUp, TakeOver),
)

_ALIVE: dict[type[Any], _Handler] = {
    PartyAnswered: CallMachine.late_answer,
    PartyGone: CallMachine.gone,
    DtmfReceived: CallMachine._ignore,
    PlaybackDone: CallMachine._played,
    TimerFired: CallMachine._ignore,
    OperationFailed: CallMachine.operation_failed,
    PhoneTransfer: refer.phone_blind,  # declined unless two parties talk
    # The ACD decided before the caller left the queue: nothing to do any more.
    QueueOffer: CallMachine._ignore,
    QueueAnnounce: CallMachine._ignore,
    QueueExpired: CallMachine._ignore,
    QueueRefused: CallMachine._ignore,
    Shutdown: CallMachine._shutdown,
}
_IGNORE_ALL: dict[type[Any], _Handler] = {
    t: CallMachine._ignore
    for t in (
        *(PartyAnswered, PartyGone, DtmfReceived, PlaybackDone, TimerFired),
        *(EndpointChecked, OperationFailed, PhoneTransfer, Shutdown),
        *(QueueOffer, QueueAnnounce, QueueExpired, QueueRefused),
    )
}
_TABLE: dict[Stage, dict[type[Any], _Handler]] = {
    Stage.ROUTING: {},
    Stage.IVR: {
        **_ALIVE,
        DtmfReceived: CallMachine._dtmf,
        TimerFired: CallMachine._timer,
        BlindTransfer: CallMachine.blind,
    },
    Stage.ANNOUNCING: {**_ALIVE, BlindTransfer: CallMachine.blind},
    Stage.DIALING: {
        **_ALIVE,
        PartyAnswered: dialing.connect,
        EndpointChecked: dialing.endpoint_checked,
        BlindTransfer: CallMachine.blind,
    },
    Stage.QUEUED: {
        **_ALIVE,
        PartyAnswered: queueing.answered,
        PartyGone: queueing.gone,
        OperationFailed: queueing.failed,
        QueueOffer: queueing.offer,
        QueueAnnounce: queueing.announce,
        QueueExpired: queueing.expired,
        QueueRefused: queueing.refused,
        BlindTransfer: CallMachine.blind,
    },
    Stage.BRIDGED: {
        **_ALIVE,
        BlindTransfer: CallMachine.blind,
        AttendedTransfer: xfer.start,
        Hold: xfer.hold,
        GiveUp: refer.give_up,
        TakeOver: refer.take_over,
    },
    Stage.HOLDING: {
        **_ALIVE,
        BlindTransfer: CallMachine.blind,
        AttendedTransfer: xfer.start,
        Unhold: xfer.unhold,
        GiveUp: refer.give_up,
        TakeOver: refer.take_over,
    },
    Stage.CONSULTING: {
        **_ALIVE,
        PartyAnswered: xfer.target_answered,
        PartyGone: xfer.party_gone,
        EndpointChecked: xfer.target_checked,
        CompleteTransfer: xfer.complete,
        CancelTransfer: xfer.cancel,
    },
    Stage.ECHO: {**_ALIVE, OperationFailed: CallMachine._ignore},
    Stage.CLOSING: dict(_ALIVE),
    Stage.ENDED: dict(_IGNORE_ALL),
}

# Exported for the table tests: every stage x input they cover must be decided here.
TABLE = _TABLE
ALL_INPUTS: tuple[type[Any], ...] = (
    PartyAnswered,
    PartyGone,
    DtmfReceived,
    PlaybackDone,
    TimerFired,
    EndpointChecked,
    OperationFailed,
    PhoneTransfer,
    QueueOffer,
    QueueAnnounce,
    QueueExpired,
    QueueRefused,
    *_REQUESTS,
    Shutdown,
)

__all__ = ["ALL_INPUTS", "TABLE", "CallMachine", "Caller", "Party", "Stage"]
