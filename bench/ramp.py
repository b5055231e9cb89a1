"""One ramp step: SIPp at a fixed rate against one target, with everything measured around it."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path

from bench import sipp
from bench.metrics import (
    AsteriskThreads,
    LogWatch,
    all_warnings,
    cpu_seconds,
    pct,
    session_limit_warnings,
    taskprocessor_warnings,
)
from bench.node_peer import NodePeer
from bench.sipp import Target
from bench.targets import WorkerProcess
from stasis_app.lab import Lab

SETTLE = 1.5  # s after SIPp exits: the last hangups and their events reach the store


@dataclass(frozen=True)
class Step:
    target: str
    rate: float
    attempted: int
    answered: int
    handled: int
    invite_p50: float | None
    invite_p99: float | None
    bye_p50: float | None
    bye_p99: float | None
    worker_cpu_ms: float
    asterisk_cpu_ms: float
    d2p_p50: float | None
    d2p_p99: float | None
    loop_lag_ms: float | None
    tp_warnings: int
    asterisk_groups: dict[str, float]  # ms of Asterisk CPU per call, by what its threads do
    sipp_cpu_ms: float  # the load generator's own CPU per call (it shares the machine)
    # The node peer's CPU per call, like the worker's (its idle cost on the other targets' steps);
    # None when the run has no node peer.
    node_cpu_ms: float | None = None
    # Asterisk's log during the step: "HTTP session count exceeded" (its http.conf sessionlimit
    # refused an ARI connection) and every WARNING line, taskprocessor ones included.
    session_warnings: int = 0
    warnings: int = 0

    @property
    def clean(self) -> bool:
        return self.handled == self.attempted


class Stepper:
    def __init__(
        self, lab: Lab, worker: WorkerProcess, work: Path, node: NodePeer | None = None
    ) -> None:
        self.lab, self.worker, self.work, self.node = lab, worker, work, node
        self.messages = lab.paths.log_dir / "messages"

    def step(self, target: Target, rate: float, seconds: float) -> Step:
        calls = max(1, round(rate * seconds))
        asterisk = self.lab.pid()
        assert asterisk is not None, "the lab Asterisk is not running"
        watch = LogWatch(self.messages)
        threads0 = AsteriskThreads.read(asterisk, self.lab.cli("core show threads"))
        w0, a0 = cpu_seconds(self.worker.pid), cpu_seconds(asterisk)
        n0 = self.node.cpu_seconds() if self.node is not None else None
        c0 = _children_cpu()
        t0 = time.time()
        runner = sipp.Sipp(target, self.work, calls=calls, rate=rate)
        worst_lag = 0.0
        # Poll the worker's recent lag while SIPp runs: /health keeps only the last ~30 s.
        while runner.proc.poll() is None:
            time.sleep(2.0)
            health = self.worker.api.health()
            if health is not None:
                worst_lag = max(worst_lag, health["loop_lag_recent_max_ms"])
        result = runner.wait()
        time.sleep(SETTLE)
        t1 = time.time()
        w1, a1 = cpu_seconds(self.worker.pid), cpu_seconds(asterisk)
        n1 = self.node.cpu_seconds() if self.node is not None else None
        c1 = _children_cpu()
        groups = AsteriskThreads.read(asterisk, self.lab.cli("core show threads")).since(threads0)
        logged = watch.new_lines()
        d2p = self.worker.digit_to_prompt(t0, t1) if target.name == "stasis" else []
        return Step(
            target=target.name,
            rate=rate,
            attempted=calls,
            answered=result.answered,
            handled=result.handled,
            invite_p50=pct(result.invite_ms, 0.5),
            invite_p99=pct(result.invite_ms, 0.99),
            bye_p50=pct(result.bye_ms, 0.5),
            bye_p99=pct(result.bye_ms, 0.99),
            worker_cpu_ms=(w1 - w0) * 1000 / calls,
            asterisk_cpu_ms=(a1 - a0) * 1000 / calls,
            d2p_p50=pct(d2p, 0.5),
            d2p_p99=pct(d2p, 0.99),
            loop_lag_ms=worst_lag if target.name == "stasis" else None,
            tp_warnings=taskprocessor_warnings(logged),
            session_warnings=session_limit_warnings(logged),
            warnings=all_warnings(logged),
            asterisk_groups={k: v * 1000 / calls for k, v in groups.items()},
            sipp_cpu_ms=(c1 - c0) * 1000 / calls,
            # None also when the peer exited during the step: its CPU is then unknown.
            node_cpu_ms=None if n0 is None or n1 is None else (n1 - n0) * 1000 / calls,
        )


def _children_cpu() -> float:
    """CPU of our reaped children: SIPp (reaped by runner.wait()), and the few `asterisk -rx`
    the step runs (`core show threads`), which are small beside it."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
