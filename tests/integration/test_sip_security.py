"""Unauthenticated calls never reach the dialplan (pjsip.conf: no anonymous endpoint).

Proved from Asterisk's side: the security log records the challenge for the INVITE's Call-ID,
the messages log (verbose 3, which shows every dialplan step) gains no ``Executing [500@`` line,
and no channel is created. A control test shows that an authenticated call to 500 does log
``Executing [500@from-internal``, so the absence of that line means something.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stasis_app.lab import Lab
from tests.sipkit import LogCursor, Phone, channel_count, run_sipp
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

DIALPLAN_500 = "Executing [500@from-internal"


@pytest.fixture
def messages(lab: Lab) -> LogCursor:
    """Asterisk's messages log from the start of the test on."""
    return LogCursor(lab.paths.log_dir / "messages")


@pytest.fixture
def security(lab: Lab) -> LogCursor:
    """Asterisk's security log from the start of the test on."""
    return LogCursor(lab.paths.log_dir / "security")


@pytest.mark.parametrize("caller", ["1000", "anonymous"])
def test_invite_without_credentials_is_challenged_and_never_reaches_dialplan(
    lab: Lab, messages: LogCursor, security: LogCursor, caller: str
) -> None:
    """An INVITE to 500 without credentials (from a known user or not) gets a 401 challenge and
    nothing else; Asterisk logs the challenge, runs no dialplan and creates no channel."""
    result = run_sipp("invite-noauth", service="500", keys={"caller": caller})

    assert result.ok, result.describe()
    assert [code for code in result.received_status_codes() if code != 100] == [401]
    (call_id,) = result.call_ids()
    challenge = wait_until(
        lambda: [
            line
            for line in security.lines(f'SessionID="{call_id}"')
            if 'SecurityEvent="ChallengeSent"' in line
        ],
        timeout=5.0,
        what=f"ChallengeSent for {call_id} in the security log",
    )
    assert 'Service="PJSIP"' in challenge[0]
    assert messages.lines(DIALPLAN_500) == []
    assert messages.lines(call_id) == []
    assert channel_count(lab) == 0


def test_authenticated_invite_reaches_dialplan(
    lab: Lab, messages: LogCursor, tmp_path: Path
) -> None:
    """Control for the test above: a registered phone's call to 500 does log the dialplan line
    it looks for (the fallback answers, plays "service unavailable" and hangs up)."""
    with Phone("1000", "test1000", workdir=tmp_path) as phone:
        phone.wait_registered()
        phone.dial("500")
        wait_until(lambda: messages.lines(DIALPLAN_500), timeout=10.0, what=DIALPLAN_500)
        phone.hangup()
        phone.wait_event("CALL_CLOSED")
    wait_until(lambda: channel_count(lab) == 0, timeout=10.0, what="no channel left")
