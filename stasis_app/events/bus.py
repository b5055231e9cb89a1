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
which reach every unfiltered subscriber and those filtered on that extension, unchanged but for
the ``event_id`` the bus gives them.

Resume: every item a subscriber can be sent has an ``event_id`` (a call pop its call event's, an
agent item one minted here), and the bus keeps the last ``history`` items (a ring, with each
item's parties) whatever the number of subscribers. ``subscribe(after=event_id)`` first replays
what came after that item, filtered as the subscription is; an id the ring no longer (or never)
held, e.g. from before a restart, gives one ``{"type": "missed", "after": event_id}`` item
instead, then live items: the client must reload its state. Ids need not be orderable: a dict
maps each kept id to its place in the ring. Replay happens in ``subscribe``, never in ``emit``,
which only appends to the ring and evicts its oldest entry (O(1)).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias, assert_never

from stasis_app.errors import SubscriberLimit
from stasis_app.events import catalogue as ev
from stasis_app.events.record import CallEvent

ScreenPop = dict[str, Any]
DEFAULT_QUEUE = 256
DEFAULT_MAX_SUBSCRIBERS = 64  # as stasis_app.settings.MAX_SUBSCRIBERS (CTI_MAX_SUBSCRIBERS)
DEFAULT_HISTORY = 1024  # items kept for resuming subscribers: a few minutes of a busy center
_MAX_CALLS = 10_000  # per-call memory kept for screen pops; bounds a leak if call-ended is lost


@dataclass(slots=True)
class _CallInfo:
    caller_name: str = ""
    dialing_seen: bool = False
    extensions: set[str] = field(default_factory=set)
    transfers: dict[str, str] = field(default_factory=dict)  # attended transfer id -> by


@dataclass(frozen=True, slots=True)
class _Kept:
    sequence: int
    event_id: str
    item: ScreenPop
    parties: frozenset[str]


class Subscription:
    """An async iterator of screen-pop dicts; ends when closed or when the bus closes."""

    def __init__(
        self,
        bus: EventBus,
        extension: str | None,
        maxsize: int,
        backlog: Iterable[ScreenPop] = (),
    ) -> None:
        self.extension = extension
        self._bus = bus
        # The backlog (a resume's replay) may exceed maxsize: it is bounded by the bus's history.
        self._items: deque[ScreenPop] = deque(backlog)
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
        self,
        queue_size: int = DEFAULT_QUEUE,
        max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        if max_subscribers < 1:
            raise ValueError("max_subscribers must be at least 1")
        if history < 0:
            raise ValueError("history must not be negative")
        self._queue_size = queue_size
        self.max_subscribers = max_subscribers
        self._subscribers: set[Subscription] = set()
        self._calls: OrderedDict[str, _CallInfo] = OrderedDict()
        self._history = history
        self._recent: deque[_Kept] = deque()
        self._places: dict[str, int] = {}  # event_id -> sequence number of its item
        self._sequence = 0  # of the next item kept
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def full(self) -> bool:
        return len(self._subscribers) >= self.max_subscribers

    def subscribe(self, extension: str | None = None, after: str | None = None) -> Subscription:
        """A new subscription; ``extension`` keeps only the calls that extension took part in.
        ``after`` (an ``event_id`` the client received last) first replays the kept items that
        followed it, or gives one ``missed`` item when that id is no longer (or never was) kept.
        SubscriberLimit when ``max_subscribers`` are open already: each one costs a queue and a
        share of every ``emit``, which runs on the event loop that reads ARI."""
        if self.full and not self.closed:
            raise SubscriberLimit(self.max_subscribers)
        backlog = () if after is None else self._since(after, extension)
        subscription = Subscription(self, extension, self._queue_size, backlog)
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
        if mapped is not None:
            self._fan_out(*mapped)

    def publish_agent(self, item: ScreenPop) -> None:
        """Fan out an item about an agent, not a call (``{"type": "agent-state", "extension":
        "1001", "state": "paused", ...}``): to every unfiltered subscriber and to those filtered
        on ``item["extension"]``, as given plus an ``event_id`` (the resume cursor). Never
        blocks: a full subscriber loses its oldest items, as with call events."""
        extension = item.get("extension")
        item = {**item, "event_id": item.get("event_id") or uuid.uuid4().hex}
        self._fan_out(item, frozenset([extension]) if isinstance(extension, str) else frozenset())

    def _fan_out(self, item: ScreenPop, parties: frozenset[str]) -> None:
        self._keep(item, parties)
        for subscription in list(self._subscribers):
            if subscription.extension is None or subscription.extension in parties:
                subscription.offer(item)

    # ------------------------------------------------------------------------------ resume
    def _keep(self, item: ScreenPop, parties: frozenset[str]) -> None:
        """Append to the ring, evicting the oldest entry when full: O(1), never blocks."""
        if self._history == 0:
            return
        if len(self._recent) >= self._history:
            evicted = self._recent.popleft()
            if self._places.get(evicted.event_id) == evicted.sequence:
                del self._places[evicted.event_id]
        kept = _Kept(self._sequence, str(item["event_id"]), item, parties)
        self._recent.append(kept)
        self._places[kept.event_id] = kept.sequence
        self._sequence += 1

    def _since(self, after: str, extension: str | None) -> list[ScreenPop]:
        """The kept items after ``after`` that ``extension`` would have received, or one
        ``missed`` item when ``after`` is not in the ring."""
        place = self._places.get(after)
        if place is None:
            return [{"type": "missed", "after": after}]
        first = self._sequence - len(self._recent)
        return [
            kept.item
            for kept in itertools.islice(self._recent, place - first + 1, None)
            if extension is None or extension in kept.parties
        ]

    # ------------------------------------------------------------------------------ mapping
    def _info(self, call_id: str) -> _CallInfo:
        info = self._calls.get(call_id)
        if info is None:
            info = self._calls[call_id] = _CallInfo()
            if len(self._calls) > _MAX_CALLS:
                self._calls.popitem(last=False)
        return info

    def _screen_pop(self, event: CallEvent) -> tuple[ScreenPop, frozenset[str]] | None:
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
        return pop, frozenset(info.extensions)


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


__all__ = [
    "DEFAULT_HISTORY",
    "DEFAULT_MAX_SUBSCRIBERS",
    "DEFAULT_QUEUE",
    "EventBus",
    "ScreenPop",
    "Subscription",
]
