"""Telephone audio for tests: 8 kHz mono signed 16-bit WAV files, test signals, comparisons.

Pure Python (``array``, ``wave``), no numpy. A signal is an ``array('h')`` of samples at
:data:`RATE`. The question the tests ask is "does what came back contain what was sent?", which
:func:`normalized_cross_correlation` answers: a copy (delayed, G.711-quantised, cut short) scores
about 1.0, unrelated audio about 0.3 or less, silence 0.

The cross-correlation is computed with an FFT on a decimated copy of both signals (to find the
lag cheaply) and then exactly, at full rate, around that lag. Decimating keeps one block phase
of the received signal, and a lag two samples off it cancels the block means' correlation: the
search is done from two phases, half a block apart.
"""

from __future__ import annotations

import cmath
import math
import random
import shutil
import struct
import subprocess
import tempfile
from array import array
from itertools import accumulate
from pathlib import Path

RATE = 8000
"""Samples per second of every signal here (narrow-band telephony, G.711)."""

Signal = array  # array('h'): mono signed 16-bit samples at RATE

_FULL_SCALE = 32767
_DECIMATION = 4
_MIN_OVERLAP_SECONDS = 0.5
_CLEAR_COPY = 0.9  # a copy through G.711 scores ~0.99, unrelated audio ~0.3


class AudioFormatError(ValueError):
    """A WAV file is not 8 kHz mono signed 16-bit PCM (the file and what it is are named)."""


# ------------------------------------------------------------------------------------ WAV files
def read_wav(path: Path) -> array[int]:
    """Samples of an 8 kHz mono s16 WAV file.

    Tolerates a header whose data size was never filled in (a recorder that has not closed the
    file yet writes 0): the samples then run to the end of the file.
    """
    raw = path.read_bytes()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise AudioFormatError(f"{path}: not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(raw):
        chunk, size = struct.unpack_from("<4sI", raw, pos)
        body = pos + 8
        if chunk == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", raw, body)
            fmt = (tag, channels, rate, bits)
        elif chunk == b"data":
            if fmt != (1, 1, RATE, 16):
                raise AudioFormatError(
                    f"{path}: want PCM mono {RATE} Hz 16-bit, got (format tag, channels, rate, "
                    f"bits) = {fmt}"
                )
            end = body + size if 0 < size <= len(raw) - body else len(raw)
            samples = array("h")
            samples.frombytes(raw[body : end - (end - body) % 2])
            return samples
        pos = body + size + (size % 2)
    raise AudioFormatError(f"{path}: no data chunk")


def write_wav(path: Path, samples: array[int]) -> Path:
    """Write ``samples`` as an 8 kHz mono s16 WAV file; return ``path``."""
    data = samples.tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        RATE,
        RATE * 2,
        2,
        16,
        b"data",
        len(data),
    )
    path.write_bytes(header + data)
    return path


def duration(samples: array[int]) -> float:
    """Length of a signal in seconds."""
    return len(samples) / RATE


def silence(seconds: float) -> array[int]:
    """``seconds`` of digital silence."""
    return array("h", bytes(2 * round(seconds * RATE)))


def padded(samples: array[int], *, before: float = 0.0, after: float = 0.0) -> array[int]:
    """``samples`` with silence added before and after (a phone hangs up when its file ends)."""
    return silence(before) + samples + silence(after)


# --------------------------------------------------------------------------------- test signals
def tone_sequence(seconds: float, *, seed: int = 1, level: float = 0.5) -> array[int]:
    """A distinctive, non-periodic signal: 60 ms tone bursts at pseudo-random pitches.

    Frequencies lie in 300-3400 Hz (the telephone band); each burst has a short raised-cosine
    edge so G.711 and jitter buffers pass it unchanged. Different seeds give unrelated signals.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible signal, not a secret
    burst = round(0.06 * RATE)
    edge = round(0.005 * RATE)
    out = array("h")
    total = round(seconds * RATE)
    while len(out) < total:
        freq = rng.uniform(300.0, 3400.0)
        phase = rng.uniform(0.0, 2 * math.pi)
        step = 2 * math.pi * freq / RATE
        for n in range(burst):
            ramp = min(1.0, n / edge, (burst - 1 - n) / edge)
            gain = 0.5 - 0.5 * math.cos(math.pi * ramp)
            out.append(round(level * _FULL_SCALE * gain * math.sin(phase + step * n)))
    del out[total:]
    return out


def speech(text: str, path: Path, *, voice: str = "en", words_per_minute: int = 150) -> Path:
    """Speak ``text`` with espeak-ng into an 8 kHz mono s16 WAV at ``path`` (sox resamples)."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} is needed to make speech test audio")
    with tempfile.TemporaryDirectory(prefix="sipkit-speech-") as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed", str(path)],
            check=True,
            capture_output=True,
        )
    return path


# ----------------------------------------------------------------------------------- measuring
def rms(samples: array[int]) -> float:
    """Root-mean-square level relative to full scale (0.0 silence .. ~0.707 full-scale sine)."""
    if not samples:
        return 0.0
    return math.sqrt(math.fsum(s * s for s in samples) / len(samples)) / _FULL_SCALE


def normalized_cross_correlation(
    sent: array[int], received: array[int], *, max_lag: float = 2.5
) -> tuple[float, float]:
    """How well ``received`` contains ``sent``, and how late: ``(peak, lag_seconds)``.

    ``peak`` is the largest normalised correlation (cosine similarity of the overlapping parts)
    over delays of ``-max_lag .. +max_lag`` seconds; a positive lag means ``received`` is late.
    Only delays where the two overlap by at least 0.5 s count, so a short chance match cannot
    score. A copy scores ~1.0, unrelated audio low, silence on either side 0.0.
    """
    if not sent or not received:
        return 0.0, 0.0
    max_samples = round(max_lag * RATE)
    min_overlap = min(len(sent), len(received), round(_MIN_OVERLAP_SECONDS * RATE))
    coarse = _Coarse(_decimate(sent), len(received) // _DECIMATION)
    best, best_lag = 0.0, 0
    # Block means average away most above 1.5 kHz, so a lag one sample off a block still finds
    # the right block; two off is where the correlation of the lower tones turns to nothing.
    for phase in range(0, _DECIMATION, 2):
        found = coarse.best_lag(
            _decimate(received[phase:]),
            max_samples // _DECIMATION,
            max(1, min_overlap // _DECIMATION),
        )
        if found is None:
            continue
        centre = found * _DECIMATION + phase
        for lag in range(centre - 2 * _DECIMATION, centre + 2 * _DECIMATION + 1):
            if abs(lag) > max_samples:
                continue
            score = _ncc_at(sent, received, lag, min_overlap)
            if score > best:
                best, best_lag = score, lag
        if best >= _CLEAR_COPY:
            break  # found (a copy in whole 20 ms frames, e.g. baresip's, at phase 0)
    return best, best_lag / RATE


def _ncc_at(sent: array[int], received: array[int], lag: int, min_overlap: int) -> float:
    """Cosine similarity of sent[n] and received[n + lag] where both exist."""
    start = max(0, -lag)
    stop = min(len(sent), len(received) - lag)
    if stop - start < min_overlap:
        return 0.0
    a = sent[start:stop]
    b = received[start + lag : stop + lag]
    energy = math.fsum(x * x for x in a) * math.fsum(y * y for y in b)
    if energy <= 0.0:
        return 0.0
    return math.fsum(map(int.__mul__, a, b)) / math.sqrt(energy)


def _decimate(samples: array[int]) -> list[float]:
    """Block means of _DECIMATION samples: a crude low-pass, enough to locate the lag."""
    k = _DECIMATION
    return [math.fsum(samples[i : i + k]) / k for i in range(0, len(samples) - k + 1, k)]


class _Coarse:
    """Lag search on decimated signals against one ``sent`` (its spectrum is computed once)."""

    def __init__(self, sent: list[float], received_length: int) -> None:
        self.sent = sent
        self.size = 1 << (len(sent) + received_length).bit_length()
        spectrum = _fft([complex(x) for x in sent] + [0j] * (self.size - len(sent)))
        self.spectrum = [x.conjugate() for x in spectrum]
        self.energy = [0.0, *accumulate(x * x for x in sent)]

    def best_lag(self, received: list[float], max_lag: int, min_overlap: int) -> int | None:
        """Lag (in decimated samples) maximising the overlap-normalised correlation."""
        a, b, size = self.sent, received, self.size
        if not a or not b:
            return None
        fb = _fft([complex(y) for y in b] + [0j] * (size - len(b)))
        # corr[lag] = sum_n a[n] * b[n + lag]  ==  IFFT(conj(FA) * FB)[lag]
        corr = _fft([x * y for x, y in zip(self.spectrum, fb, strict=True)], inverse=True)
        energy_a = self.energy
        energy_b = [0.0, *accumulate(y * y for y in b)]
        best: tuple[float, int] | None = None
        for lag in range(-max_lag, max_lag + 1):
            start, stop = max(0, -lag), min(len(a), len(b) - lag)
            if stop - start < min_overlap:
                continue
            energy = (energy_a[stop] - energy_a[start]) * (
                energy_b[stop + lag] - energy_b[start + lag]
            )
            if energy <= 0.0:
                continue
            score = corr[lag % size].real / size / math.sqrt(energy)
            if best is None or score > best[0]:
                best = (score, lag)
        return None if best is None else best[1]


def _fft(values: list[complex], *, inverse: bool = False) -> list[complex]:
    """In-place iterative radix-2 FFT (unnormalised); ``len(values)`` must be a power of two."""
    n = len(values)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            values[i], values[j] = values[j], values[i]
    sign = 1.0 if inverse else -1.0
    length = 2
    while length <= n:
        half = length // 2
        angle = sign * 2 * math.pi / length
        twiddles = [cmath.exp(complex(0.0, angle * k)) for k in range(half)]
        for start in range(0, n, length):
            for k in range(half):
                u = values[start + k]
                v = values[start + k + half] * twiddles[k]
                values[start + k] = u + v
                values[start + k + half] = u - v
        length <<= 1
    return values
