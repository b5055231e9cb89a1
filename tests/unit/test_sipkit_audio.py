"""The audio checks the echo and IVR tests rely on: they must tell a copy from anything else."""

from __future__ import annotations

import random
from array import array
from pathlib import Path

import pytest

from tests.sipkit.audio import (
    RATE,
    AudioFormatError,
    normalized_cross_correlation,
    padded,
    read_wav,
    rms,
    silence,
    tone_sequence,
    write_wav,
)

# Unrelated audio scores well below this; the echo test uses the same threshold.
MATCH = 0.6


def _mu_law_round_trip(samples: array[int]) -> array[int]:
    """What G.711 mu-law does to a signal: 8-bit logarithmic quantisation."""
    out = array("h")
    for s in samples:
        sign = -1 if s < 0 else 1
        magnitude = min(abs(s), 32635) + 132
        exponent = magnitude.bit_length() - 8
        mantissa = (magnitude >> (exponent + 3)) & 0x0F
        decoded = ((mantissa << 3) + 0x84) << exponent
        out.append(sign * (decoded - 132))
    return out


@pytest.fixture(scope="module")
def signal() -> array[int]:
    return tone_sequence(4.0, seed=7)


def test_identical_signals_correlate_fully(signal: array[int]) -> None:
    """A signal compared with itself scores 1.0 at lag 0."""
    peak, lag = normalized_cross_correlation(signal, signal)
    assert peak == pytest.approx(1.0, abs=1e-6)
    assert lag == 0.0


def test_delayed_copy_is_found_with_its_delay(signal: array[int]) -> None:
    """A copy arriving 1.234 s late, with silence around it, scores ~1.0 at lag +1.234 s."""
    received = padded(signal, before=1.234, after=0.5)
    peak, lag = normalized_cross_correlation(signal, received)
    assert peak == pytest.approx(1.0, abs=1e-6)
    assert lag == pytest.approx(1.234, abs=1 / RATE)


def test_copy_that_starts_late_has_a_negative_lag(signal: array[int]) -> None:
    """A recording that missed the first 0.3 s still matches, at lag -0.3 s."""
    received = signal[round(0.3 * RATE) :]
    peak, lag = normalized_cross_correlation(signal, received)
    assert peak == pytest.approx(1.0, abs=1e-6)
    assert lag == pytest.approx(-0.3, abs=1 / RATE)


@pytest.mark.parametrize("start", [5001, 5002, 5003, 20002, 20003])
def test_excerpt_at_any_sample_offset_is_found(start: int) -> None:
    """4 s recorded from the middle of a 30 s signal, searched over the whole signal as the
    transfer tests do: an offset that is not whole decimation blocks (linphone's recordings
    start anywhere) is found too. The lag search once scored 5002 and 20002 0.17 and 0.07."""
    sent = tone_sequence(30.0, seed=22)
    peak, lag = normalized_cross_correlation(sent, sent[start : start + 4 * RATE], max_lag=30.0)
    assert peak == pytest.approx(1.0, abs=1e-6)
    assert lag == -start / RATE


def test_g711_quantised_noisy_copy_still_matches(signal: array[int]) -> None:
    """mu-law quantisation, a 0.5x gain and some noise keep a copy far above the threshold."""
    rng = random.Random(3)  # noqa: S311 - reproducible noise, not a secret
    quiet = array("h", (s // 2 + rng.randint(-300, 300) for s in signal))
    received = padded(_mu_law_round_trip(quiet), before=0.2)
    peak, lag = normalized_cross_correlation(signal, received)
    assert peak > 0.95
    assert lag == pytest.approx(0.2, abs=1 / RATE)


def test_different_signal_scores_low(signal: array[int]) -> None:
    """Unrelated audio of the same kind (another tone sequence) scores far below MATCH."""
    peak, _ = normalized_cross_correlation(signal, tone_sequence(4.0, seed=8))
    assert peak < 0.3


def test_noise_scores_low(signal: array[int]) -> None:
    """White noise is not an echo."""
    rng = random.Random(5)  # noqa: S311 - reproducible noise, not a secret
    noise = array("h", (rng.randint(-8000, 8000) for _ in range(len(signal))))
    peak, _ = normalized_cross_correlation(signal, noise)
    assert peak < 0.2


def test_silence_scores_zero(signal: array[int]) -> None:
    """Silence back (a dead echo) scores 0, whichever side it is on."""
    assert normalized_cross_correlation(signal, silence(4.0)) == (0.0, 0.0)
    assert normalized_cross_correlation(silence(4.0), signal) == (0.0, 0.0)
    assert normalized_cross_correlation(signal, array("h")) == (0.0, 0.0)


def test_delay_beyond_max_lag_is_not_found(signal: array[int]) -> None:
    """A copy 3 s late is outside the default 2.5 s search window: no match is claimed."""
    peak, _ = normalized_cross_correlation(signal, padded(signal, before=3.0))
    assert peak < MATCH


def test_rms_of_silence_and_full_scale_square() -> None:
    """rms is 0 for silence and 1.0 for a full-scale square wave."""
    assert rms(silence(1.0)) == 0.0
    assert rms(array("h")) == 0.0
    assert rms(array("h", [32767, -32767] * 100)) == pytest.approx(1.0)


def test_tone_sequence_is_audible_and_deterministic() -> None:
    """The test signal has a useful level, the right length, and the same seed gives it again."""
    a = tone_sequence(2.0, seed=1)
    assert len(a) == 2 * RATE
    assert 0.1 < rms(a) < 0.5
    assert a == tone_sequence(2.0, seed=1)
    assert a != tone_sequence(2.0, seed=2)


def test_wav_round_trip(tmp_path: Path, signal: array[int]) -> None:
    """write_wav then read_wav gives the samples back."""
    path = write_wav(tmp_path / "x.wav", signal)
    assert read_wav(path) == signal


def test_wav_with_unfinished_header_is_read_to_the_end(tmp_path: Path) -> None:
    """A recording still open (data size 0 in its header) is read up to the end of the file."""
    path = write_wav(tmp_path / "open.wav", array("h", [1, 2, 3]))
    raw = bytearray(path.read_bytes())
    raw[40:44] = bytes(4)
    path.write_bytes(bytes(raw))
    assert read_wav(path) == array("h", [1, 2, 3])


def test_wav_of_the_wrong_format_is_refused(tmp_path: Path) -> None:
    """A 16 kHz file is named as such instead of being misread."""
    path = write_wav(tmp_path / "wide.wav", array("h", [0] * 10))
    raw = bytearray(path.read_bytes())
    raw[24:28] = (16000).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(AudioFormatError, match="16000"):
        read_wav(path)
