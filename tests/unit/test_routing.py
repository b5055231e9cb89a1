"""Where a call goes, from the dialed extension, and what a failed dial sounds like."""

from __future__ import annotations

import pytest

from stasis_app.calls import causes
from stasis_app.calls.routing import Nowhere, Route, ToEcho, ToExtension, ToIvr, route


@pytest.mark.parametrize(
    ("dialed", "expected"),
    [
        ("500", ToIvr()),
        ("7777", ToEcho()),
        ("1000", ToExtension("1000")),
        ("2000", ToExtension("2000")),
        ("1999", ToExtension("1999")),
        ("2345", ToExtension("2345")),
        ("3000", Nowhere("3000")),
        ("100", Nowhere("100")),
        ("10000", Nowhere("10000")),
        ("", Nowhere("")),
        ("1a00", Nowhere("1a00")),
    ],
)
def test_route_follows_the_dialplan_patterns(dialed: str, expected: Route) -> None:
    """500 is the IVR, 7777 the echo test, _1XXX/_2XXX phones; anything else goes nowhere."""
    assert route(dialed) == expected


@pytest.mark.parametrize(
    ("cause", "disposition", "prompt", "end_cause"),
    [
        (17, "busy", "busy", 17),
        (19, "no-answer", "no-answer", 19),
        (18, "no-answer", "no-answer", 19),
        (1, "unknown-extension", "unknown-extension", 1),
        (20, "unavailable", "unavailable", 20),
        (21, "unavailable", "unavailable", 20),
        (None, "unavailable", "unavailable", 20),
    ],
)
def test_failed_dial_outcome(
    cause: int | None, disposition: str, prompt: str, end_cause: int
) -> None:
    """The callee's Q.850 cause picks the caller's prompt and the caller's own hangup cause."""
    assert causes.failed_dial_outcome(cause) == (disposition, prompt, end_cause)
