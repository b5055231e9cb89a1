"""The linphonec driver reads call states from what linphonec 5.1 prints (lines as captured on the
lab, prompts included)."""

from __future__ import annotations

import pytest

from tests.sipkit.linphone import CallState, parse_line

PEER = '"Extension 2000" <sip:2000@192.0.2.2>'


@pytest.mark.parametrize(
    ("line", "state", "call", "peer", "detail"),
    [
        (f"Receiving new incoming call from {PEER}, assigned id 1", "incoming", 1, PEER, ""),
        (f"linphonec> Call 1 with {PEER} connected.", "connected", 1, PEER, ""),
        (
            f"Media streams established with {PEER} for call 1 (audio).",
            "streams-running",
            1,
            PEER,
            "audio",
        ),
        (f"Call 1 with {PEER} is now paused.", "paused", 1, PEER, ""),
        (
            "Establishing call id to sip:1001@127.0.0.1, assigned id 2",
            "outgoing",
            2,
            "sip:1001@127.0.0.1",
            "",
        ),
        ("Call 2 to sip:1001@127.0.0.1 ringing.", "ringing", 2, "sip:1001@127.0.0.1", ""),
        (
            "linphonec> Call 2 with sip:1001@127.0.0.1 ended (Unknown error).",
            "ended",
            2,
            "sip:1001@127.0.0.1",
            "Unknown error",
        ),
    ],
)
def test_call_state_lines(line: str, state: str, call: int, peer: str, detail: str) -> None:
    (event,) = parse_line(line, 1.5)
    assert (event.state, event.call, event.peer, event.detail) == (state, call, peer, detail)
    assert event.received_at == 1.5


def test_messages_sharing_a_line_are_all_read() -> None:
    """linphonec prints its prompt, and some messages, without a newline."""
    line = (
        "Performing attended transfer of call 1 to call 2linphonec> The distant endpoint "
        f"{PEER} of call 1 has been transfered, you can safely close the call."
    )
    assert [(e.state, e.call) for e in parse_line(line, 0.0)] == [(CallState.TRANSFERRED, 1)]


def test_other_output_is_not_an_event() -> None:
    for line in (
        "2026-12-04 16:51:03:573 liblinphone-error-Could not find a suitable soundcard",
        "registered, identity=sip:1000@127.0.0.1 duration=300",
        "linphonec> ",
        "1  | sip:2000@192.0.2.2                  | StreamsRunning  |",
    ):
        assert parse_line(line, 0.0) == []
