"""The Stasis worker owning real calls: IVR, internal calls, echo, and the dialplan fallback.

Every call is made by a real baresip phone registered to the lab Asterisk; the worker runs as
`cti run` in its own process. What a phone *heard* is checked by cross-correlating its recording
with the prompt file Asterisk played (a copy scores ~1.0, other audio far less), and what passed
between two phones by correlating each one's recording with the other's distinct source signal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stasis_app.lab import Lab
from stasis_app.settings import REPO_ROOT
from tests.integration.conftest import PhoneFactory
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import (
    LogCursor,
    Phone,
    normalized_cross_correlation,
    read_wav,
)
from tests.sipkit.audio import RATE
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

SOUNDS = REPO_ROOT / "sounds"
QUICK_IVR = Path(__file__).parent / "ivr" / "quick.toml"
MATCH = 0.6


@pytest.fixture
def quick_worker(lab: Lab, tmp_path: Path) -> Iterator[WorkerProcess]:
    """`cti run` with a short English IVR (2 s timeout, one retry)."""
    proc = WorkerProcess(tmp_path / "worker", ivr_file=QUICK_IVR).start()
    yield proc
    proc.stop()


def heard(phone: Phone, prompt: Path, *, first: float | None = None) -> float:
    """How strongly the phone's latest recording contains ``prompt`` (anywhere in it); with
    ``first``, only the prompt's first seconds (what a caller hears before barging in)."""
    received = read_wav(phone.received_audio())
    wanted = read_wav(prompt)
    if first is not None:
        wanted = wanted[: int(first * RATE)]
    peak, _ = normalized_cross_correlation(wanted, received, max_lag=len(received) / RATE)
    return peak


def hears_other(phone: Phone, source: Path) -> float:
    """How strongly the phone's recording contains the other phone's source signal."""
    peak, _ = normalized_cross_correlation(
        read_wav(source), read_wav(phone.received_audio()), max_lag=20.0
    )
    return peak


def wait_heard_seconds(phone: Phone, seconds: float) -> None:
    wait_until(
        lambda: phone.received_seconds() >= seconds,
        timeout=seconds + 10.0,
        what=f"{seconds} s of audio at {phone.user}",
    )


# ------------------------------------------------------------------------------------ IVR 500
def test_ivr_welcome_then_2_rings_support_and_audio_flows_both_ways(
    worker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """1000 calls 500 and hears the Korean welcome; pressing 2 queues it for support, whose
    only registered member 2000 rings and answers; then each phone hears the other's audio."""
    callee = phones("2000", auto_answer=True)
    caller = phones("1000")
    caller.call("500")
    wait_heard_seconds(caller, 2.5)

    caller.send_dtmf("2")  # barge-in; 2 is also a possible first digit of an extension
    callee.wait_event("CALL_ESTABLISHED", timeout=15.0)
    wait_heard_seconds(callee, 4.0)
    caller.hangup()
    caller.wait_event("CALL_CLOSED")
    callee.wait_event("CALL_CLOSED", timeout=10.0)

    # The key cut the welcome short, and the queue's agent answers at once: only what played
    # before the key can be in the recording.
    assert heard(caller, SOUNDS / "ko" / "welcome.wav", first=2.0) > MATCH
    assert hears_other(callee, signals["1000"]) > MATCH, "2000 did not hear 1000"
    assert hears_other(caller, signals["2000"]) > MATCH, "1000 did not hear 2000"
    (summary,) = worker.wait_summary()
    assert summary["disposition"] == "answered"
    assert summary["ivr_path"] == ["main"]


def test_ivr_direct_dial_of_an_extension(worker: WorkerProcess, phones: PhoneFactory) -> None:
    """Keying a whole 4-digit extension at the menu rings that extension."""
    callee = phones("2000", auto_answer=True)
    caller = phones("1000")
    caller.call("500")
    wait_heard_seconds(caller, 1.0)

    caller.send_dtmf("2000")

    callee.wait_event("CALL_ESTABLISHED", timeout=15.0)
    callee.hangup()
    caller.wait_event("CALL_CLOSED", timeout=10.0)
    (summary,) = worker.wait_summary()
    assert summary["disposition"] == "answered"


def test_invalid_key_plays_the_invalid_prompt(
    quick_worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """A key that is no option gets the invalid-input prompt (English IVR: English prompt)."""
    caller = phones("1000")
    caller.call("500")
    wait_heard_seconds(caller, 1.0)

    caller.send_dtmf("*")
    wait_heard_seconds(caller, 6.0)
    caller.hangup()
    caller.wait_event("CALL_CLOSED")

    assert heard(caller, SOUNDS / "en" / "invalid.wav") > MATCH


def test_silence_times_out_retries_then_says_goodbye(
    quick_worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """With no key pressed the menu times out, plays the timeout prompt and the menu again,
    and after the last retry says goodbye and hangs up by itself."""
    caller = phones("1000")
    caller.call("500")

    caller.wait_event("CALL_CLOSED", timeout=40.0)

    assert heard(caller, SOUNDS / "en" / "timeout.wav") > MATCH
    assert heard(caller, SOUNDS / "en" / "goodbye.wav") > MATCH
    (summary,) = quick_worker.wait_summary()
    assert summary["disposition"] == "ivr-hangup"


# ------------------------------------------------------------------------------ internal calls
def test_internal_call_is_bridged_with_audio_both_ways(
    worker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """1000 dials 2000 directly: 2000 rings, answers, and both hear each other; when 2000
    hangs up, 1000's call ends too."""
    callee = phones("2000", auto_answer=True)
    caller = phones("1000")
    caller.call("2000", timeout=15.0)
    callee.wait_event("CALL_ESTABLISHED")
    wait_heard_seconds(caller, 4.0)
    wait_heard_seconds(callee, 4.0)

    callee.hangup()

    caller.wait_event("CALL_CLOSED", timeout=10.0)
    assert hears_other(callee, signals["1000"]) > MATCH
    assert hears_other(caller, signals["2000"]) > MATCH
    (summary,) = worker.wait_summary()
    assert summary["disposition"] == "answered"


def test_unregistered_extension_plays_unavailable(
    worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """Calling 2000 while no phone is registered as 2000 plays the unavailable prompt and
    ends the call."""
    caller = phones("1000")
    caller.call("2000")

    caller.wait_event("CALL_CLOSED", timeout=20.0)

    assert heard(caller, SOUNDS / "ko" / "unavailable.wav") > MATCH
    (summary,) = worker.wait_summary()
    assert summary["disposition"] == "unavailable"
    assert summary["cause"] == 20


def test_echo_through_the_worker(
    worker: WorkerProcess, phones: PhoneFactory, signals: dict[str, Path]
) -> None:
    """7777 with the worker connected: the worker answers and records it, the audio echoes."""
    caller = phones("1000")
    caller.call("7777")
    wait_heard_seconds(caller, 4.0)
    caller.hangup()
    caller.wait_event("CALL_CLOSED")

    assert hears_other(caller, signals["1000"]) > MATCH
    (summary,) = worker.wait_summary()
    assert summary["disposition"] == "echo"


# ----------------------------------------------------------------------------- no worker
def test_without_worker_500_gets_the_fallback_message(lab: Lab, phones: PhoneFactory) -> None:
    """With no worker connected, Stasis() fails and the dialplan plays "service unavailable"
    and hangs up, instead of leaving the caller in silence."""
    log = LogCursor(lab.paths.log_dir / "messages")
    caller = phones("1000")
    caller.call("500")

    caller.wait_event("CALL_CLOSED", timeout=20.0)

    assert heard(caller, SOUNDS / "ko" / "service-unavailable.wav") > MATCH
    assert log.lines("no Stasis worker connected"), "the dialplan did not take its fallback"
    hangups = log.lines("@cti-fallback:")
    assert any('Hangup("' in ln and '"41")' in ln for ln in hangups), log.text()


def test_busy_extension_plays_busy(worker: WorkerProcess, phones: PhoneFactory) -> None:
    """2000 rejects the call (486 Busy Here): 1000 hears the busy prompt; the call ends with
    cause 17 (user busy)."""
    callee = phones("2000")
    caller = phones("1000")
    caller.dial("2000")
    callee.wait_event("CALL_INCOMING", timeout=10.0)

    callee.hangup()  # rejecting a ringing call sends 486

    caller.wait_event("CALL_CLOSED", timeout=20.0)
    assert heard(caller, SOUNDS / "ko" / "busy.wav") > MATCH
    (summary,) = worker.wait_summary()
    assert (summary["disposition"], summary["cause"]) == ("busy", 17)


def test_unanswered_extension_plays_no_answer(
    lab: Lab, tmp_path: Path, phones: PhoneFactory
) -> None:
    """2000 rings and nobody answers: after the ring timeout 1000 hears the no-answer prompt;
    the call ends with cause 19 and 2000 stops ringing."""
    worker = WorkerProcess(tmp_path / "worker", extra_env={"CTI_RING_TIMEOUT": "3"}).start()
    try:
        callee = phones("2000")
        caller = phones("1000")
        caller.dial("2000")
        callee.wait_event("CALL_INCOMING", timeout=10.0)

        caller.wait_event("CALL_CLOSED", timeout=25.0)
        callee.wait_event("CALL_CLOSED", timeout=5.0)
        assert heard(caller, SOUNDS / "ko" / "no-answer.wav") > MATCH
        (summary,) = worker.wait_summary()
        assert (summary["disposition"], summary["cause"]) == ("no-answer", 19)
    finally:
        worker.stop()
