"""Echo test (extension 7777): what a phone sends comes back to it.

A baresip phone registered as 1000 calls 7777 and sends speech; its recording of what it
received is compared with what it sent by normalised cross-correlation. A copy scores ~1.0,
unrelated audio ~0.3 and silence 0 (tests/unit/test_sipkit_audio.py), so "> 0.6 at a lag under
a second" means the echo really carried this audio back, not just packets.

With no worker connected 7777 reaches dialplan Echo() (the fallback); once the worker echoes
the call itself this test must pass unchanged.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from pathlib import Path

import pytest

from stasis_app.lab import Lab
from tests.sipkit import (
    RATE,
    Phone,
    channel_count,
    normalized_cross_correlation,
    read_wav,
    rms,
    speech,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

ECHO = "7777"
SPEECH = "One two three four five. The quick brown fox jumps over the lazy dog."
OTHER_SPEECH = "Please hold while we connect your call to the next available agent."
MATCH = 0.6
MAX_LAG = 1.0  # s, relative to the start of the recording (see the test)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5 s of speech, 8 kHz mono s16."""
    return speech(SPEECH, tmp_path_factory.mktemp("echo") / "speech.wav")


@pytest.fixture(scope="module")
def other_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Different speech, the negative control: it must not match what the echo returns."""
    return speech(OTHER_SPEECH, tmp_path_factory.mktemp("echo") / "other.wav")


@pytest.fixture
def phone(lab: Lab, spoken: Path, tmp_path: Path) -> Iterator[Phone]:
    """A phone registered as 1000 that sends the speech into every call."""
    with Phone("1000", "test1000", workdir=tmp_path, audio_source=spoken) as p:
        p.wait_registered()
        yield p
    wait_until(lambda: channel_count(lab) == 0, timeout=10.0, what="no channel left")


def test_echo_returns_the_audio_sent(
    lab: Lab, phone: Phone, spoken: Path, other_speech: Path
) -> None:
    """The call to 7777 is answered and the speech sent comes back: the received audio
    correlates with it above 0.6 at a plausible lag (and with other speech, below 0.6)."""
    sent = read_wav(spoken)
    phone.call(ECHO)
    assert channel_count(lab) >= 1  # the worker may add its own (snoop, bridge) later

    wanted = len(sent) / RATE + 0.5
    wait_until(lambda: phone.received_seconds() >= wanted, timeout=wanted + 10.0, what="echo")
    phone.hangup()
    phone.wait_event("CALL_CLOSED")

    received: array[int] = read_wav(phone.received_audio())
    peak, lag = normalized_cross_correlation(sent, received)
    # The recording starts with the first packet received, which may already be an echo of the
    # first 100-200 ms: the lag is small and may be negative; it is not the round-trip time.
    assert rms(received) > 0.01, "the echo is silent"
    assert peak > MATCH, f"received audio is not the speech sent (peak {peak:.2f}, lag {lag} s)"
    assert abs(lag) < MAX_LAG
    unrelated, _ = normalized_cross_correlation(read_wav(other_speech), received)
    assert unrelated < MATCH, f"the threshold does not tell speech apart ({unrelated:.2f})"


def test_echo_returns_dtmf(phone: Phone) -> None:
    """An RFC 4733 digit sent on the echo call comes back as the same digit."""
    phone.call(ECHO)

    phone.send_dtmf("5")

    assert phone.wait_event("CALL_DTMF_START", timeout=5.0).param == "5"
    phone.hangup()
    phone.wait_event("CALL_CLOSED")
