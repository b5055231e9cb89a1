"""Running totals of call events for ``/metrics``: calls ended by disposition, IVR options chosen.

:class:`CallCounters` is one more :class:`~stasis_app.events.record.EventSink` beside the store
and the bus, so it sees every call event at no extra hop. ``emit`` runs on the call task's stack
(the loop that reads ARI): an isinstance and a dict increment, no I/O. The labels are bounded by
the catalogue's dispositions and the IVR file's menus and digits, not by callers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from stasis_app.events import catalogue as ev
from stasis_app.events.record import CallEvent


class CallCounters:
    def __init__(self) -> None:
        self._ended: Counter[str] = Counter()
        self._options: Counter[tuple[str, str]] = Counter()

    def emit(self, event: CallEvent) -> None:
        fact = event.made_from
        if isinstance(fact, ev.CallEnded):
            self._ended[fact.disposition] += 1
        elif isinstance(fact, ev.OptionChosen):
            self._options[fact.menu, fact.digits] += 1

    @property
    def ended(self) -> Mapping[str, int]:
        """Calls ended since start, by disposition (a copy: safe to iterate)."""
        return dict(self._ended)

    @property
    def options(self) -> Mapping[tuple[str, str], int]:
        """IVR options chosen since start, by (menu, digits)."""
        return dict(self._options)


__all__ = ["CallCounters"]
