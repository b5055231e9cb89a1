"""``python -m bench --short|--full``: ramp, /channels under load, soak, faults -> performance.md.

Every ramp step runs three targets at the same rate: the worker's Stasis IVR, the same IVR written
with Node's ari-client (bench/node_peer.py; left out, with the reason said, if node or its
packages cannot be installed, or with ``--no-node``) and the dialplan IVR.
Short mode takes about 6 minutes (3 rates x 12 s per target, 100 live calls, a 60 s soak, both
faults).
Full mode ramps until the dialplan IVR stops being clean, probes 100 and 500 live calls and soaks
for 30 minutes. Needs root (SIPp's play_pcap_audio uses a raw socket) and the lab rootfs.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import compare, endurance, faults, report
from bench.metrics import thread_cpu
from bench.node_peer import NodePeer, start_node_peer
from bench.ramp import Stepper
from bench.sipp import Target
from bench.targets import STASIS, DialplanIvr, WorkerProcess
from stasis_app.lab import Lab, LabPaths

REPO = Path(__file__).resolve().parent.parent
MODES = {
    # rates (calls/s), seconds per step, live calls for /channels, soak seconds
    "short": ([10.0, 30.0, 60.0], 12.0, [100], 60.0),
    "full": ([10.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0], 30.0, [100, 500], 1800.0),
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--short", action="store_const", dest="mode", const="short")
    mode.add_argument("--full", action="store_const", dest="mode", const="full")
    parser.add_argument("--soak-seconds", type=float, help="override the mode's soak length")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "performance.md")
    parser.add_argument("--no-node", action="store_true", help="leave out the node ari-client peer")
    args = parser.parse_args()
    name = args.mode or "short"
    rates, seconds, lives, soak_s = MODES[name]
    soak_s = args.soak_seconds or soak_s
    command = "./bench.sh --" + name + (f" --soak-seconds {soak_s:g}" if args.soak_seconds else "")

    lab = Lab(LabPaths.from_environ(), progress=lambda line: print(line, file=sys.stderr))
    started_lab = lab.pid() is None
    if started_lab:
        subprocess.run([sys.executable, "-m", "stasis_app", "lab", "up"], check=True)
    work = Path(tempfile.mkdtemp(prefix="cti-bench-"))
    worker = WorkerProcess(work)
    dialplan = DialplanIvr(lab)
    node: NodePeer | None = None
    began = time.monotonic()
    try:
        results = report.Results(name, command, lab.cli("core show version").strip())
        worker.start()
        worker.wait_connected()
        dialplan.install()
        if args.no_node:
            results.notes.append("No node peer in this run (--no-node).")
        else:
            node, why = start_node_peer(work, dialplan.password)
            if node is None:
                results.notes.append(f"No node peer in this run: {why}.")
        run(results, lab, Ramp(worker, dialplan, node, work), rates, seconds, lives, soak_s)
    finally:
        if node is not None:
            node.stop()
        dialplan.remove()
        worker.stop()
        if started_lab:
            subprocess.run([sys.executable, "-m", "stasis_app", "lab", "down"], check=False)
    results.notes.append(f"Run time: {time.monotonic() - began:.0f} s; raw data: `{work}`.")
    old = args.out.read_text() if args.out.exists() else ""
    args.out.write_text(
        report.with_queue_section(report.render(results), report.queue_section(old))
    )
    print(f"wrote {args.out} ({time.monotonic() - began:.0f} s; raw data in {work})")
    return 0


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Ramp:
    """What the ramp runs against: the worker, the dialplan IVR and the node peer if any."""

    worker: WorkerProcess
    dialplan: DialplanIvr
    node: NodePeer | None
    work: Path

    def targets(self) -> list[Target]:
        """Ours, the peer's, the dialplan's: the dialplan last, whose step ends the ramp."""
        peer = [self.node.target] if self.node is not None and self.node.alive() else []
        return [STASIS, *peer, self.dialplan.target]


def run(  # noqa: PLR0917 - the one orchestration call, named at its only call site
    results: report.Results,
    lab: Lab,
    ramp: Ramp,
    rates: list[float],
    seconds: float,
    lives: list[int],
    soak_s: float,
) -> None:
    worker, work = ramp.worker, ramp.work
    stepper = Stepper(lab, worker, work, ramp.node)
    threads0 = thread_cpu(worker.pid)
    exited = ""
    for rate in rates:
        if ramp.node is not None and not ramp.node.alive() and not exited:
            exited = f"The node peer exited before the {rate:g}/s step; see {ramp.node.log}."
            say(exited)
            results.notes.append(exited)
        for target in ramp.targets():
            say(f"ramp {target.name} at {rate:g}/s for {seconds:g} s")
            step = stepper.step(target, rate, seconds)
            say(f"  {step.handled}/{step.attempted} handled, {compare.app_cpu_line(step)}")
            results.steps.append(step)
            _settle(results, lab, f"after {target.name} at {rate:g}/s")
        if not results.steps[-1].clean:
            break  # the dialplan IVR is no longer clean: the ramp has found its ceiling
    results.profile = thread_profile(threads0, thread_cpu(worker.pid), results)
    if ramp.node is not None:
        ramp.node.stop()  # the phases after the ramp are the worker's: no peer reconnecting in them
    for live in lives:
        say(f"/channels with {live} live calls")
        results.channels.append(endurance.channels_under_load(worker, work, live))
        _settle(results, lab, f"after /channels with {live} live")
    clean = compare.highest_clean(results.steps, "stasis") or rates[0]
    say(f"soak at {clean / 2:g}/s for {soak_s:g} s")
    results.soak = endurance.soak(lab, worker, work, rate=clean / 2, seconds=soak_s)
    _settle(results, lab, "after the soak")
    say("fault: SIGKILL the worker under load")
    results.worker_kill = faults.kill_worker(lab, worker, work, rate=10)
    _settle(results, lab, "after the worker kill")
    say("fault: restart Asterisk under load")
    results.asterisk_restart = faults.restart_asterisk(lab, worker, work, rate=10)


def _settle(results: report.Results, lab: Lab, when: str) -> None:
    """Start every phase from an empty lab; say so when channels had to be hung up by force."""
    forced = endurance.settle(lab)
    if forced:
        note = f"{forced} channel(s) were still up {when} and were hung up before going on."
        say(note)
        results.notes.append(note)


def thread_profile(
    before: dict[str, float], after: dict[str, float], results: report.Results
) -> str:
    """Where the worker's CPU went during the ramp, per thread (the loop vs the store writer)."""
    calls = sum(s.attempted for s in results.steps)
    spent = collections.Counter({k: after.get(k, 0.0) - before.get(k, 0.0) for k in after})
    rows = [
        f"| {name} | {cpu * 1000:.0f} | {cpu * 1000 / max(calls, 1):.2f} |"
        for name, cpu in spent.most_common()
        if cpu > 0
    ]
    return "\n".join(
        [
            f"Worker CPU per thread over the whole ramp ({calls} calls, all targets; "
            "the other targets' steps cost the worker only its idle time):",
            "",
            "| thread | CPU ms | ms per call |",
            "|---|---|---|",
            *rows,
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
