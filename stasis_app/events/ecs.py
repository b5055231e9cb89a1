"""CallEvent -> an Elastic Common Schema document (pure: no clock, no I/O).

The same document is stored in the embedded call store and shipped, unchanged, to Elasticsearch,
so what Kibana shows and what ``cti calls show`` shows are the same record.

Field placement follows ECS 8.11: ECS fields where ECS has one (``event.*``,
``source.user.*``, ``destination.user.*``, ``network.protocol``), Asterisk's own values under
``asterisk.*``, ours under ``cti.*``. Every field produced here is mapped in
``templates/index-template.json`` (a unit test checks that), and the template maps unknown fields
as ``dynamic: false``, so a new action can never break indexing: fields this module does not know
go to ``cti.extra``, which is stored, not indexed.
docs/call-events.md documents every field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from stasis_app.events.record import CallEvent

ECS_VERSION: Final = "8.11.0"

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

# event.type per action (ECS "network" category allows start/end/connection/protocol/info ...).
_TYPES: Final[Mapping[str, list[str]]] = {
    "call-started": ["start", "connection"],
    "call-ended": ["end", "connection"],
    "answered": ["connection"],
    "bridged": ["connection"],
    "dialing": ["connection"],
    "dial-failed": ["connection"],
    "caller-hangup": ["end"],
    "callee-hangup": ["end"],
}
# Dispositions that mean the caller got what the call was for (ECS event.outcome "success").
SUCCESS_DISPOSITIONS: Final = frozenset({"answered", "echo"})

# data key -> dotted document field, for the keys call.py emits. Anything else goes to cti.extra.
_FIELDS: Final[Mapping[str, str]] = {
    "menu": "cti.menu",
    "digit": "cti.digit",
    "digits": "cti.digits",
    "retry": "cti.retry",
    "disposition": "cti.disposition",
    "reason": "cti.reason",
    "stage": "cti.stage",
    "by": "cti.transfer_by",
    "channel": "asterisk.channel",
    "leg": "asterisk.leg_channel_id",
    "bridge": "asterisk.bridge_id",
    "caller_name": "source.user.full_name",
}
# Keys already represented elsewhere in the document (top-level CallEvent fields or special cases).
_HANDLED: Final = frozenset(
    {"caller", "dialed", "callee", "extension", "cause", "duration", "ivr_path", "action"}
)


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


def to_ecs(event: CallEvent) -> dict[str, Any]:
    """The ECS document for ``event``. Pure and deterministic: same event, same document."""
    data = dict(event.data)
    doc: dict[str, Any] = {
        "@timestamp": timestamp(event.at),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "event",
            "category": ["network"],
            "type": list(_TYPES.get(event.action, ["info"])),
            "action": event.action,
            "id": event.event_id,
            "dataset": "cti.calls",
        },
        "network": {"protocol": "sip"},
        "cti": {"call_id": event.call_id},
    }
    _parties(doc, event, data)
    cause = data.get("cause")
    if isinstance(cause, int) and not isinstance(cause, bool):
        _put(doc, "asterisk.hangup_cause", cause)
        _put(doc, "asterisk.hangup_cause_name", HANGUP_CAUSES.get(cause, f"CAUSE_{cause}"))
    extra = _action_fields(doc, event.action, data)
    if event.action == "call-ended":
        _ended(doc, event, data)
    elif event.action == "dial-failed":
        doc["event"]["outcome"] = "failure"
    elif event.action == "bridged":
        doc["event"]["outcome"] = "success"
    if extra:
        _put(doc, "cti.extra", _json_safe(extra))
    return doc


def _parties(doc: dict[str, Any], event: CallEvent, data: Mapping[str, Any]) -> None:
    caller = event.caller if event.caller is not None else data.get("caller")
    if caller:
        _put(doc, "source.user.id", str(caller))
        _put(doc, "source.user.name", str(caller))
    if event.dialed:
        _put(doc, "cti.dialed", event.dialed)
    # The extension this event is about: the transfer/dial target, or the call's final callee.
    extension = data.get("extension") or data.get("callee")
    if event.action == "call-ended" and not extension:
        extension = event.dialed
    if extension:
        _put(doc, "cti.extension", str(extension))
    callee = extension or event.dialed
    if callee:
        _put(doc, "destination.user.id", str(callee))


def _action_fields(doc: dict[str, Any], action: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Place the action's own data fields; return those with no mapped home (for cti.extra)."""
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key in _HANDLED or value is None:
            continue
        target = _FIELDS.get(key)
        if target is None:
            extra[key] = value
        else:
            _put(doc, target, int(value) if target == "cti.retry" else str(value))
    if "action" in data:
        # Only option-chosen's "action" (e.g. "transfer to 1000") is the IVR option's meaning.
        if action == "option-chosen":
            _put(doc, "cti.option", str(data["action"]))
        else:
            extra["action"] = data["action"]
    return extra


def _ended(doc: dict[str, Any], event: CallEvent, data: Mapping[str, Any]) -> None:
    disposition = data.get("disposition")
    doc["event"]["outcome"] = "success" if disposition in SUCCESS_DISPOSITIONS else "failure"
    duration = data.get("duration")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        # ECS event.duration is nanoseconds; cti.duration (seconds) is what charts average.
        doc["event"]["duration"] = round(duration * 1_000_000_000)
        doc["event"]["start"] = timestamp(event.at - duration)
        doc["event"]["end"] = timestamp(event.at)
        _put(doc, "cti.duration", float(duration))
    path = data.get("ivr_path")
    if path is not None:
        steps = [str(step) for step in path]
        _put(doc, "cti.ivr_path", steps)
        _put(doc, "cti.ivr_depth", len(steps))
