"""Live fan-out of call events to screen-pop subscribers (the REST API's WebSocket and SSE).

:class:`EventBus` is an :class:`~stasis_app.events.record.EventSink`: call tasks ``emit`` on the
event loop that also reads the ARI websocket, so ``emit`` never blocks and never awaits. Each
subscriber has its own bounded queue; a subscriber that reads too slowly loses its *oldest*
events and is told how many with an ``{"type": "overflow", "dropped": n}`` item, so one stuck
browser tab can neither slow the calls down nor grow memory without bound.

Call events become four screen-pop types (every other action is not for screens)::

    dialing     -> ringing      a phone rings: extension, caller number and name
    bridged     -> answered     that phone answered (answered_by "extension")
    answered    -> answered     the system answered (IVR, echo, a prompt) before any dialing
                                (answered_by "system"); after a dial it only meant "to play a
                                prompt", so it is not a screen pop
    transferred -> transferred  to another extension (by the IVR or the API)
    call-ended  -> ended        disposition, cause, duration

A subscription filtered by extension receives the events of every call that extension took part
in, as caller, as the dialed extension or as a phone rung by the call.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from stasis_app.events.record import CallEvent

ScreenPop = dict[str, Any]
DEFAULT_QUEUE = 256
_MAX_CALLS = 10_000  # per-call memory kept for screen pops; bounds a leak if call-ended is lost


@dataclass(slots=True)
class _CallInfo:
    caller_name: str = ""
    dialing_seen: bool = False
    extensions: set[str] = field(default_factory=set)


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

    def __init__(self, queue_size: int = DEFAULT_QUEUE) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._calls: OrderedDict[str, _CallInfo] = OrderedDict()
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, extension: str | None = None) -> Subscription:
        """A new subscription; ``extension`` keeps only the calls that extension took part in."""
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
        data = event.data
        info = self._info(event.call_id)
        if event.action == "call-started":
            info.caller_name = str(data.get("caller_name") or "")
            return None
        pop: ScreenPop = {
            "call_id": event.call_id,
            "at": event.at,
            "event_id": event.event_id,
            "caller_number": event.caller or "",
            "caller_name": info.caller_name,
            "dialed": event.dialed or "",
        }
        extension = _text(data.get("extension"))
        if event.action == "dialing":
            info.dialing_seen = True
            pop.update(type="ringing", extension=extension)
        elif event.action == "bridged":
            pop.update(type="answered", extension=extension, answered_by="extension")
        elif event.action == "answered" and not info.dialing_seen:
            pop.update(type="answered", extension=event.dialed or "", answered_by="system")
        elif event.action == "transferred":
            pop.update(type="transferred", extension=extension, by=_text(data.get("by")))
        elif event.action == "call-ended":
            self._calls.pop(event.call_id, None)
            pop.update(
                type="ended",
                extension=_text(data.get("callee")) or event.dialed or "",
                disposition=_text(data.get("disposition")),
                cause=data.get("cause"),
                duration=data.get("duration"),
            )
        else:
            return None
        info.extensions.update((pop["caller_number"], pop["dialed"], pop["extension"]))
        info.extensions.discard("")
        return pop, set(info.extensions)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


__all__ = ["DEFAULT_QUEUE", "EventBus", "ScreenPop", "Subscription"]
