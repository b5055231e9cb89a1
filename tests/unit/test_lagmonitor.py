"""The loop-lag figures /health reports: worst since start, and p99/max of the recent window."""

from __future__ import annotations

from stasis_app.lagmonitor import LoopLag, LoopLagMonitor


def test_the_window_forgets_and_the_worst_stays() -> None:
    monitor = LoopLagMonitor(window=100)
    monitor.record(87.04)
    for _ in range(100):
        monitor.record(1.26)
    assert monitor.snapshot() == LoopLag(max_ms=87.0, recent_p99_ms=1.3, recent_max_ms=1.3)


def test_p99_of_the_window() -> None:
    monitor = LoopLagMonitor(window=200)
    for lag in range(200):
        monitor.record(float(lag))
    assert monitor.snapshot().recent_p99_ms == 198.0


def test_nothing_recorded_reads_as_zero() -> None:
    assert LoopLagMonitor().snapshot() == LoopLag(0.0, 0.0, 0.0)
