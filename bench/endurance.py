"""/channels under N live calls, and the soak: what is left behind and what grew."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from bench import sipp
from bench.metrics import ChannelsProbe, pct, rss_kb
from bench.ramp import Step, Stepper
from bench.targets import STASIS, WorkerProcess
from stasis_app.lab import Lab


@dataclass(frozen=True)
class ChannelsLatency:
    live: int
    requests: int
    peak_live: int
    p50: float | None
    p99: float | None
    worst: float | None
    errors: int


def channels_under_load(worker: WorkerProcess, work: Path, live: int) -> ChannelsLatency:
    """Hold ``live`` IVR calls open and time GET /channels while all of them are up."""
    rate = min(50.0, live / 2)
    # Every call holds until the last one is up, then 6 s more of full load.
    hold_ms = int(live / rate * 1000 + 6000)
    probe = ChannelsProbe(worker.api)
    try:
        sipp.run(STASIS, work, calls=live, rate=rate, hold_ms=hold_ms)
    finally:
        probe.stop()
    # A call that failed to set up would keep the count below N forever: 98 % of N counts.
    floor = int(live * 0.98)
    times = probe.at_least(floor)
    return ChannelsLatency(
        live=live,
        requests=len(times),
        peak_live=max((n for n, _ in probe.samples), default=0),
        p50=pct(times, 0.5),
        p99=pct(times, 0.99),
        worst=max(times, default=None),
        errors=probe.errors,
    )


@dataclass(frozen=True)
class Soak:
    step: Step
    seconds: float
    rss_before_kb: int
    rss_after_kb: int
    channels_left: int
    bridges_left: int
    calls_incomplete: int
    calls_recorded: int

    @property
    def rss_growth(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / self.rss_before_kb


def leftovers(lab: Lab) -> tuple[int, int]:
    """(active channels, bridges) as Asterisk reports them."""
    count = lab.cli("core show channels count")
    found = re.search(r"(\d+) active channels?", count)
    channels = int(found.group(1)) if found else -1
    lines = [ln for ln in lab.cli("bridge show all").splitlines() if ln.strip()]
    # The first line is the column header ("Bridge-ID ... Chans ...").
    bridges = len([ln for ln in lines if not ln.startswith("Bridge-ID")])
    return channels, bridges


def settle(lab: Lab, *, within: float = 15.0) -> int:
    """Let the lab empty itself after a phase; hang up whatever is left after ``within`` s.

    An overloaded step leaves channels behind whose SIPp side gave up (only the dialplan's
    backstop would end them): the next phase must not measure them. Returns how many channels
    had to be hung up by force (reported, since that is a finding in itself).
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if leftovers(lab)[0] == 0:
            return 0
        time.sleep(0.5)
    stuck = leftovers(lab)[0]
    lab.cli("channel request hangup all")
    end = time.monotonic() + 15.0
    while leftovers(lab)[0] > 0 and time.monotonic() < end:
        time.sleep(0.5)
    return stuck


def soak(lab: Lab, worker: WorkerProcess, work: Path, *, rate: float, seconds: float) -> Soak:
    rss0 = rss_kb(worker.pid)
    t0 = time.time()
    step = Stepper(lab, worker, work).step(STASIS, rate, seconds)
    time.sleep(3)  # hangups still in flight when SIPp exits
    t1 = time.time()
    channels, bridges = leftovers(lab)
    counts = worker.event_counts(t0, t1)
    return Soak(
        step=step,
        seconds=seconds,
        rss_before_kb=rss0,
        rss_after_kb=rss_kb(worker.pid),
        channels_left=channels,
        bridges_left=bridges,
        calls_incomplete=worker.calls_incomplete(t0, t1),
        calls_recorded=counts.get("call-ended", 0),
    )
