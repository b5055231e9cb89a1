"""Where a call goes, decided from the dialed extension alone (pure).

The dialplan passes the dialed extension as the Stasis argument; the same table serves IVR
transfers ("transfer to 2000"), click-to-dial and REST transfers, so every path into an extension
behaves the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IVR_EXTENSION = "500"
ECHO_EXTENSION = "7777"
_INTERNAL = re.compile(r"^[12]\d{3}$")  # the dialplan's _1XXX and _2XXX


@dataclass(frozen=True, slots=True)
class ToIvr:
    """Answer and run the IVR."""


@dataclass(frozen=True, slots=True)
class ToEcho:
    """Answer and echo the caller's audio back."""


@dataclass(frozen=True, slots=True)
class ToExtension:
    """Ring a phone and bridge the caller to it when it answers."""

    extension: str


@dataclass(frozen=True, slots=True)
class Nowhere:
    """No such extension: the caller hears so and the call ends with cause 1 (unallocated)."""

    dialed: str


Route = ToIvr | ToEcho | ToExtension | Nowhere


def route(dialed: str) -> Route:
    if dialed == IVR_EXTENSION:
        return ToIvr()
    if dialed == ECHO_EXTENSION:
        return ToEcho()
    if _INTERNAL.match(dialed):
        return ToExtension(dialed)
    return Nowhere(dialed)
