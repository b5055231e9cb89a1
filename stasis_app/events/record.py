"""The call event record and the sink seam.

Call tasks *emit* events synchronously and never wait for them to be stored: a sink must return at
once (queue the event and write it elsewhere), because call tasks share the event loop that reads
the ARI websocket, and Asterisk drops a reader that stalls for 100 ms.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from stasis_app.events import catalogue
from stasis_app.events.catalogue import Fact

log = structlog.get_logger("cti.events")


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One step in a call's timeline, as stored and shipped.

    ``action`` is the ``ACTION`` of a :mod:`~stasis_app.events.catalogue` fact (``call-started``,
    ``digit``, ``transfer-started`` ...) and ``data`` that fact's fields (:meth:`of` builds both;
    :meth:`fact` reads them back). ``caller`` (the caller's number) and ``dialed`` (the
    extension the call was made to) repeat on every event so each one can be searched on its
    own, without joining the call's other events.
    """

    call_id: str
    action: str
    data: Mapping[str, Any] = field(default_factory=dict)
    caller: str | None = None
    dialed: str | None = None
    at: float = field(default_factory=time.time)
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The fact this record was made from (by :meth:`of`): the bus and the store use it instead of
    # reading ``data`` back, once per event each. Not part of the record's identity.
    made_from: Fact | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        call_id: str,
        fact: Fact,
        *,
        caller: str | None,
        dialed: str | None,
        at: float | None = None,
    ) -> CallEvent:
        """The record of a catalogue ``fact`` (``at`` defaults to now): how calls emit events."""
        return cls(
            call_id,
            fact.ACTION,
            fact.data(),
            caller=caller,
            dialed=dialed,
            at=time.time() if at is None else at,
            made_from=fact,
        )

    def fact(self) -> Fact | None:
        """The catalogue fact this record states, read leniently (see
        :func:`~stasis_app.events.catalogue.read`); None for an action the catalogue lacks."""
        if self.made_from is not None:
            return self.made_from
        return catalogue.read(self.action, self.data)


class EventSink(Protocol):
    def emit(self, event: CallEvent) -> None:
        """Accept ``event`` without blocking (no I/O on the caller's stack)."""


class LogSink:
    """Writes each event as one structured DEBUG log line; the default when nothing else is set."""

    def emit(self, event: CallEvent) -> None:
        log.debug("call.event", call_id=event.call_id, action=event.action, data=dict(event.data))


class MultiSink:
    """Fans one event out to several sinks."""

    def __init__(self, sinks: Sequence[EventSink]) -> None:
        self._sinks = tuple(sinks)

    def emit(self, event: CallEvent) -> None:
        for sink in self._sinks:
            sink.emit(event)
