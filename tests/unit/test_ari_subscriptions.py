"""Which endpoint subscriptions the worker adds and takes back on connect (a pure plan)."""

from __future__ import annotations

import pytest

from stasis_app.ari.subscriptions import subscription_changes

CASES: list[tuple[str, list[str], list[str], list[str], list[str]]] = [
    # (case, held by Asterisk, wanted, to subscribe, to take back)
    ("a new app subscribes", [], ["PJSIP"], ["PJSIP"], []),
    ("a reconnect adds nothing (Asterisk counts subscriptions)", ["PJSIP"], ["PJSIP"], [], []),
    ("one left by hand is taken back", ["PJSIP", "PJSIP/2000"], ["PJSIP"], [], ["PJSIP/2000"]),
    ("only the missing one is added", ["PJSIP/1000"], ["PJSIP/1000", "PJSIP"], ["PJSIP"], []),
    ("wanting nothing takes back all", ["PJSIP", "PJSIP/1000"], [], [], ["PJSIP", "PJSIP/1000"]),
    ("repeats count once", ["PJSIP", "PJSIP"], ["PJSIP", "PJSIP"], [], []),
]


@pytest.mark.parametrize(
    ("held", "wanted", "add", "drop"), [pytest.param(*rest, id=name) for name, *rest in CASES]
)
def test_subscription_changes(
    held: list[str], wanted: list[str], add: list[str], drop: list[str]
) -> None:
    assert subscription_changes(held, wanted) == (add, drop)
