"""Live fan-out of call events to screen-pop subscribers (the REST API's WebSocket and SSE).

:class:`EventBus` is an :class:`~stasis_app.events.record.EventSink`: call tasks ``emit`` on the
event loop that also reads the ARI websocket, so ``emit`` never blocks and never awaits. Each
subscriber has its own bounded queue; a subscriber that reads too slowly loses its *oldest*
events and is told how many with an ``{"type": "overflow", "dropped": n}`` item, so one stuck
browser tab can neither slow the calls down nor grow memory without bound. The number of
subscribers is bounded too (``max_subscribers``, ``CTI_MAX_SUBSCRIBERS``): one more is refused
with :class:`~stasis_app.errors.SubscriberLimit`.

Each event is read back as its :mod:`~stasis_app.events.catalogue` fact; these become screen pops
(every other fact is not for screens). ``extension`` is where it happens; ``caller_number`` and
``caller_name`` are always the call's original caller, also when a transfer target rings (the
usual case: an agent hands the caller over, and the target sees who is coming)::

    Dialing            -> ringing             a phone rings
    Bridged            -> answered            that phone answered (answered_by "extension")
    Answered           -> answered            the system answered (IVR, echo, a prompt) before any
                                              dialing (answered_by "system"); after a dial it only
                                              meant "to play a prompt", so it is not a screen pop
    Transferred        -> transferred         blind, to another extension (by ivr, api, phone)
    TransferStarted    -> ringing             an attended transfer rings its target (transfer, by)
    TransferAnswered   -> answered            the target took the consultation (answered_by
                                              "extension"); the caller still hears music
    TransferCompleted  -> transferred         the caller now talks to the target (transfer, by);
                                              "transferred" as for a blind transfer: the call is
                                              now the target's, who already had "answered"
    TransferCancelled  -> transfer-cancelled  the target stops ringing or is dropped (reason)
    Held / Unheld      -> held / unheld       ``extension`` put the call on hold / took it back
    QueueJoined        -> queue-joined        the caller waits in ``queue`` at ``position``
    AgentOffered       -> agent-offered       the queue rings agent ``extension`` for the caller
    AgentMissed        -> agent-missed        that agent did not take it (``reason``); the caller
                                              keeps their place
    AgentAnswered      -> agent-answered      agent ``extension`` took the caller after ``wait`` s
    QueueAbandoned     -> queue-abandoned     the caller hung up after ``wait`` s in ``queue``
    QueueOverflowed    -> queue-overflowed    the queue sent the caller on ``to`` (``reason``:
                                              max-wait, or full: never joined, ``wait`` 0)
    CallEnded          -> ended               disposition, cause, duration

Queue pops carry ``queue``; the caller-side ones (joined, abandoned, overflowed) have an empty
``extension``. A queue call also gives the pops of its parts: the agent's phone rings
(``ringing``) when it is offered and is ``answered`` when bridged, as for any dialed phone.

A subscription filtered by extension receives the events of every call that extension took part
in, as caller, as the dialed extension, as a phone rung by the call (an offered queue agent too,
from its offer on, also when it missed) or as a transfer target.

Agents' state changes are not call events: the queue service hands them to
:meth:`EventBus.publish_agent` as ready items (``{"type": "agent-state", "extension": ...}``),
which reach every unfiltered subscriber and those filtered on that extension, unchanged.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias, assert_never

from stasis_app.errors import SubscriberLimit
from stasis_app.events import catalogue as ev
from stasis_app.events.record import CallEvent

ScreenPop = dict[str, Any]
DEFAULT_QUEUE = 256
DEFAULT_MAX_SUBSCRIBERS = 64  # as stasis_app.settings.MAX_SUBSCRIBERS (CTI_MAX_SUBSCRIBERS)
_MAX_CALLS = 10_000  # per-call memory kept for screen pops; bounds a leak if call-ended is lost


@dataclass(slots=True)
class _CallInfo:
    caller_name: str = ""
    dialing_seen: bool = False
    extensions: set[str] = field(default_factory=set)
    transfers: dict[str, str] = field(default_factory=dict)  # attended transfer id -> by


class Subscription:
    """An async iterator of screen-pop dicts; ends when closed or when the bus closes."""

    def __init__(self, bus: EventBus, extension: str | None, maxsize: int) -> None:
        self.extension = extension
        self._bus = bus
        self._items: deque[ScreenPop] = deque()
        self._maxsize = maxsize
        self._dropped = 0
        self._wakeup = asyncio.Event()
        self.closed = False

    def offer(self, item: ScreenPop) -> None:
        """Queue ``item``; when full, drop the oldest. Never blocks."""
        if self.closed:
            return
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self._dropped += 1
        self._items.append(item)
        self._wakeup.set()

    def close(self) -> None:
        """Stop receiving; a reader waiting in ``async for`` finishes."""
        if not self.closed:
            self.closed = True
            self._bus.unsubscribe(self)
            self._wakeup.set()

    def __aiter__(self) -> AsyncIterator[ScreenPop]:
        return self

    async def __anext__(self) -> ScreenPop:
        while True:
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                return {"type": "overflow", "dropped": dropped}
            if self._items:
                return self._items.popleft()
            if self.closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()


class EventBus:
    """An EventSink that turns call events into screen pops and fans them out to subscribers."""

    def __init__(
        self, queue_size: int = DEFAULT_QUEUE, max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        if max_subscribers < 1:
            raise ValueError("max_subscribers must be at least 1")
        self._queue_size = queue_size
        self.max_subscribers = max_subscribers
        self._subscribers: set[Subscription] = set()
        self._calls: OrderedDict[str, _CallInfo] = OrderedDict()
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def full(self) -> bool:
        return len(self._subscribers) >= self.max_subscribers

    def subscribe(self, extension: str | None = None) -> Subscription:
        """A new subscription; ``extension`` keeps only the calls that extension took part in.
        SubscriberLimit when ``max_subscribers`` are open already: each one costs a queue and a
        share of every ``emit``, which runs on the event loop that reads ARI."""
        if self.full and not self.closed:
            raise SubscriberLimit(self.max_subscribers)
        subscription = Subscription(self, extension, self._queue_size)
        if self.closed:
            subscription.close()
        else:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        subscription.close()

    def close(self) -> None:
        """End every subscription (at shutdown, so open streams finish and the server can stop)."""
        self.closed = True
        for subscription in list(self._subscribers):
            subscription.close()

    def emit(self, event: CallEvent) -> None:
        mapped = self._screen_pop(event)  # even unwatched: it keeps the per-call memory right
        if mapped is None or not self._subscribers:
            return
        pop, parties = mapped
        for subscription in list(self._subscribers):
            if subscription.extension is None or subscription.extension in parties:
                subscription.offer(pop)

    def publish_agent(self, item: ScreenPop) -> None:
        """Fan out an item about an agent, not a call (``{"type": "agent-state", "extension":
        "1001", "state": "paused", ...}``): to every unfiltered subscriber and to those filtered
        on ``item["extension"]``, as given. Never blocks: a full subscriber loses its oldest
        items, as with call events."""
        extension = item.get("extension")
        for subscription in list(self._subscribers):
            if subscription.extension is None or subscription.extension == extension:
                subscription.offer(item)

    # ------------------------------------------------------------------------------ mapping
    def _info(self, call_id: str) -> _CallInfo:
        info = self._calls.get(call_id)
        if info is None:
            info = self._calls[call_id] = _CallInfo()
            if len(self._calls) > _MAX_CALLS:
                self._calls.popitem(last=False)
        return info

    def _screen_pop(self, event: CallEvent) -> tuple[ScreenPop, set[str]] | None:
        """The screen pop for ``event`` (or None) and every extension it concerns."""
        fact = event.fact()
        info = self._info(event.call_id)
        if isinstance(fact, ev.CallStarted):
            info.caller_name = _text(fact.caller_name)
            return None
        if isinstance(fact, ev.CallEnded):
            self._calls.pop(event.call_id, None)
        what = _what(fact, info, event)
        if what is None:
            return None
        pop: ScreenPop = {
            "call_id": event.call_id,
            "at": event.at,
            "event_id": event.event_id,
            "caller_number": event.caller or "",
            "caller_name": info.caller_name,
            "dialed": event.dialed or "",
            **what,
        }
        info.extensions.update((pop["caller_number"], pop["dialed"], pop["extension"]))
        info.extensions.discard("")
        return pop, set(info.extensions)


def _what(fact: ev.Fact | None, info: _CallInfo, event: CallEvent) -> ScreenPop | None:
    """The pop's own fields (type, extension and the type's extras), or None: not for screens."""
    if isinstance(fact, _Queued):
        return _queued(fact, info)
    what: ScreenPop | None = None
    match fact:
        case ev.Dialing():
            info.dialing_seen = True
            what = {"type": "ringing", "extension": _text(fact.extension)}
        case ev.Bridged() | ev.TransferAnswered():
            what = {"type": "answered", "extension": _text(fact.extension)}
            what["answered_by"] = "extension"
        case ev.Answered() if not info.dialing_seen:
            what = {"type": "answered", "extension": event.dialed or "", "answered_by": "system"}
        case ev.Transferred():
            what = {"type": "transferred", "extension": _text(fact.extension), "by": _text(fact.by)}
        case ev.TransferStarted():
            info.dialing_seen = True
            info.transfers[fact.transfer] = by = _text(fact.by)
            what = {"type": "ringing", "extension": _text(fact.extension), "by": by}
        case ev.TransferCompleted():
            by = info.transfers.pop(fact.transfer, "")
            what = {"type": "transferred", "extension": _text(fact.extension), "by": by}
        case ev.TransferCancelled():
            info.transfers.pop(fact.transfer, None)
            what = {"type": "transfer-cancelled", "extension": _text(fact.extension)}
            what["reason"] = _text(fact.reason)
        case ev.Held() | ev.Unheld():
            kind = "held" if isinstance(fact, ev.Held) else "unheld"
            what = {"type": kind, "extension": _text(fact.extension)}
        case ev.CallEnded():
            what = {
                "type": "ended",
                "extension": _text(fact.callee) or event.dialed or "",
                "disposition": _text(fact.disposition),
                "cause": fact.cause,
                "duration": fact.duration,
            }
    if what is not None and isinstance(fact, _ATTENDED):
        what["transfer"] = fact.transfer
    return what


def _queued(fact: _Queued, info: _CallInfo) -> ScreenPop:
    """The pop of a queue fact: every one is for screens, and carries its ``queue``."""
    what: ScreenPop
    match fact:
        case ev.QueueJoined():
            what = {"type": "queue-joined", "extension": "", "position": fact.position}
        case ev.AgentOffered():
            info.dialing_seen = True  # a phone rings: a later answer only plays a prompt
            what = {"type": "agent-offered", "extension": _text(fact.agent)}
        case ev.AgentMissed():
            what = {"type": "agent-missed", "extension": _text(fact.agent)}
            what["reason"] = _text(fact.reason)
        case ev.AgentAnswered():
            what = {"type": "agent-answered", "extension": _text(fact.agent), "wait": fact.wait}
        case ev.QueueAbandoned():
            what = {"type": "queue-abandoned", "extension": "", "wait": fact.wait}
        case ev.QueueOverflowed():
            what = {"type": "queue-overflowed", "extension": "", "wait": fact.wait}
            what |= {"to": _text(fact.to), "reason": _text(fact.reason)}
        case _:
            assert_never(fact)
    what["queue"] = _text(fact.queue)
    return what


_ATTENDED = (ev.TransferStarted, ev.TransferAnswered, ev.TransferCompleted, ev.TransferCancelled)
_Queued: TypeAlias = (
    ev.QueueJoined
    | ev.AgentOffered
    | ev.AgentMissed
    | ev.AgentAnswered
    | ev.QueueAbandoned
    | ev.QueueOverflowed
)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


__all__ = ["DEFAULT_MAX_SUBSCRIBERS", "DEFAULT_QUEUE", "EventBus", "ScreenPop", "Subscription"]
