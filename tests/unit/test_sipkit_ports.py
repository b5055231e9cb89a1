"""Ports for the test SIP peers: a port picked for a process that has not bound it yet is not
handed out again (a baresip once got its control port equal to its own SIP port)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from tests.sipkit import ports


class _Picks:
    """Stands in for random.SystemRandom: returns the given ports in order."""

    def __init__(self, picks: Iterator[int]) -> None:
        self._picks = picks

    def randrange(self, _low: int, _high: int) -> int:
        return next(self._picks)


def test_free_port_skips_the_ports_to_avoid(monkeypatch: pytest.MonkeyPatch) -> None:
    first = ports.free_port(span=2)
    second = ports.free_port(avoid=(first, first + 1))
    picks = iter([first + 1, first, second])
    monkeypatch.setattr(random, "SystemRandom", lambda: _Picks(picks))

    assert ports.free_port(udp=False, avoid=(first, first + 1)) == second


def test_a_span_overlapping_a_port_to_avoid_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = ports.free_port()
    other = ports.free_port(span=2, avoid=(taken - 1, taken))
    picks = iter([taken - 1, other])
    monkeypatch.setattr(random, "SystemRandom", lambda: _Picks(picks))

    assert ports.free_port(span=2, avoid=(taken,)) == other
