"""Faults under load: the worker killed with SIGKILL, and Asterisk restarted."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import sipp
from bench.endurance import leftovers
from bench.metrics import LogWatch
from bench.targets import STASIS, WorkerProcess
from stasis_app.lab import Lab

FALLBACK_LINE = "no Stasis worker connected"


@dataclass(frozen=True)
class WorkerKill:
    rate: float
    attempted: int
    handled: int
    live_at_kill: int
    down_s: float
    reconnect_s: float
    fallback_calls: int
    channels_left: int
    bridges_left: int


@dataclass(frozen=True)
class AsteriskRestart:
    rate: float
    attempted: int
    handled: int
    asterisk_ready_s: float
    serving_after_ready_s: float
    probe_attempted: int
    probe_handled: int
    channels_left: int


def kill_worker(lab: Lab, worker: WorkerProcess, work: Path, *, rate: float) -> WorkerKill:
    """SIGKILL the worker 5 s into a 15 s load, restart it 3 s later; count what happened."""
    watch = LogWatch(lab.paths.log_dir / "messages")
    load = sipp.Sipp(STASIS, work, calls=int(rate * 15), rate=rate)
    time.sleep(5)
    live = worker.api.get("/channels")["channels"]
    worker.kill()
    killed = time.monotonic()
    time.sleep(3)  # new calls in this window must get the dialplan fallback
    worker.start()
    reconnect = worker.wait_connected()
    down = time.monotonic() - killed
    result = load.wait()
    time.sleep(3)
    channels, bridges = leftovers(lab)
    fallback = sum(1 for ln in watch.new_lines() if FALLBACK_LINE in ln)
    return WorkerKill(
        rate, load.calls, result.handled, len(live), down, reconnect, fallback, channels, bridges
    )


def restart_asterisk(
    lab: Lab, worker: WorkerProcess, work: Path, *, rate: float
) -> AsteriskRestart:
    """Restart the lab Asterisk 4 s into a 12 s load; time until the worker serves again."""
    load = sipp.Sipp(STASIS, work, calls=int(rate * 12), rate=rate)
    time.sleep(4)
    before = (worker.api.health() or {}).get("asterisk_started")
    cti = [sys.executable, "-m", "stasis_app", "lab"]
    subprocess.run([*cti, "down"], check=True, capture_output=True)
    started = time.monotonic()
    subprocess.run([*cti, "up"], check=True, capture_output=True)
    ready = time.monotonic()
    serving = worker.wait_connected(timeout=30, new_asterisk_than=before)
    result = load.wait()
    # Proof of service, not just a connected websocket: fresh calls get their digit handled.
    probe = sipp.run(STASIS, work, calls=20, rate=10)
    time.sleep(2)
    channels, _ = leftovers(lab)
    return AsteriskRestart(
        rate,
        load.calls,
        result.handled,
        ready - started,
        serving,
        probe.attempted,
        probe.handled,
        channels,
    )
