"""A caller waiting in a queue: the call machine's QUEUED handlers (pure).

The anchor waits alone in a holding bridge (``<call>-queue<n>``, named after the queue) hearing
the queue's music, with the greeting and the periodic announcements played on its channel. The
ACD (:mod:`stasis_app.queues.acd`) decides who is offered the call; its decisions arrive as
inputs (:class:`QueueOffer`, :class:`QueueAnnounce`, :class:`QueueExpired`,
:class:`QueueRefused`) and the call tells it what became of them (:class:`OfferMissed`,
:class:`OfferTaken`, :class:`LeaveQueue`).

* An offer rings each agent as a leg of the call (ring-all: several at once). The first to answer
  is bridged with the caller; the other legs are released.
* A leg that fails (busy, no answer, unreachable) is an :class:`OfferMissed`: the caller keeps
  waiting, in the same place.
* The caller hanging up leaves the queue ``abandoned``; waiting ``max_wait`` sends them where
  ``on_max_wait`` says (``overflowed``); any other way out (a transfer, the worker stopping) is
  ``dropped``, which the figures do not count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stasis_app.ari.ids import BridgeId, ChannelId
from stasis_app.calls import causes, dialing, naming
from stasis_app.calls.messages import (
    AddToBridge,
    CreateBridge,
    DestroyBridge,
    JoinQueue,
    LeaveQueue,
    OfferMissed,
    OfferTaken,
    OperationFailed,
    Originate,
    PartyAnswered,
    PartyGone,
    QueueAnnounce,
    QueueExpired,
    QueueOffer,
    QueueRefused,
    Record,
    StartMoh,
)
from stasis_app.calls.stage import Stage
from stasis_app.calls.views import PartyState, Role
from stasis_app.events import catalogue as ev
from stasis_app.queues.model import (
    Overflow,
    OverflowKind,
    QueueDef,
    position_prompt,
    wait_prompt,
)

if TYPE_CHECKING:
    from stasis_app.calls.machine import CallMachine


@dataclass(slots=True)
class Queued:
    queue: str
    bridge: BridgeId
    offers: dict[ChannelId, str] = field(default_factory=dict)  # ringing leg -> agent


def _definition(call: CallMachine, queue: str) -> QueueDef | None:
    return call.queues().queues.get(queue)


def enter(call: CallMachine, queue: str, prompt: str | None = None) -> None:
    """Put the anchor in ``queue``: holding bridge, music, greeting, then wait for offers."""
    d = _definition(call, queue)
    if d is None:  # the queues file was reloaded without it since the IVR was loaded
        call.disposition = "failed"
        call.say_and_end("service-unavailable", causes.TEMPORARY_FAILURE)
        return
    call.answer(call.anchor)
    call.stage = Stage.QUEUED
    bridge = call.new_queue_bridge()
    call.queued = Queued(queue, bridge)
    call.via_queue = queue
    call.emit(
        CreateBridge(bridge, holding=True, name=naming.queue_bridge_name(queue)),
        AddToBridge(bridge, (call.anchor,)),
        StartMoh(bridge, d.music),
        JoinQueue(queue),
    )
    prompts = tuple(p for p in (prompt, d.greeting) if p)
    if prompts:
        call.say_many(prompts, lambda: None)


def adopt(call: CallMachine, queue: str, bridge: BridgeId, joined: float) -> None:
    """Resume a caller found waiting in ``bridge`` after a restart, in their original place."""
    call.stage = Stage.QUEUED
    call.queued = Queued(queue, bridge)
    call.via_queue = queue
    d = _definition(call, queue)
    call.emit(StartMoh(bridge, d.music if d is not None else None), JoinQueue(queue, joined))


def drop(call: CallMachine, outcome: str, to: str = "") -> None:
    """Leave the queue (``outcome`` for the figures, ``to`` where an overflow sends the caller):
    release ringing agents, drop the bridge."""
    queued, call.queued = call.queued, None
    if queued is None:
        return
    for leg in queued.offers:
        call.release(leg)
    call.emit(DestroyBridge(queued.bridge), LeaveQueue(outcome, to))


def offer(call: CallMachine, event: QueueOffer) -> None:
    queued = call.queued
    if queued is None or event.queue != queued.queue:
        return  # stale: the caller left that queue after the ACD decided
    for agent in event.agents:
        leg = dialing.originate(
            call, agent, Role.CALLEE, for_party=call.anchor, timeout=event.ring_timeout
        )
        queued.offers[leg] = agent
        call.emit(Record(ev.AgentOffered(queue=queued.queue, agent=agent, leg=str(leg))))


def answered(call: CallMachine, event: PartyAnswered) -> None:
    queued = call.queued
    if queued is None or event.channel not in queued.offers:
        call.late_answer(event)
        return
    agent = queued.offers.pop(event.channel)
    call.emit(OfferTaken(agent, event.channel))
    for other in queued.offers:  # ring-all: the others stop ringing
        call.release(other)
    queued.offers.clear()
    call.queued = None
    call.stop_saying()
    leg = call.parties[event.channel]
    leg.answered = True
    bridge = call.new_call_bridge()
    call.emit(
        DestroyBridge(queued.bridge),
        CreateBridge(bridge),
        AddToBridge(bridge, (call.anchor, event.channel)),
        Record(ev.Bridged(extension=agent, bridge=str(bridge))),
    )
    call.set_state(call.anchor, PartyState.TALKING)
    leg.state = PartyState.TALKING
    call.bridge, call.stage, call.disposition = bridge, Stage.BRIDGED, "answered"
    call.callee_extension = agent


def gone(call: CallMachine, event: PartyGone) -> None:
    queued = call.queued
    if queued is not None and event.channel in queued.offers:
        call.parties.pop(event.channel, None)
        _missed(call, queued, event.channel, causes.failed_dial_outcome(event.cause)[0])
        return
    call.gone(event)


def failed(call: CallMachine, event: OperationFailed) -> None:
    queued = call.queued
    op = event.op
    if queued is not None and isinstance(op, Originate) and op.leg in queued.offers:
        call.parties.pop(op.leg, None)
        _missed(call, queued, op.leg, "unavailable")
        return
    call.operation_failed(event)


def _missed(call: CallMachine, queued: Queued, leg: ChannelId, reason: str) -> None:
    agent = queued.offers.pop(leg)
    call.emit(
        Record(ev.AgentMissed(queue=queued.queue, agent=agent, reason=reason)),
        OfferMissed(agent),
    )


def announce(call: CallMachine, event: QueueAnnounce) -> None:
    prompts: list[str] = []
    if event.position is not None:
        prompts.append(position_prompt(event.position))
    if event.wait_minutes is not None:
        prompts.append(wait_prompt(event.wait_minutes))
    if prompts and call.queued is not None:
        call.say_many(tuple(prompts), lambda: None)


def expired(call: CallMachine, event: QueueExpired) -> None:
    queued = call.queued
    if queued is None:
        return
    d = _definition(call, queued.queue)
    where = d.on_max_wait if d is not None else Overflow(OverflowKind.HANGUP, None, "goodbye")
    call.stop_saying()
    drop(call, "overflowed", str(where))
    _send_on(call, where, "queue-timeout")


def refused(call: CallMachine, event: QueueRefused) -> None:
    queued = call.queued
    if queued is None or queued.queue != event.queue:
        return
    call.stop_saying()
    call.queued = None
    call.emit(DestroyBridge(queued.bridge))  # the ACD never had the caller: nothing to leave
    d = _definition(call, queued.queue)
    if event.reason != "full" or d is None:
        call.disposition = "failed"
        call.say_and_end("service-unavailable", causes.TEMPORARY_FAILURE)
        return
    _send_on(call, d.on_full, "queue-full")


def _send_on(call: CallMachine, where: Overflow, disposition: str) -> None:
    if where.kind is OverflowKind.QUEUE and where.target is not None:
        enter(call, where.target, where.prompt)
    elif where.kind is OverflowKind.EXTENSION and where.target is not None:
        call.emit(Record(ev.Transferred(extension=where.target, by="queue")))
        if where.prompt:
            call.announce(where.prompt, where.target)
        else:
            call.route_anchor(where.target)
    else:
        call.disposition = disposition
        if where.prompt:
            call.say_and_end(where.prompt, causes.NORMAL)
        else:
            call.end(causes.NORMAL)


__all__ = ["Queued", "adopt", "drop", "enter"]
