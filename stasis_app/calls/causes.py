"""Q.850 hangup causes the worker uses, and what a caller hears for each failed dial (pure)."""

from __future__ import annotations

from typing import Final

NORMAL: Final = 16
UNALLOCATED: Final = 1  # no such extension -> SIP 404
USER_BUSY: Final = 17  # -> SIP 486
NO_USER_RESPONSE: Final = 18
NO_ANSWER: Final = 19  # -> SIP 480
SUBSCRIBER_ABSENT: Final = 20  # not registered -> SIP 480
CALL_REJECTED: Final = 21
TEMPORARY_FAILURE: Final = 41  # the worker is shutting down -> SIP 503


def failed_dial_outcome(cause: int | None) -> tuple[str, str, int]:
    """(disposition, prompt, cause to end the caller with) for a dial that was never answered."""
    if cause == USER_BUSY:
        return "busy", "busy", USER_BUSY
    if cause in (NO_ANSWER, NO_USER_RESPONSE):
        return "no-answer", "no-answer", NO_ANSWER
    if cause == UNALLOCATED:
        return "unknown-extension", "unknown-extension", UNALLOCATED
    # Everything else, a declined call (21, SIP 603) included, is "not available": the caller
    # cannot tell a rejection from a phone that is off, and should not be told.
    return "unavailable", "unavailable", SUBSCRIBER_ABSENT
