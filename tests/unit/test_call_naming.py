"""How the worker names its bridges: every bridge a call makes has an id of its own, and each
id leads back to its call (recovery relies on both)."""

from __future__ import annotations

import pytest

from stasis_app.calls import naming


@pytest.mark.parametrize(
    ("n", "bridge"),
    [(1, "c-1.5-bridge"), (2, "c-1.5-bridge2"), (11, "c-1.5-bridge11")],
)
def test_the_nth_bridge_of_a_call(n: int, bridge: str) -> None:
    assert naming.bridge_id("c-1.5", n) == bridge
    assert naming.bridge_number(bridge) == n
    assert naming.call_of(bridge) == "c-1.5"
    assert naming.is_call_bridge(bridge)


@pytest.mark.parametrize(
    ("resource", "call_bridge", "call"),
    [
        ("c-1.5-consult2", False, "c-1.5"),
        ("c-1.5-queue1", False, "c-1.5"),
        ("c-1.5-leg3", False, "c-1.5"),
        ("c-1.5-bridgeX", False, "c-1.5"),
        ("-bridge", False, ""),
        ("c-1.5", False, "c-1.5"),
    ],
)
def test_other_ids_are_not_call_bridges_and_still_lead_to_their_call(
    resource: str, call_bridge: bool, call: str
) -> None:
    assert naming.is_call_bridge(resource) is call_bridge
    assert naming.call_of(resource) == call
