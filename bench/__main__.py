"""``python -m bench --short|--full``: ramp, /channels under load, soak, faults -> performance.md.

Short mode fits in 5 minutes (3 rates x 12 s per target, 100 live calls, a 60 s soak, both faults).
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
from pathlib import Path

from bench import endurance, faults, report
from bench.metrics import thread_cpu
from bench.ramp import Stepper
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
    began = time.monotonic()
    try:
        results = report.Results(name, command, lab.cli("core show version").strip())
        worker.start()
        worker.wait_connected()
        dialplan.install()
        run(results, lab, worker, dialplan, work, rates, seconds, lives, soak_s)
    finally:
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


def run(  # noqa: PLR0917 - the one orchestration call, named at its only call site
    results: report.Results,
    lab: Lab,
    worker: WorkerProcess,
    dialplan: DialplanIvr,
    work: Path,
    rates: list[float],
    seconds: float,
    lives: list[int],
    soak_s: float,
) -> None:
    stepper = Stepper(lab, worker, work)
    threads0 = thread_cpu(worker.pid)
    for rate in rates:
        for target in (STASIS, dialplan.target):
            say(f"ramp {target.name} at {rate:g}/s for {seconds:g} s")
            step = stepper.step(target, rate, seconds)
            say(f"  {step.handled}/{step.attempted} handled, worker {step.worker_cpu_ms:.2f} ms")
            results.steps.append(step)
            _settle(results, lab, f"after {target.name} at {rate:g}/s")
        if not results.steps[-1].clean:
            break  # the dialplan IVR is no longer clean: the ramp has found its ceiling
    results.profile = thread_profile(threads0, thread_cpu(worker.pid), results)
    for live in lives:
        say(f"/channels with {live} live calls")
        results.channels.append(endurance.channels_under_load(worker, work, live))
        _settle(results, lab, f"after /channels with {live} live")
    clean = report.highest_clean(results.steps, "stasis") or rates[0]
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
            f"Worker CPU per thread over the whole ramp ({calls} calls, both targets; "
            "the dialplan steps cost the worker only its idle time):",
            "",
            "| thread | CPU ms | ms per call |",
            "|---|---|---|",
            *rows,
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
