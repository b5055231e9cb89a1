"""CallEvent -> an Elastic Common Schema document (pure: no clock, no I/O).

The same document is stored in the embedded call store and shipped, unchanged, to Elasticsearch,
so what Kibana shows and what ``cti calls show`` shows are the same record.

Field placement follows ECS 8.11: ECS fields where ECS has one (``event.*``,
``source.user.*``, ``destination.user.*``, ``network.protocol``), Asterisk's own values under
``asterisk.*``, ours under ``cti.*``. Nothing here is a table of its own: ``event.type``,
``event.outcome`` and where each data field goes come from the fact in
:mod:`~stasis_app.events.catalogue` whose ``ACTION`` the event has. A field placed at a dotted
path goes there (as its declared type); SPECIAL fields are read by the code below (the parties,
the hangup cause, call-ended's disposition, duration and IVR path); EXTRA fields, and keys the
fact does not have, go to ``cti.extra``, which is stored, not indexed. An action the catalogue
lacks (an older or newer version's) is placed by field name where the catalogue agrees on one
(see ``_fallback``), its parties and cause are read as usual, and the rest goes to ``cti.extra``.
A value that is not of its field's type and cannot be made one (``"soon"`` for the queue wait of
a hand-written record) goes to ``cti.extra`` too: the event is kept, the bad value not indexed.

The queue facts need nothing special: their fields are plain paths under ``cti.queue.*`` (the
agent at ``cti.queue.agent``, for per-agent charts), ``event.outcome`` is the fact's OUTCOME
like everywhere, and ``cti.queue.within_sl`` is an integer 0/1 so that its average over the
outcome facts is the service level (docs/call-events.md, "Queues"). The one rule they add: an
indexed field with a default (an outcome fact's ``outcome`` and ``within_sl``) is indexed with it
when the record lacks it, as :func:`~stasis_app.events.catalogue.read` would give it, so that a
hand-written record is not left out of the service level.

Every document also says where it comes from and where it is written (:class:`Origin`):
``service.name`` "cti" and ``service.version``, the host's name as ``host.name`` and
``service.node.name`` (telling two workers apart), and ``data_stream.type/dataset/namespace``,
the parts of the data stream's name (``logs-cti.calls-default``) that the sink writes it to: the
sink takes that name from the store's origin, so the two cannot disagree. ``message`` is a short
sentence for people (Discover's default column, full-text search): "call 1700000000.12 from
1000 ended: answered after 12.5 s", from the fact's ``SAYS``.

Every path is mapped in ``templates/index-template.json`` and documented in docs/call-events.md
(tests/unit/test_events_catalogue.py checks both); the template maps unknown fields as
``dynamic: false``, so no event can break indexing.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from stasis_app import __version__
from stasis_app.events.catalogue import (
    CATALOGUE,
    EXTRA,
    SPECIAL,
    CallEnded,
    Fact,
    placements,
    shapes,
)
from stasis_app.events.record import CallEvent

ECS_VERSION: Final = "8.11.0"
SERVICE_NAME: Final = "cti"
# Elastic's data stream naming scheme: type-dataset-namespace, the namespace lowercase and free
# of '-' (it separates the parts), '\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ':', ' '.
_NAMESPACE: Final = re.compile(r"[a-z0-9_.+=@!$%^&()\[\]{};'~`]{1,100}")


@dataclass(frozen=True, slots=True)
class DataStream:
    """Where documents are written: the data stream ``{type}-{dataset}-{namespace}``."""

    type: str = "logs"
    dataset: str = "cti.calls"
    namespace: str = "default"

    def __post_init__(self) -> None:
        if not _NAMESPACE.fullmatch(self.namespace):
            raise ValueError(
                f"data stream namespace must be 1 to 100 lowercase characters without '-', "
                f'spaces or \\/*?"<>|,#:, got {self.namespace!r}'
            )

    @property
    def name(self) -> str:
        return f"{self.type}-{self.dataset}-{self.namespace}"


@dataclass(frozen=True, slots=True)
class Origin:
    """What every document says about who wrote it and where it goes (the same on all of a
    worker's events). ``node``: the host's name, or None to leave ``host.*`` and
    ``service.node.name`` out (a pure default; the worker passes its host's)."""

    version: str = __version__
    node: str | None = None
    stream: DataStream = field(default_factory=DataStream)


DEFAULT_ORIGIN: Final = Origin()

# Q.850 cause names as Asterisk prints them (HANGUPCAUSE / ast_cause2str), for readable charts.
HANGUP_CAUSES: Final[Mapping[int, str]] = {
    1: "UNALLOCATED",
    16: "NORMAL_CLEARING",
    17: "USER_BUSY",
    18: "NO_USER_RESPONSE",
    19: "NO_ANSWER",
    20: "SUBSCRIBER_ABSENT",
    21: "CALL_REJECTED",
    27: "DESTINATION_OUT_OF_ORDER",
    31: "NORMAL_UNSPECIFIED",
    34: "NORMAL_CIRCUIT_CONGESTION",
    38: "NETWORK_OUT_OF_ORDER",
    41: "NORMAL_TEMPORARY_FAILURE",
    42: "SWITCH_CONGESTION",
    127: "INTERWORKING",
}

# Dispositions that mean the caller got what the call was for (ECS event.outcome "success").
SUCCESS_DISPOSITIONS: Final = frozenset({"answered", "echo"})
# The SPECIAL fields this module reads on any event that carries them (the parties and the
# cause); call-ended's own (disposition, duration, ivr_path) are read by _ended alone.
_ON_ANY_EVENT: Final = frozenset({"caller", "dialed", "extension", "callee", "cause"})


class _Place(NamedTuple):
    target: str  # a dotted document path, SPECIAL or EXTRA
    kind: type  # the field's value type, which the indexed value is converted to


def _places(fact: type[Fact]) -> dict[str, _Place]:
    kinds = shapes(fact)
    return {name: _Place(target, kinds[name].kind) for name, target in placements(fact)}


def _fallback(by_action: Mapping[str, Mapping[str, _Place]]) -> dict[str, _Place]:
    """Placement by field name, for an action the catalogue lacks: the one the catalogue gives
    that name everywhere, but neither a name of the record's own attributes (only option-chosen's
    ``action`` is an IVR option) nor a SPECIAL field that only call-ended's code reads."""
    seen: dict[str, set[_Place]] = {}
    for places in by_action.values():
        for name, place in places.items():
            seen.setdefault(name, set()).add(place)
    record = {f.name for f in dataclasses.fields(CallEvent)}
    out: dict[str, _Place] = {}
    for name, found in seen.items():
        (place, *others) = found
        if name in _ON_ANY_EVENT:
            wanted = place.target == SPECIAL
        else:
            wanted = place.target not in (SPECIAL, EXTRA) and name not in record
        if wanted and not others:
            out[name] = place
    return out


_PLACES: Final[Mapping[str, Mapping[str, _Place]]] = {f.ACTION: _places(f) for f in CATALOGUE}
_FALLBACK: Final[Mapping[str, _Place]] = _fallback(_PLACES)
_TYPES: Final[Mapping[str, tuple[str, ...]]] = {f.ACTION: f.TYPES for f in CATALOGUE}
_OUTCOMES: Final[Mapping[str, str]] = {f.ACTION: f.OUTCOME for f in CATALOGUE if f.OUTCOME}


def _defaults(fact: type[Fact]) -> dict[str, Any]:
    """The indexed fields that have a default other than None (the queue outcome facts'
    ``outcome`` and ``within_sl``): what a record that lacks them is indexed with."""
    places = dict(placements(fact))
    return {
        f.name: f.default
        for f in dataclasses.fields(fact)
        if f.default not in (None, dataclasses.MISSING) and places[f.name] not in (SPECIAL, EXTRA)
    }


_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    f.ACTION: defaults for f in CATALOGUE if (defaults := _defaults(f))
}


def timestamp(at: float) -> str:
    """Epoch seconds -> ISO 8601 UTC with milliseconds, the form Elasticsearch's ``date`` parses."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _json_safe(value: Any) -> Any:
    """Round-trip through JSON so odd values (tuples, ids, enums) become plain JSON types."""
    return json.loads(json.dumps(value, default=str))


def _head(event: CallEvent, origin: Origin) -> dict[str, Any]:
    """The fields every document has, whatever its action."""
    stream = origin.stream
    doc: dict[str, Any] = {
        "@timestamp": timestamp(event.at),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "event",
            "category": ["network"],
            "type": list(_TYPES.get(event.action, Fact.TYPES)),
            "action": event.action,
            "id": event.event_id,
            "dataset": stream.dataset,
        },
        "data_stream": {
            "type": stream.type,
            "dataset": stream.dataset,
            "namespace": stream.namespace,
        },
        "service": {"name": SERVICE_NAME, "version": origin.version},
        "network": {"protocol": "sip"},
        "cti": {"call_id": event.call_id},
    }
    if origin.node:
        doc["service"]["node"] = {"name": origin.node}
        doc["host"] = {"name": origin.node}
    return doc


def to_ecs(event: CallEvent, origin: Origin = DEFAULT_ORIGIN) -> dict[str, Any]:
    """The ECS document for ``event``, written by ``origin``. Pure and deterministic: same event
    and origin, same document."""
    doc = _head(event, origin)
    places = _PLACES.get(event.action, _FALLBACK)
    special: dict[str, Any] = {}
    placed: list[tuple[str, _Place, Any]] = []
    extra: dict[str, Any] = {}
    data = event.data
    defaults = _DEFAULTS.get(event.action)
    if defaults is not None:  # a record written without them still counts in the queue charts
        data = {k: v for k, v in data.items() if v is not None}
        data |= {k: v for k, v in defaults.items() if k not in data}
    for key, value in data.items():
        if value is None:
            continue
        place = places.get(key)
        if place is None or place.target == EXTRA:
            extra[key] = value
        elif place.target == SPECIAL:
            special[key] = value
        else:
            placed.append((key, place, value))
    _parties(doc, event, special)
    cause = special.get("cause")
    if isinstance(cause, int) and not isinstance(cause, bool):
        _put(doc, "asterisk.hangup_cause", cause)
        _put(doc, "asterisk.hangup_cause_name", HANGUP_CAUSES.get(cause, f"CAUSE_{cause}"))
    for key, place, value in placed:
        try:
            _put(doc, place.target, _indexed(place.kind, value))
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
            extra[key] = value
    if event.action == CallEnded.ACTION:
        _ended(doc, event, special)
    elif event.action in _OUTCOMES:
        doc["event"]["outcome"] = _OUTCOMES[event.action]
    if extra:
        _put(doc, "cti.extra", _json_safe(extra))
    doc["message"] = message(event, data)
    return doc


_SAYS: Final[Mapping[str, str]] = {f.ACTION: f.SAYS for f in CATALOGUE}


class _Words(dict[str, str]):
    """A placeholder the record lacks reads as "unknown" instead of failing the document."""

    def __missing__(self, key: str) -> str:
        return "unknown"


def _words(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"  # 12.5 s, 300 s: not 300.0
    if isinstance(value, (list, tuple)):
        return ", ".join(_words(item) for item in value)
    return str(value)


def message(event: CallEvent, data: Mapping[str, Any]) -> str:
    """ECS ``message``: "call <id> from <caller> " and what the fact ``SAYS``, its
    placeholders filled from ``data``; an action the catalogue lacks is named as it is."""
    caller = event.caller if event.caller is not None else data.get("caller")
    subject = f"call {event.call_id}" + (f" from {caller}" if caller else "")
    says = _SAYS.get(event.action)
    if says is None:
        return f"{subject}: {event.action}"
    values = {k: _words(v) for k, v in data.items() if v is not None}
    if event.dialed is not None:  # as for cti.dialed, the record's own wins
        values["dialed"] = str(event.dialed)
    return f"{subject} {says.format_map(_Words(values))}"


def _indexed(kind: type, value: Any) -> Any:
    """``value`` as the type its field declares (what the index template maps it as); raises
    TypeError, ValueError or OverflowError when it cannot be one."""
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    if kind is str:
        return str(value)
    return _json_safe(value)


def _parties(doc: dict[str, Any], event: CallEvent, special: Mapping[str, Any]) -> None:
    caller = event.caller if event.caller is not None else special.get("caller")
    if caller:
        _put(doc, "source.user.id", str(caller))
        _put(doc, "source.user.name", str(caller))
    dialed = event.dialed if event.dialed is not None else special.get("dialed")
    if dialed:
        _put(doc, "cti.dialed", str(dialed))
    # The extension this event is about: the transfer/dial target, or the call's final callee.
    extension = special.get("extension") or special.get("callee")
    if event.action == CallEnded.ACTION and not extension:
        extension = dialed
    if extension:
        _put(doc, "cti.extension", str(extension))
    callee = extension or dialed
    if callee:
        _put(doc, "destination.user.id", str(callee))


def _ended(doc: dict[str, Any], event: CallEvent, special: Mapping[str, Any]) -> None:
    disposition = special.get("disposition")
    if disposition is not None:
        _put(doc, "cti.disposition", str(disposition))
    doc["event"]["outcome"] = "success" if disposition in SUCCESS_DISPOSITIONS else "failure"
    duration = special.get("duration")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        # ECS event.duration is nanoseconds; cti.duration (seconds) is what charts average.
        doc["event"]["duration"] = round(duration * 1_000_000_000)
        doc["event"]["start"] = timestamp(event.at - duration)
        doc["event"]["end"] = timestamp(event.at)
        _put(doc, "cti.duration", float(duration))
    path = special.get("ivr_path")
    if path is not None:
        steps = [str(step) for step in path]
        _put(doc, "cti.ivr_path", steps)
        _put(doc, "cti.ivr_depth", len(steps))
