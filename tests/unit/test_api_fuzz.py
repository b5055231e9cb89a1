"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis, in process).

Every generated request, valid or not, must get an answer the document describes: no 5xx, no
status or body the schema does not promise. Bounded and derandomized so it is fast and stable.
"""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.unit.http_support import (
    AGENT,
    AUTH,
    CALLER,
    FakeControl,
    FakeHistory,
    a_busy_morning,
    contact_event,
    make_app,
    registry_of_a_bridged_call,
)


def fuzz_app() -> object:
    """A live call in the middle of an attended transfer, so /calls/live answers every field;
    callers waiting in a queue, so /queues does too."""
    registry = registry_of_a_bridged_call()
    registry.apply(contact_event("2000"))
    control = FakeControl()
    control.bridged(CALLER, AGENT)
    asyncio.run(control.start_transfer(CALLER, "2001", "attended"))
    return make_app(registry, control=control, queues=a_busy_morning(), history=FakeHistory())


# The SSE stream never ends by design; its behaviour is specified in test_http_events.py.
schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app()).exclude(path="/events/sse")


@schema.parametrize()
@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_operation_breaks_its_schema(case: schemathesis.Case[Any]) -> None:
    """Any input gets a documented status (never 5xx) and a body matching the schema."""
    case.call_and_validate(headers=dict(AUTH), excluded_checks=semantic_rules(case))


def semantic_rules(case: schemathesis.Case[Any]) -> list[CheckFunction]:
    """Checks to skip where a schema-valid request is rightly refused by a rule the schema cannot
    express: click-to-dial from an extension to itself is a 400 naming ``body.to_extension``."""
    body = case.body if isinstance(case.body, dict) else {}
    same = body.get("from_extension") is not None and body.get("from_extension") == body.get(
        "to_extension"
    )
    return [positive_data_acceptance] if case.path == "/calls" and same else []
