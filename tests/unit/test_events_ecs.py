"""CallEvent -> ECS document: one test per action kind, and every field is in the template."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from stasis_app import __version__
from stasis_app.events import CallEvent, catalogue
from stasis_app.events.ecs import ECS_VERSION, DataStream, Origin, timestamp, to_ecs
from stasis_app.events.setup import index_template

AT = 1_700_000_000.123456  # 2023-11-14T22:13:20.123Z


def _event(action: str, data: dict[str, Any] | None = None, /, **fields: Any) -> CallEvent:
    return CallEvent(
        "1700000000.42",
        action,
        {**(data or {}), **fields},
        caller="1000",
        dialed="500",
        at=AT,
        event_id=f"id-{action}",
    )


# (action, data) pairs exactly as the call machine and the queue service emit them.
EMITTED: list[tuple[str, dict[str, Any]]] = [
    (
        "call-started",
        {
            "caller": "1000",
            "caller_name": "Alice",
            "dialed": "500",
            "channel": "PJSIP/1000-00000001",
        },
    ),
    ("answered", {}),
    ("adopted", {"stage": "bridged"}),
    ("echo-started", {}),
    ("menu-entered", {"menu": "main"}),
    ("digit", {"digit": "2", "menu": "main"}),
    ("digits-collected", {"menu": "main", "digits": "2"}),
    ("option-chosen", {"menu": "main", "digits": "2", "action": "transfer to 2000"}),
    ("invalid-input", {"menu": "main", "digits": "9", "retry": 1}),
    ("input-timeout", {"menu": "main", "retry": 2}),
    ("retries-exhausted", {"menu": "main"}),
    ("transferred", {"extension": "2000", "by": "ivr"}),
    ("dialing", {"extension": "2000", "leg": "1700000000.42-leg1"}),
    ("dial-failed", {"extension": "2000", "reason": "busy"}),
    ("bridged", {"extension": "2000", "bridge": "1700000000.42-bridge"}),
    ("caller-hangup", {"cause": 16}),
    ("callee-hangup", {"cause": None}),
    ("queue-joined", {"queue": "sales", "position": 2}),
    ("agent-offered", {"queue": "sales", "agent": "1001", "leg": "1700000000.42-leg2"}),
    ("agent-missed", {"queue": "sales", "agent": "1001", "reason": "no-answer"}),
    (
        "agent-answered",
        {"queue": "sales", "agent": "1002", "wait": 14.25, "within_sl": 1, "outcome": "answered"},
    ),
    (
        "queue-abandoned",
        {"queue": "sales", "wait": 31.5, "position": 1, "within_sl": 0, "outcome": "abandoned"},
    ),
    (
        "queue-overflowed",
        {
            "queue": "sales",
            "wait": 300.0,
            "reason": "max-wait",
            "to": "queue support",
            "within_sl": 0,
            "outcome": "overflowed",
        },
    ),
    ("hours-closed", {"menu": "main", "hours": "office"}),
    (
        "call-ended",
        {
            "disposition": "answered",
            "cause": 16,
            "duration": 12.5,
            "ivr_path": ["main", "sales"],
            "callee": "2000",
        },
    ),
]


def _leaves(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict) and f"{prefix}{key}" != "cti.extra":
            out |= _leaves(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = value
    return out


def _mapping(spec: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, field in spec.get("properties", {}).items():
        if "type" in field:
            out[prefix + name] = field["type"]
        out |= _mapping(field, f"{prefix}{name}.")
    return out


MAPPING = _mapping(index_template()["template"]["mappings"])
FITS = {
    "keyword": (str,),
    "text": (str,),
    "date": (str,),
    "long": (int,),
    "float": (float, int),
    "object": (dict,),
}


def test_timestamp_is_iso_utc_with_milliseconds() -> None:
    """@timestamp is what Elasticsearch's date type parses without a format."""
    assert timestamp(AT) == "2023-11-14T22:13:20.123Z"
    assert timestamp(0) == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize(("action", "data"), EMITTED, ids=[a for a, _ in EMITTED])
def test_every_action_has_the_common_ecs_fields(action: str, data: dict[str, Any]) -> None:
    """Each document carries @timestamp, ecs.version, event.* and the call's parties."""
    doc = to_ecs(_event(action, data))
    assert doc["@timestamp"] == "2023-11-14T22:13:20.123Z"
    assert doc["ecs"] == {"version": ECS_VERSION}
    assert doc["event"]["kind"] == "event"
    assert doc["event"]["category"] == ["network"]
    assert doc["event"]["action"] == action
    assert doc["event"]["id"] == f"id-{action}"
    assert doc["cti"]["call_id"] == "1700000000.42"
    assert doc["source"]["user"] == {
        "id": "1000",
        "name": "1000",
        **({"full_name": "Alice"} if action == "call-started" else {}),
    }
    assert doc["destination"]["user"]["id"] in ("500", "2000")


@pytest.mark.parametrize(("action", "data"), EMITTED, ids=[a for a, _ in EMITTED])
def test_every_field_is_mapped_with_a_fitting_type(action: str, data: dict[str, Any]) -> None:
    """No field relies on dynamic mapping, and each value fits its mapped type."""
    for name, value in _leaves(to_ecs(_event(action, data))).items():
        assert name in MAPPING, name
        values = value if isinstance(value, list) else [value]
        for item in values:
            assert isinstance(item, FITS[MAPPING[name]]), (name, item)


@pytest.mark.parametrize(
    ("action", "types"),
    [
        ("call-started", ["start", "connection"]),
        ("call-ended", ["end", "connection"]),
        ("bridged", ["connection"]),
        ("digit", ["info"]),
        ("menu-entered", ["info"]),
    ],
)
def test_event_type_per_action(action: str, types: list[str]) -> None:
    """Start and end of a call are ECS start/end; connection changes are 'connection'."""
    assert to_ecs(_event(action))["event"]["type"] == types


def test_call_started_records_the_channel_and_caller_name() -> None:
    doc = to_ecs(_event(*EMITTED[0]))
    assert doc["asterisk"]["channel"] == "PJSIP/1000-00000001"
    assert doc["cti"]["dialed"] == "500"
    assert "outcome" not in doc["event"]


def test_ivr_events_carry_menu_digits_and_retry() -> None:
    assert to_ecs(_event("menu-entered", menu="main"))["cti"]["menu"] == "main"
    digit = to_ecs(_event("digit", digit="#", menu="main"))["cti"]
    assert (digit["digit"], digit["menu"]) == ("#", "main")
    invalid = to_ecs(_event("invalid-input", menu="main", digits="9", retry=1))["cti"]
    assert (invalid["digits"], invalid["retry"]) == ("9", 1)
    assert to_ecs(_event("input-timeout", menu="m", retry=2))["cti"]["retry"] == 2
    assert to_ecs(_event("retries-exhausted", menu="m"))["cti"]["menu"] == "m"


def test_option_chosen_keeps_the_options_meaning() -> None:
    """The human-readable option ('transfer to 2000') is what the IVR-options chart counts."""
    doc = to_ecs(
        _event("option-chosen", {"menu": "main", "digits": "2", "action": "transfer to 2000"})
    )
    assert doc["cti"]["option"] == "transfer to 2000"
    assert doc["cti"]["digits"] == "2"
    assert "extra" not in doc["cti"]


def test_transfer_dial_and_bridge_name_the_extension() -> None:
    transferred = to_ecs(_event("transferred", extension="2000", by="ivr"))
    assert transferred["cti"]["extension"] == "2000"
    assert transferred["cti"]["transfer_by"] == "ivr"
    assert transferred["destination"]["user"]["id"] == "2000"
    dialing = to_ecs(_event("dialing", extension="2000", leg="x-leg1"))
    assert dialing["asterisk"]["leg_channel_id"] == "x-leg1"
    bridged = to_ecs(_event("bridged", extension="2000", bridge="x-bridge"))
    assert bridged["asterisk"]["bridge_id"] == "x-bridge"
    assert bridged["event"]["outcome"] == "success"
    failed = to_ecs(_event("dial-failed", extension="2000", reason="busy"))
    assert (failed["cti"]["reason"], failed["event"]["outcome"]) == ("busy", "failure")


def test_hangups_carry_the_q850_cause_and_its_name() -> None:
    doc = to_ecs(_event("caller-hangup", cause=17))
    assert doc["asterisk"] == {"hangup_cause": 17, "hangup_cause_name": "USER_BUSY"}
    assert doc["event"]["type"] == ["end"]
    assert "asterisk" not in to_ecs(_event("callee-hangup", cause=None))
    assert to_ecs(_event("caller-hangup", cause=99))["asterisk"]["hangup_cause_name"] == "CAUSE_99"


def test_call_ended_has_duration_in_ns_outcome_and_path() -> None:
    """event.duration is ECS nanoseconds; cti.duration is seconds for charts."""
    doc = to_ecs(_event(*EMITTED[-1]))
    assert doc["event"]["duration"] == 12_500_000_000
    assert doc["event"]["outcome"] == "success"
    assert doc["event"]["start"] == "2023-11-14T22:13:07.623Z"
    assert doc["event"]["end"] == doc["@timestamp"]
    assert doc["cti"]["duration"] == 12.5
    assert doc["cti"]["disposition"] == "answered"
    assert doc["cti"]["ivr_path"] == ["main", "sales"]
    assert doc["cti"]["ivr_depth"] == 2
    assert doc["cti"]["extension"] == "2000"
    assert doc["asterisk"]["hangup_cause_name"] == "NORMAL_CLEARING"


@pytest.mark.parametrize(
    ("disposition", "outcome"),
    [
        ("answered", "success"),
        ("echo", "success"),
        ("busy", "failure"),
        ("abandoned", "failure"),
        ("no-answer", "failure"),
        ("worker-stopped", "failure"),
    ],
)
def test_call_ended_outcome_by_disposition(disposition: str, outcome: str) -> None:
    doc = to_ecs(_event("call-ended", disposition=disposition, duration=1.0, ivr_path=[]))
    assert doc["event"]["outcome"] == outcome


def test_a_call_that_never_left_the_ivr_is_counted_on_its_dialed_extension() -> None:
    doc = to_ecs(_event("call-ended", disposition="ivr-hangup", duration=3, ivr_path=["main"]))
    assert doc["cti"]["extension"] == "500"


def test_unknown_data_goes_to_the_unindexed_extra_object() -> None:
    """A new action's fields are kept (in _source) without risking a mapping conflict."""
    doc = to_ecs(_event("hold", music=("a", "b"), level=3))
    assert doc["cti"]["extra"] == {"music": ["a", "b"], "level": 3}
    assert doc["event"]["type"] == ["info"]


def test_mapping_is_deterministic() -> None:
    """The same event always gives the same document (a resend is byte-identical)."""
    event = _event(*EMITTED[-1])
    assert to_ecs(event) == to_ecs(event)


# -- facts: the same documents, and the transfer and hold events ----------------------------------


@pytest.mark.parametrize(("action", "data"), EMITTED, ids=[a for a, _ in EMITTED])
def test_a_fact_gives_the_same_document_as_the_hand_written_event(
    action: str, data: dict[str, Any]
) -> None:
    """Emitting catalogue facts (CallEvent.of) changes no document of today's events."""
    fact = catalogue.read(action, data)
    assert fact is not None
    event = CallEvent.of("1700000000.42", fact, caller="1000", dialed="500", at=AT)
    event = dataclasses.replace(event, event_id=f"id-{action}")
    assert to_ecs(event) == to_ecs(_event(action, data))


def test_an_attended_transfer_carries_its_id_target_and_moved_channel() -> None:
    """Its four events share cti.transfer.id; the target is the event's extension."""
    started = to_ecs(
        _event("transfer-started", transfer="t1", extension="3000", moved="c-1", by="phone")
    )
    assert started["cti"]["transfer"] == {"id": "t1", "moved_channel_id": "c-1"}
    assert (started["cti"]["extension"], started["cti"]["transfer_by"]) == ("3000", "phone")
    assert started["destination"]["user"]["id"] == "3000"
    assert "outcome" not in started["event"]
    answered = to_ecs(_event("transfer-answered", transfer="t1", extension="3000"))
    assert (answered["cti"]["transfer"], answered["event"]["type"]) == (
        {"id": "t1"},
        ["connection"],
    )
    completed = to_ecs(_event("transfer-completed", transfer="t1", extension="3000"))
    assert completed["event"]["outcome"] == "success"
    cancelled = to_ecs(_event("transfer-cancelled", transfer="t1", extension="3000", reason="busy"))
    assert (cancelled["cti"]["reason"], cancelled["event"]["outcome"]) == ("busy", "failure")


def test_a_blind_transfer_names_the_moved_channel_and_the_stage_it_left() -> None:
    doc = to_ecs(_event("transferred", extension="3000", by="api", stage="bridged", moved="c-2"))
    assert doc["cti"]["transfer"] == {"moved_channel_id": "c-2"}
    assert (doc["cti"]["stage"], doc["cti"]["extension"]) == ("bridged", "3000")


def test_hold_names_the_party_and_its_extension() -> None:
    held = to_ecs(_event("held", party="c-leg1", extension="2000"))
    assert held["asterisk"] == {"party_channel_id": "c-leg1"}
    assert held["cti"]["extension"] == "2000"
    unheld = to_ecs(_event("unheld", party="c-1"))
    assert (unheld["asterisk"], unheld["event"]["type"]) == ({"party_channel_id": "c-1"}, ["info"])
    assert unheld["destination"]["user"]["id"] == "500"


def test_an_unknown_action_is_placed_by_field_name_as_before() -> None:
    """Names the catalogue places one way everywhere keep their place (the queue's ``position``
    too); call-ended's own fields and option-chosen's ``action`` (a record attribute's name) are
    not guessed at, nor names the catalogue lacks."""
    doc = to_ecs(
        _event(
            "queued",
            menu="main",
            retry=2,
            extension="3000",
            cause=17,
            action="wait",
            duration=3.0,
            position=4,
            colour="blue",
        )
    )
    assert (doc["cti"]["menu"], doc["cti"]["retry"], doc["cti"]["extension"]) == ("main", 2, "3000")
    assert doc["cti"]["queue"] == {"position": 4}
    assert doc["asterisk"]["hangup_cause"] == 17
    assert doc["cti"]["extra"] == {"action": "wait", "duration": 3.0, "colour": "blue"}
    assert "duration" not in doc["event"]


def test_a_field_its_fact_does_not_have_is_kept_in_extra() -> None:
    """Per-fact placement is the truth: a stray key is stored, not indexed."""
    doc = to_ecs(_event("answered", cause=16, menu="main"))
    assert doc["cti"]["extra"] == {"cause": 16, "menu": "main"}
    assert "asterisk" not in doc


# -- queues ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "data", "queue", "outcome"),
    [
        pytest.param(
            "queue-joined",
            {"queue": "sales", "position": 2},
            {"name": "sales", "position": 2},
            None,
            id="joined",
        ),
        pytest.param(
            "agent-offered",
            {"queue": "sales", "agent": "1001", "leg": "c-leg2"},
            {"name": "sales", "agent": "1001"},
            None,
            id="offered",
        ),
        pytest.param(
            "agent-missed",
            {"queue": "sales", "agent": "1001", "reason": "busy"},
            {"name": "sales", "agent": "1001"},
            "failure",
            id="missed",
        ),
        pytest.param(
            "agent-answered",
            {"queue": "sales", "agent": "1002", "wait": 14.25, "within_sl": 1},
            {
                "name": "sales",
                "agent": "1002",
                "wait": 14.25,
                "within_sl": 1,
                "outcome": "answered",
            },
            "success",
            id="answered",
        ),
        pytest.param(
            "queue-abandoned",
            {"queue": "sales", "wait": 31.5, "position": 1},
            {"name": "sales", "wait": 31.5, "position": 1, "within_sl": 0, "outcome": "abandoned"},
            "failure",
            id="abandoned",
        ),
        pytest.param(
            "queue-overflowed",
            {"queue": "sales", "wait": 300.0, "reason": "max-wait", "to": "queue support"},
            {
                "name": "sales",
                "wait": 300.0,
                "overflow_to": "queue support",
                "within_sl": 0,
                "outcome": "overflowed",
            },
            "failure",
            id="overflowed",
        ),
    ],
)
def test_a_queue_event_carries_its_queue_fields_and_outcome(
    action: str, data: dict[str, Any], queue: dict[str, Any], outcome: str | None
) -> None:
    """Everything about the queue is under cti.queue (the agent too, for per-agent charts);
    event.outcome is the fact's; the outcome facts name their outcome even when the record
    leaves it out (the fact's default)."""
    fact = catalogue.read(action, data)
    assert fact is not None
    doc = to_ecs(CallEvent.of("1700000000.42", fact, caller="1000", dialed="600", at=AT))
    assert doc["cti"]["queue"] == queue
    assert doc["event"].get("outcome") == outcome
    assert "extra" not in doc["cti"]
    assert doc["destination"]["user"]["id"] == "600"  # the number called; the agent is above


def test_a_missed_agent_and_an_overflow_say_why() -> None:
    missed = to_ecs(_event("agent-missed", queue="sales", agent="1001", reason="no-answer"))
    assert missed["cti"]["reason"] == "no-answer"
    full = to_ecs(
        _event(
            "queue-overflowed", queue="sales", wait=0.0, reason="full", to="hang up", within_sl=0
        )
    )
    assert (full["cti"]["reason"], full["cti"]["queue"]["wait"]) == ("full", 0.0)


def test_an_offered_agent_names_its_phones_channel() -> None:
    doc = to_ecs(_event("agent-offered", queue="sales", agent="1001", leg="c-leg2"))
    assert doc["asterisk"] == {"leg_channel_id": "c-leg2"}
    assert doc["event"]["type"] == ["connection"]


def test_the_mean_of_within_sl_over_the_outcome_events_is_the_service_level() -> None:
    """Four callers: two answered in time, one late, one abandoned (the joins and offers around
    them carry no within_sl): 2 of 4 within the service level."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("queue-joined", {"queue": "sales", "position": 1}),
        ("agent-offered", {"queue": "sales", "agent": "1001", "leg": "l1"}),
        ("agent-answered", {"queue": "sales", "agent": "1001", "wait": 5.0, "within_sl": 1}),
        ("agent-answered", {"queue": "sales", "agent": "1002", "wait": 12.0, "within_sl": 1}),
        ("agent-answered", {"queue": "sales", "agent": "1001", "wait": 95.0, "within_sl": 0}),
        ("agent-missed", {"queue": "sales", "agent": "1002", "reason": "no-answer"}),
        ("queue-abandoned", {"queue": "sales", "wait": 40.0, "position": 2}),
    ]
    facts = [catalogue.read(action, data) for action, data in events]
    docs = [to_ecs(CallEvent.of("c", f, caller="1000", dialed="600")) for f in facts if f]
    outcomes = [d["cti"]["queue"] for d in docs if "outcome" in d["cti"]["queue"]]
    assert [q["outcome"] for q in outcomes] == ["answered", "answered", "answered", "abandoned"]
    assert sum(q["within_sl"] for q in outcomes) / len(outcomes) == 0.5


def test_hours_closed_names_the_menu_and_its_hours() -> None:
    doc = to_ecs(_event("hours-closed", menu="main", hours="office"))
    assert (doc["cti"]["menu"], doc["cti"]["hours"]) == ("main", "office")
    assert "outcome" not in doc["event"]


@pytest.mark.parametrize(
    ("data", "indexed", "extra"),
    [
        pytest.param({"wait": 3, "within_sl": 1}, {"wait": 3.0, "within_sl": 1}, {}, id="int"),
        pytest.param(
            {"wait": "2.5", "within_sl": "1"}, {"wait": 2.5, "within_sl": 1}, {}, id="text"
        ),
        pytest.param(
            {"wait": 1.5, "within_sl": True}, {"wait": 1.5, "within_sl": 1}, {}, id="bool"
        ),
        pytest.param(
            {"wait": "soon", "within_sl": 0}, {"within_sl": 0}, {"wait": "soon"}, id="word"
        ),
        pytest.param({"wait": [1], "within_sl": 1}, {"within_sl": 1}, {"wait": [1]}, id="list"),
        pytest.param(
            {"wait": 1.5, "within_sl": float("inf")},
            {"wait": 1.5},
            {"within_sl": float("inf")},
            id="infinite-int",
        ),
    ],
)
def test_a_value_is_indexed_as_its_fields_type_or_kept_in_extra(
    data: dict[str, Any], indexed: dict[str, Any], extra: dict[str, Any]
) -> None:
    """A hand-written record with a value of the wrong type keeps its event: the value is
    converted to the field's type (float wait, integer within_sl) when it can be, else stored,
    not indexed, in cti.extra."""
    doc = to_ecs(_event("agent-answered", {"queue": "q", "agent": "1001", **data}))
    queue = doc["cti"]["queue"]
    got = {k: (v, type(v)) for k, v in queue.items() if k in ("wait", "within_sl")}
    assert got == {k: (v, type(v)) for k, v in indexed.items()}
    assert doc["cti"].get("extra", {}) == extra


@pytest.mark.parametrize(
    ("action", "data", "queue"),
    [
        pytest.param(
            "agent-answered",
            {"queue": "q", "agent": "1001", "wait": 2.0, "within_sl": 1},
            {"name": "q", "agent": "1001", "wait": 2.0, "within_sl": 1, "outcome": "answered"},
            id="answered",
        ),
        pytest.param(
            "queue-abandoned",
            {"queue": "q", "wait": 9.0, "position": 3},
            {"name": "q", "wait": 9.0, "position": 3, "within_sl": 0, "outcome": "abandoned"},
            id="abandoned",
        ),
        pytest.param(
            "queue-overflowed",
            {"queue": "q", "wait": 60.0, "reason": "max-wait", "to": "hang up", "within_sl": None},
            {
                "name": "q",
                "wait": 60.0,
                "overflow_to": "hang up",
                "within_sl": 0,
                "outcome": "overflowed",
            },
            id="overflowed",
        ),
    ],
)
def test_a_hand_written_outcome_record_is_indexed_with_the_facts_defaults(
    action: str, data: dict[str, Any], queue: dict[str, Any]
) -> None:
    """A record without ``outcome``/``within_sl`` (or with them None) is still an outcome
    event of the service level: the document is the one its fact (read back) gives."""
    doc = to_ecs(_event(action, data))
    assert doc["cti"]["queue"] == queue
    fact = catalogue.read(action, data)
    assert fact is not None
    via_fact = CallEvent.of("1700000000.42", fact, caller="1000", dialed="500", at=AT)
    assert to_ecs(dataclasses.replace(via_fact, event_id=f"id-{action}")) == doc


# (action, data, message): the sentence each kind of event gives, from its fact's SAYS.
MESSAGES: list[tuple[str, dict[str, Any], str]] = [
    ("call-started", EMITTED[0][1], "call 1700000000.42 from 1000 to 500 started"),
    ("answered", {}, "call 1700000000.42 from 1000 answered"),
    ("digit", {"digit": "2", "menu": "main"}, "call 1700000000.42 from 1000 pressed 2"),
    (
        "option-chosen",
        {"menu": "main", "digits": "2", "action": "transfer to 2000"},
        "call 1700000000.42 from 1000 chose 2 in menu main: transfer to 2000",
    ),
    (
        "dial-failed",
        {"extension": "2000", "reason": "busy"},
        "call 1700000000.42 from 1000 did not reach 2000: busy",
    ),
    (
        "queue-overflowed",
        {"queue": "sales", "wait": 300.0, "reason": "max-wait", "to": "queue support"},
        "call 1700000000.42 from 1000 sent on by queue sales after 300 s (max-wait): queue support",
    ),
    (
        "call-ended",
        {"disposition": "answered", "duration": 12.5, "ivr_path": ["main"]},
        "call 1700000000.42 from 1000 ended: answered after 12.5 s",
    ),
    # A hand-written record without a field the sentence names: the rest is still said.
    ("bridged", {"bridge": "b"}, "call 1700000000.42 from 1000 connected to unknown"),
    # An action this version does not know: named as it is.
    ("parked", {"lot": "701"}, "call 1700000000.42 from 1000: parked"),
]


@pytest.mark.parametrize(("action", "data", "said"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_the_message_says_what_happened(action: str, data: dict[str, Any], said: str) -> None:
    """ECS message: a short sentence for Discover's list and full-text search."""
    assert to_ecs(_event(action, data))["message"] == said


def test_a_call_without_a_caller_number_is_named_by_its_id_alone() -> None:
    event = CallEvent("c9", "answered", {}, caller=None, dialed=None, at=AT)
    assert to_ecs(event)["message"] == "call c9 answered"


# (origin, the fields it gives every document): service, host and the data stream.
ORIGINS: list[tuple[Origin, dict[str, Any]]] = [
    (
        Origin(),
        {
            "service.name": "cti",
            "service.version": __version__,
            "data_stream.type": "logs",
            "data_stream.dataset": "cti.calls",
            "data_stream.namespace": "default",
            "event.dataset": "cti.calls",
        },
    ),
    (
        Origin(version="9.9.9", node="pbx-1", stream=DataStream(namespace="prod")),
        {
            "service.name": "cti",
            "service.version": "9.9.9",
            "service.node.name": "pbx-1",
            "host.name": "pbx-1",
            "data_stream.type": "logs",
            "data_stream.dataset": "cti.calls",
            "data_stream.namespace": "prod",
            "event.dataset": "cti.calls",
        },
    ),
]


@pytest.mark.parametrize(("origin", "fields"), ORIGINS, ids=["default", "named-host"])
@pytest.mark.parametrize(("action", "data"), EMITTED[:3], ids=[a for a, _ in EMITTED[:3]])
def test_every_document_names_its_service_host_and_data_stream(
    origin: Origin, fields: dict[str, Any], action: str, data: dict[str, Any]
) -> None:
    """The data_stream.* parts spell the data stream the sink writes to; host.* only when the
    origin names its host."""
    leaves = _leaves(to_ecs(_event(action, data), origin))
    assert {k: v for k, v in leaves.items() if k.split(".")[0] in ("service", "host")} == {
        k: v for k, v in fields.items() if k.split(".")[0] in ("service", "host")
    }
    assert {k: leaves[k] for k in fields} == fields
    stream = origin.stream
    parts = (leaves["data_stream.type"], leaves["data_stream.dataset"])
    assert "-".join((*parts, leaves["data_stream.namespace"])) == stream.name
