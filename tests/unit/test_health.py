"""Specification of the health rules (stasis_app.health): facts in, problems and a verdict out."""

from __future__ import annotations

import dataclasses

import pytest

from stasis_app.health import DeadTask, HealthFacts, problems, verdict

GOOD = HealthFacts(
    ari_connected=True,
    endpoints_connected=True,
    store_writer_alive=True,
    store_failing=False,
    store_error=None,
    sink_state="running",
)
READER_DIED = DeadTask("ari-events", "AriAuthError: 401", essential=True)
SHIPPER_DIED = DeadTask("elasticsearch-shipping", None, essential=False)

# (what is wrong, the problems' (code, blocking), the verdict)
CASES = [
    ({}, [], "ok"),
    ({"sink_state": None}, [], "ok"),
    ({"ari_connected": False}, [("ari-disconnected", True)], "unavailable"),
    ({"store_writer_alive": False}, [("store-failing", True)], "unavailable"),
    ({"store_failing": True}, [("store-retrying", False)], "degraded"),
    ({"dead_tasks": (READER_DIED,)}, [("task-dead", True)], "unavailable"),
    ({"dead_tasks": (SHIPPER_DIED,)}, [("task-dead", False)], "degraded"),
    ({"endpoints_connected": False}, [("endpoints-disconnected", False)], "degraded"),
    ({"sink_state": "stopped-auth"}, [("shipping-stopped", False)], "degraded"),
    ({"sink_state": "stopped-no-template"}, [("shipping-stopped", False)], "degraded"),
    ({"sink_state": "stopped"}, [("shipping-stopped", False)], "degraded"),
    ({"sink_state": "backing-off"}, [("shipping-backing-off", False)], "degraded"),
    ({"sink_state": "starting"}, [], "ok"),
    (
        {"sink_state": "backing-off", "ari_connected": False},
        [("ari-disconnected", True), ("shipping-backing-off", False)],
        "unavailable",
    ),
    (
        {"dead_tasks": (SHIPPER_DIED, READER_DIED), "endpoints_connected": False},
        [("task-dead", True), ("endpoints-disconnected", False), ("task-dead", False)],
        "unavailable",
    ),
]


@pytest.mark.parametrize(("changes", "expected", "status"), CASES)
def test_rules(changes: dict[str, object], expected: list[tuple[str, bool]], status: str) -> None:
    """Each fact maps to its problem, blocking ones first; any blocking one is unavailable."""
    found = problems(dataclasses.replace(GOOD, **changes))  # type: ignore[arg-type]
    assert [(p.code, p.blocking) for p in found] == expected
    assert verdict(found) == status


def test_messages_name_the_cause() -> None:
    """A failed write and a dead task carry their error, for the operator."""
    facts = dataclasses.replace(
        GOOD, store_failing=True, store_error="OperationalError: disk I/O error"
    )
    [store] = problems(facts)
    assert "disk I/O error" in store.message
    [task] = problems(dataclasses.replace(GOOD, dead_tasks=(READER_DIED,)))
    assert "ari-events" in task.message
    assert "AriAuthError: 401" in task.message
