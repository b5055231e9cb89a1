"""The catalogue of call events: every action a call records, with its fields, in one place.

The call machine emits these facts; the store, the event bus (screen pops), the ECS mapping, the
index template and docs/call-events.md all read this one definition, so an event name or a field
is never spelled twice. Each fact is a frozen dataclass with:

* ``ACTION``: the kebab-case name recorded as ``event.action``;
* ``TYPES``: the ECS ``event.type`` values (category ``network``);
* ``OUTCOME``: the ECS ``event.outcome``, when the event itself is a success or a failure;
* ``SAYS``: what happened to the call, in words, for the ECS ``message`` ("call 1700000000.12
  from 1000 " + this, its ``{field}`` placeholders filled from the event);
* per field, where the ECS document puts it (``ecs=``): a dotted path, :data:`SPECIAL` for the
  fields that the mapping derives something from (parties, causes, durations), or :data:`EXTRA`
  for what is stored under ``cti.extra`` but not indexed.

``tests/unit/test_events_catalogue.py`` fails when a field has no placement, when the ECS mapping
leaves a SPECIAL field unused, or when a path is missing from the index template.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, NamedTuple

SPECIAL: Final = "special"
EXTRA: Final = "extra"


def _at(ecs: str, default: Any = dataclasses.MISSING) -> Any:
    """A field placed at ``ecs`` in the document (a dotted path, SPECIAL or EXTRA)."""
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata={"ecs": ecs})
    return dataclasses.field(default=default, metadata={"ecs": ecs})


@dataclass(frozen=True, slots=True)
class Fact:
    """Base of every catalogue entry."""

    ACTION: ClassVar[str]
    TYPES: ClassVar[tuple[str, ...]] = ("info",)
    OUTCOME: ClassVar[str | None] = None
    SAYS: ClassVar[str] = ""

    def data(self) -> dict[str, Any]:
        """The fields as the record's ``data`` (tuples become lists; None fields are left out)."""
        out: dict[str, Any] = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out


_NAMES: dict[type[Fact], tuple[str, ...]] = {}


def _field_names(fact: type[Fact]) -> tuple[str, ...]:
    # dataclasses.fields() rebuilds its tuple on every call; a fact is made per call event.
    names = _NAMES.get(fact)
    if names is None:
        names = _NAMES[fact] = tuple(f.name for f in dataclasses.fields(fact))
    return names


# -- the call as a whole --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallStarted(Fact):
    ACTION: ClassVar[str] = "call-started"
    SAYS: ClassVar[str] = "to {dialed} started"
    TYPES: ClassVar[tuple[str, ...]] = ("start", "connection")
    caller: str = _at(SPECIAL)
    caller_name: str = _at("source.user.full_name")
    dialed: str = _at(SPECIAL)
    channel: str = _at("asterisk.channel")


@dataclass(frozen=True, slots=True)
class Adopted(Fact):
    """A call found in Asterisk after a worker restart and resumed in ``stage``."""

    ACTION: ClassVar[str] = "adopted"
    SAYS: ClassVar[str] = "adopted after a worker restart, in stage {stage}"
    stage: str = _at("cti.stage")


@dataclass(frozen=True, slots=True)
class Answered(Fact):
    ACTION: ClassVar[str] = "answered"
    SAYS: ClassVar[str] = "answered"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)


@dataclass(frozen=True, slots=True)
class EchoStarted(Fact):
    ACTION: ClassVar[str] = "echo-started"
    SAYS: ClassVar[str] = "entered the echo test"


@dataclass(frozen=True, slots=True)
class CallEnded(Fact):
    ACTION: ClassVar[str] = "call-ended"
    SAYS: ClassVar[str] = "ended: {disposition} after {duration} s"
    TYPES: ClassVar[tuple[str, ...]] = ("end", "connection")
    disposition: str = _at(SPECIAL)
    cause: int | None = _at(SPECIAL, None)
    duration: float = _at(SPECIAL, 0.0)
    ivr_path: tuple[str, ...] = _at(SPECIAL, ())
    callee: str | None = _at(SPECIAL, None)
    digit_to_prompt_ms: tuple[float, ...] | None = _at(EXTRA, None)


# -- the IVR --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuEntered(Fact):
    ACTION: ClassVar[str] = "menu-entered"
    SAYS: ClassVar[str] = "entered menu {menu}"
    menu: str = _at("cti.menu")


@dataclass(frozen=True, slots=True)
class DigitPressed(Fact):
    ACTION: ClassVar[str] = "digit"
    SAYS: ClassVar[str] = "pressed {digit}"
    digit: str = _at("cti.digit")
    menu: str | None = _at("cti.menu", None)


@dataclass(frozen=True, slots=True)
class DigitsCollected(Fact):
    ACTION: ClassVar[str] = "digits-collected"
    SAYS: ClassVar[str] = "entered {digits} in menu {menu}"
    menu: str = _at("cti.menu")
    digits: str = _at("cti.digits")


@dataclass(frozen=True, slots=True)
class OptionChosen(Fact):
    ACTION: ClassVar[str] = "option-chosen"
    SAYS: ClassVar[str] = "chose {digits} in menu {menu}: {action}"
    menu: str = _at("cti.menu")
    digits: str = _at("cti.digits")
    action: str = _at("cti.option")  # what the option does, e.g. "transfer to 1000"


@dataclass(frozen=True, slots=True)
class InvalidInput(Fact):
    ACTION: ClassVar[str] = "invalid-input"
    SAYS: ClassVar[str] = "entered {digits}, not an option of menu {menu} (try {retry})"
    menu: str = _at("cti.menu")
    digits: str = _at("cti.digits")
    retry: int = _at("cti.retry")


@dataclass(frozen=True, slots=True)
class InputTimeout(Fact):
    ACTION: ClassVar[str] = "input-timeout"
    SAYS: ClassVar[str] = "pressed nothing in menu {menu} (try {retry})"
    menu: str = _at("cti.menu")
    retry: int = _at("cti.retry")


@dataclass(frozen=True, slots=True)
class RetriesExhausted(Fact):
    ACTION: ClassVar[str] = "retries-exhausted"
    SAYS: ClassVar[str] = "ran out of tries in menu {menu}"
    menu: str = _at("cti.menu")


# -- ringing and connecting parties ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dialing(Fact):
    """A phone is being rung for this call (``leg`` is its channel id)."""

    ACTION: ClassVar[str] = "dialing"
    SAYS: ClassVar[str] = "ringing {extension}"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)
    extension: str = _at(SPECIAL)
    leg: str = _at("asterisk.leg_channel_id")


@dataclass(frozen=True, slots=True)
class DialFailed(Fact):
    ACTION: ClassVar[str] = "dial-failed"
    SAYS: ClassVar[str] = "did not reach {extension}: {reason}"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)
    OUTCOME: ClassVar[str | None] = "failure"
    extension: str = _at(SPECIAL)
    reason: str = _at("cti.reason")  # busy, no-answer, not-registered, unavailable...


@dataclass(frozen=True, slots=True)
class Bridged(Fact):
    ACTION: ClassVar[str] = "bridged"
    SAYS: ClassVar[str] = "connected to {extension}"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)
    OUTCOME: ClassVar[str | None] = "success"
    extension: str | None = _at(SPECIAL)
    bridge: str = _at("asterisk.bridge_id")


@dataclass(frozen=True, slots=True)
class CallerHangup(Fact):
    ACTION: ClassVar[str] = "caller-hangup"
    SAYS: ClassVar[str] = "hung up by the caller"
    TYPES: ClassVar[tuple[str, ...]] = ("end",)
    cause: int | None = _at(SPECIAL, None)


@dataclass(frozen=True, slots=True)
class CalleeHangup(Fact):
    """A party other than the caller hung up (the answered callee, or a transfer target)."""

    ACTION: ClassVar[str] = "callee-hangup"
    SAYS: ClassVar[str] = "hung up by the other party"
    TYPES: ClassVar[tuple[str, ...]] = ("end",)
    cause: int | None = _at(SPECIAL, None)
    extension: str | None = _at(SPECIAL, None)


# -- hold and transfers ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held(Fact):
    """``party`` put the call on hold: the others hear music."""

    ACTION: ClassVar[str] = "held"
    SAYS: ClassVar[str] = "put on hold by {party}"
    party: str = _at("asterisk.party_channel_id")
    extension: str | None = _at(SPECIAL, None)


@dataclass(frozen=True, slots=True)
class Unheld(Fact):
    ACTION: ClassVar[str] = "unheld"
    SAYS: ClassVar[str] = "taken off hold by {party}"
    party: str = _at("asterisk.party_channel_id")
    extension: str | None = _at(SPECIAL, None)


@dataclass(frozen=True, slots=True)
class Transferred(Fact):
    """A blind transfer: ``moved`` (the caller when None) is routed to ``extension``."""

    ACTION: ClassVar[str] = "transferred"
    SAYS: ClassVar[str] = "transferred to {extension} by {by}"
    extension: str = _at(SPECIAL)
    by: str = _at("cti.transfer_by")  # ivr, api, phone
    stage: str | None = _at("cti.stage", None)
    moved: str | None = _at("cti.transfer.moved_channel_id", None)


@dataclass(frozen=True, slots=True)
class TransferStarted(Fact):
    """An attended transfer began: ``moved`` hears music, the initiator rings ``extension``."""

    ACTION: ClassVar[str] = "transfer-started"
    SAYS: ClassVar[str] = "in an attended transfer to {extension} by {by}"
    transfer: str = _at("cti.transfer.id")
    extension: str = _at(SPECIAL)
    moved: str = _at("cti.transfer.moved_channel_id")
    by: str = _at("cti.transfer_by")


@dataclass(frozen=True, slots=True)
class TransferAnswered(Fact):
    """The target answered: the initiator and the target talk, ``moved`` still hears music."""

    ACTION: ClassVar[str] = "transfer-answered"
    SAYS: ClassVar[str] = "transfer target {extension} answered"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)
    transfer: str = _at("cti.transfer.id")
    extension: str = _at(SPECIAL)


@dataclass(frozen=True, slots=True)
class TransferCompleted(Fact):
    """The moved party and the target are bridged; the initiator is released."""

    ACTION: ClassVar[str] = "transfer-completed"
    SAYS: ClassVar[str] = "transferred to {extension} (attended)"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)
    OUTCOME: ClassVar[str | None] = "success"
    transfer: str = _at("cti.transfer.id")
    extension: str = _at(SPECIAL)


@dataclass(frozen=True, slots=True)
class TransferCancelled(Fact):
    """The initiator has the moved party back (cancelled, or the target failed: ``reason``)."""

    ACTION: ClassVar[str] = "transfer-cancelled"
    SAYS: ClassVar[str] = "back from the transfer to {extension}: {reason}"
    OUTCOME: ClassVar[str | None] = "failure"
    transfer: str = _at("cti.transfer.id")
    extension: str = _at(SPECIAL)
    reason: str = _at("cti.reason")  # cancelled, busy, no-answer, unavailable, target-hangup


# -- queues ----------------------------------------------------------------------------------------
# Every caller who joins a queue ends with exactly one outcome fact (answered, abandoned or
# overflowed), each with ``wait`` and ``within_sl`` (1: answered within the service-level
# threshold of the queue, else 0): the mean of cti.queue.within_sl over them is the service level.
# A caller refused because the queue is full gives only the outcome (overflowed, reason "full").
# docs/call-events.md ("Queues") states the definitions the dashboards chart.


@dataclass(frozen=True, slots=True)
class QueueJoined(Fact):
    """The caller joined ``queue`` at ``position`` (1: next to be served)."""

    ACTION: ClassVar[str] = "queue-joined"
    SAYS: ClassVar[str] = "joined queue {queue} at position {position}"
    queue: str = _at("cti.queue.name")
    position: int = _at("cti.queue.position")


@dataclass(frozen=True, slots=True)
class AgentOffered(Fact):
    """The queue rings ``agent`` for the caller (``leg`` is the agent's channel)."""

    ACTION: ClassVar[str] = "agent-offered"
    SAYS: ClassVar[str] = "offered to agent {agent} of queue {queue}"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)
    queue: str = _at("cti.queue.name")
    agent: str = _at("cti.queue.agent")
    leg: str = _at("asterisk.leg_channel_id")


@dataclass(frozen=True, slots=True)
class AgentMissed(Fact):
    """An offered agent did not take the call (no-answer, busy, unavailable); the caller keeps
    their place and the next agent is offered."""

    ACTION: ClassVar[str] = "agent-missed"
    SAYS: ClassVar[str] = "missed by agent {agent} of queue {queue}: {reason}"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)
    OUTCOME: ClassVar[str | None] = "failure"
    queue: str = _at("cti.queue.name")
    agent: str = _at("cti.queue.agent")
    reason: str = _at("cti.reason")


@dataclass(frozen=True, slots=True)
class AgentAnswered(Fact):
    """``agent`` took the caller after ``wait`` seconds in ``queue``."""

    ACTION: ClassVar[str] = "agent-answered"
    SAYS: ClassVar[str] = "answered by agent {agent} of queue {queue} after {wait} s"
    TYPES: ClassVar[tuple[str, ...]] = ("connection",)
    OUTCOME: ClassVar[str | None] = "success"
    queue: str = _at("cti.queue.name")
    agent: str = _at("cti.queue.agent")
    wait: float = _at("cti.queue.wait")
    within_sl: int = _at("cti.queue.within_sl")
    outcome: str = _at("cti.queue.outcome", "answered")


@dataclass(frozen=True, slots=True)
class QueueAbandoned(Fact):
    """The caller hung up after ``wait`` seconds in ``queue``, at ``position``."""

    ACTION: ClassVar[str] = "queue-abandoned"
    SAYS: ClassVar[str] = "abandoned in queue {queue} after {wait} s"
    OUTCOME: ClassVar[str | None] = "failure"
    queue: str = _at("cti.queue.name")
    wait: float = _at("cti.queue.wait")
    position: int = _at("cti.queue.position")
    within_sl: int = _at("cti.queue.within_sl", 0)
    outcome: str = _at("cti.queue.outcome", "abandoned")


@dataclass(frozen=True, slots=True)
class QueueOverflowed(Fact):
    """The queue sent the caller on after ``wait`` seconds (``reason``: max-wait, or full: the
    caller was refused on arrival, never joined, ``wait`` 0) to ``to`` (``queue <name>``,
    ``extension <number>`` or ``hang up``)."""

    ACTION: ClassVar[str] = "queue-overflowed"
    SAYS: ClassVar[str] = "sent on by queue {queue} after {wait} s ({reason}): {to}"
    OUTCOME: ClassVar[str | None] = "failure"
    queue: str = _at("cti.queue.name")
    wait: float = _at("cti.queue.wait")
    reason: str = _at("cti.reason")
    to: str = _at("cti.queue.overflow_to")
    within_sl: int = _at("cti.queue.within_sl", 0)
    outcome: str = _at("cti.queue.outcome", "overflowed")


@dataclass(frozen=True, slots=True)
class HoursClosed(Fact):
    """The caller reached ``menu`` outside its opening hours (``hours``): its closed action ran."""

    ACTION: ClassVar[str] = "hours-closed"
    SAYS: ClassVar[str] = "reached menu {menu} outside its hours {hours}"
    menu: str = _at("cti.menu")
    hours: str = _at("cti.hours")


CATALOGUE: Final[tuple[type[Fact], ...]] = (
    CallStarted,
    Adopted,
    Answered,
    EchoStarted,
    CallEnded,
    MenuEntered,
    DigitPressed,
    DigitsCollected,
    OptionChosen,
    InvalidInput,
    InputTimeout,
    RetriesExhausted,
    Dialing,
    DialFailed,
    Bridged,
    CallerHangup,
    CalleeHangup,
    Held,
    Unheld,
    Transferred,
    TransferStarted,
    TransferAnswered,
    TransferCompleted,
    TransferCancelled,
    QueueJoined,
    AgentOffered,
    AgentMissed,
    AgentAnswered,
    QueueAbandoned,
    QueueOverflowed,
    HoursClosed,
)
QUEUE_OUTCOMES: Final = (AgentAnswered, QueueAbandoned, QueueOverflowed)
BY_ACTION: Final[Mapping[str, type[Fact]]] = {fact.ACTION: fact for fact in CATALOGUE}


def placements(fact: type[Fact]) -> Iterator[tuple[str, str]]:
    """(field name, ECS placement) for each field of ``fact``."""
    for f in dataclasses.fields(fact):
        yield f.name, str(f.metadata.get("ecs", ""))


class Shape(NamedTuple):
    """What a field holds: its value type (``str``, ``int``, ``float`` or ``tuple``) and whether
    it may be None (then :meth:`Fact.data` leaves it out of the record)."""

    kind: type
    optional: bool


def shapes(fact: type[Fact]) -> Mapping[str, Shape]:
    """Field name -> :class:`Shape`, from the annotations (what the index template must fit)."""
    hints = typing.get_type_hints(fact)
    out: dict[str, Shape] = {}
    for f in dataclasses.fields(fact):
        hint = hints[f.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        args = typing.get_args(hint) if union else (hint,)
        (kind,) = [arg for arg in args if arg is not type(None)]
        out[f.name] = Shape(typing.get_origin(kind) or kind, len(args) > 1)
    return out


def read(action: str, data: Mapping[str, Any]) -> Fact | None:
    """The fact a record's ``action`` and ``data`` state; None when the catalogue lacks ``action``.

    Lenient, because records outlive versions and some are written by hand: keys the fact does
    not have are ignored, lists become tuples, and a field the data lacks (or holds None) takes
    its default, else None when it may be None, else its type's empty value ("", 0). Values
    are not checked. ``read(F.ACTION, f.data()) == f`` for every fact ``f``.
    """
    fact = BY_ACTION.get(action)
    if fact is None:
        return None
    values: dict[str, Any] = {}
    for name, absent in _ABSENT[fact]:
        value = data.get(name)
        if value is not None:
            values[name] = tuple(value) if isinstance(value, list) else value
        elif absent is not _DEFAULT:
            values[name] = absent
    return fact(**values)


_DEFAULT: Final = object()


def _absent(fact: type[Fact]) -> tuple[tuple[str, Any], ...]:
    """(field name, what :func:`read` gives it when the data lacks it) for each field."""
    out: list[tuple[str, Any]] = []
    kinds = shapes(fact)
    for f in dataclasses.fields(fact):
        shape = kinds[f.name]
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            out.append((f.name, _DEFAULT))
        else:
            out.append((f.name, None if shape.optional else shape.kind()))
    return tuple(out)


_ABSENT: Final[Mapping[type[Fact], tuple[tuple[str, Any], ...]]] = {
    fact: _absent(fact) for fact in CATALOGUE
}


__all__ = [
    "BY_ACTION",
    "CATALOGUE",
    "EXTRA",
    "QUEUE_OUTCOMES",
    "SPECIAL",
    "Adopted",
    "AgentAnswered",
    "AgentMissed",
    "AgentOffered",
    "Answered",
    "Bridged",
    "CallEnded",
    "CallStarted",
    "CalleeHangup",
    "CallerHangup",
    "DialFailed",
    "Dialing",
    "DigitPressed",
    "DigitsCollected",
    "EchoStarted",
    "Fact",
    "Held",
    "HoursClosed",
    "InputTimeout",
    "InvalidInput",
    "MenuEntered",
    "OptionChosen",
    "QueueAbandoned",
    "QueueJoined",
    "QueueOverflowed",
    "RetriesExhausted",
    "Shape",
    "TransferAnswered",
    "TransferCancelled",
    "TransferCompleted",
    "TransferStarted",
    "Transferred",
    "Unheld",
    "placements",
    "read",
    "shapes",
]
