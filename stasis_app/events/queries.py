"""The call history's read side: row types and the SQL the reads share (no connection here)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from stasis_app.events import catalogue as ev

# The queue events today's figures are rebuilt from: who joined, and each caller's one outcome.
QUEUE_FACTS: Final = (ev.QueueJoined, *ev.QUEUE_OUTCOMES)
# Where each of their fields sits in the ECS document (their data is not stored apart from it).
QUEUE_PLACES: Final[Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    fact.ACTION: tuple(
        (name, tuple(place.split(".")))
        for name, place in ev.placements(fact)
        if place not in (ev.SPECIAL, ev.EXTRA)
    )
    for fact in QUEUE_FACTS
}
# Only placeholders are joined in: the actions are parameters.
QUEUE_EVENTS: Final = (
    "SELECT at, action, doc FROM events WHERE at >= ? AND action IN ("  # noqa: S608
    + ", ".join("?" * len(QUEUE_PLACES))
    + ") ORDER BY at, rowid"
)


@dataclass(frozen=True, slots=True)
class CallSummary:
    """One row of the call list. ``disposition`` is None while the call is in progress."""

    call_id: str
    started: float
    ended: float | None
    caller: str | None
    dialed: str | None
    callee: str | None
    disposition: str | None
    cause: int | None
    duration: float | None
    ivr_path: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ivr_path": list(self.ivr_path)}


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    event_id: str
    at: float
    action: str
    state: str  # pending | shipped | dead-letter
    doc: dict[str, Any]  # the ECS document, as shipped


@dataclass(frozen=True, slots=True)
class CallDetail:
    summary: CallSummary
    events: tuple[TimelineEvent, ...]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    event_id: str
    call_id: str
    action: str
    reason: str
    at: float  # when it was rejected


@dataclass(frozen=True, slots=True)
class OutboxItem:
    event_id: str
    doc: str  # the ECS document as JSON text, ready for a _bulk body


def filters(
    since: float | None,
    until: float | None,
    caller: str | None,
    extension: str | None,
    disposition: str | None,
) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    conditions: Iterable[tuple[Any, str, int]] = (
        (since, "started >= ?", 1),
        (until, "started < ?", 1),
        (caller, "caller = ?", 1),
        (extension, "(dialed = ? OR callee = ?)", 2),
    )
    for value, clause, count in conditions:
        if value is not None:
            clauses.append(clause)
            params.extend([value] * count)
    if disposition == "in-progress":
        clauses.append("disposition IS NULL")
    elif disposition is not None:
        clauses.append("disposition = ?")
        params.append(disposition)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def queue_data(action: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The data of a queue event, back from its ECS document: the inverse of ``to_ecs`` for
    fields placed at a path, plus ``cti.extra`` (fields the catalogue did not know)."""
    cti = doc.get("cti")
    extra = cti.get("extra") if isinstance(cti, Mapping) else None
    data: dict[str, Any] = dict(extra) if isinstance(extra, Mapping) else {}
    for name, path in QUEUE_PLACES[action]:
        node: Any = doc
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            data[name] = node
    return data


def summary(row: Sequence[Any]) -> CallSummary:
    call_id, started, ended, caller, dialed, callee, disposition, cause, duration, path = row
    steps = tuple(json.loads(path)) if path else ()
    return CallSummary(
        call_id, started, ended, caller, dialed, callee, disposition, cause, duration, steps
    )


__all__ = [
    "QUEUE_EVENTS",
    "QUEUE_PLACES",
    "CallDetail",
    "CallSummary",
    "DeadLetter",
    "OutboxItem",
    "TimelineEvent",
    "filters",
    "queue_data",
    "summary",
]
