"""``python -m bench.profile``: where one Stasis IVR step spends CPU, for bench/notes.md.

One step of the ramp (SIPp at ``--rate`` for ``--seconds`` against extension 500), with:

- the worker's CPU per call split by thread and into user and system time (/proc);
- the same step against the node ari-client peer (bench/node_peer.py; ``--no-node`` leaves it
  out), its node process's CPU per call split the same way;
- Asterisk's CPU per call by thread group (``core show threads``), beside the same step against
  the node peer and against the bench's dialplan IVR;
- with ``--py-spy`` (if py-spy is installed: ``.venv/bin/pip install py-spy``), a GIL-holding
  sample of the worker during a second step, summarised by what the code was doing.

It needs root and the lab, like ``python -m bench``; it starts and stops the lab if it was down.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.compare import app_cpu_ms
from bench.metrics import ThreadCpu, threads
from bench.node_peer import NodePeer, start_node_peer
from bench.ramp import Step, Stepper
from bench.targets import STASIS, DialplanIvr, WorkerProcess
from stasis_app.lab import Lab, LabPaths

# py-spy frames -> what the worker was doing: the first category with a mark in the stack wins.
# Several marks each, because py-spy cannot always walk a coroutine's stack down to its task.
CATEGORIES = (
    ("ARI REST (HTTP client)", ("Http11Transport.", "http11.py", "AiohttpTransport.request",
                                "ClientSession.", "ClientRequest.", "ClientResponse.",
                                "BaseConnector.", "ResponseHandler.")),
    ("store writer thread", ("StoreWriter.",)),
    ("log writer thread", ("QueuedWriter",)),
    ("ARI events: websocket read and parse", ("EventStream._read", "Connection.recv",
                                              "ClientProtocol.", "Protocol.parse", "parse_event")),
    ("REST API (uvicorn, FastAPI)", ("uvicorn", "starlette", "fastapi")),
    ("call tasks (IVR, routing, events emitted)", ("Call.", "Dispatcher.", "IvrSession.")),
    ("socket reads (responses, frames)", ("_read_ready",)),
    ("event loop itself", ("base_events.py", "SimpleQueue.get")),
)  # fmt: skip


def summarise_py_spy(raw: Path) -> list[tuple[str, float]]:
    """Shares of py-spy's folded samples per category."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        category = next(
            (name for name, marks in CATEGORIES if any(mark in stack for mark in marks)), "other"
        )
        counts[category] += int(n)
    total = sum(counts.values()) or 1
    return [(f"{name} ({n} samples)", 100 * n / total) for name, n in counts.most_common()]


def _step_line(step: Step) -> str:
    node = step.node_cpu_ms
    total = step.worker_cpu_ms + (node or 0.0) + step.asterisk_cpu_ms + step.sipp_cpu_ms
    share = total * step.rate / (1000 * (os.cpu_count() or 1))
    node_part = "" if node is None else f"node {node:.2f}, "
    return (
        f"{step.target} at {step.rate:g}/s: {step.handled}/{step.attempted} handled; CPU ms/call: "
        f"worker {step.worker_cpu_ms:.2f}, {node_part}Asterisk {step.asterisk_cpu_ms:.2f}, "
        f"SIPp {step.sipp_cpu_ms:.2f}; together {100 * share:.0f} % of the machine; "
        f"Asterisk warnings: {step.tp_warnings} taskprocessor, {step.session_warnings} HTTP "
        f"session limit, {step.warnings} in all"
    )


def _thread_lines(who: str, before: dict[str, ThreadCpu], pid: int, calls: int) -> None:
    """CPU per call of each thread of ``pid`` since ``before``, user and system apart."""
    for tid, now in threads(pid).items():
        then = before.get(tid, ThreadCpu(now.label, 0.0, 0.0))
        user, system = (
            (a - b) * 1000 / calls
            for a, b in zip((now.user, now.system), (then.user, then.system), strict=True)
        )
        if user + system > 0:
            print(f"  {who} {now.label}: user {user:.2f} + system {system:.2f} ms/call")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--py-spy", action="store_true", dest="py_spy")
    parser.add_argument("--no-node", action="store_true", help="leave out the node ari-client peer")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="CTI_NAME=VALUE",
        help="a setting for the worker (e.g. CTI_EVENT_LOOP=uvloop); repeatable",
    )
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    lab = Lab(LabPaths.from_environ(), progress=lambda line: print(line, file=sys.stderr))
    started_lab = lab.pid() is None
    if started_lab:
        subprocess.run([sys.executable, "-m", "stasis_app", "lab", "up"], check=True)
    work = Path(tempfile.mkdtemp(prefix="cti-profile-"))
    worker, dialplan = WorkerProcess(work, extra_env=extra), DialplanIvr(lab)
    node: NodePeer | None = None
    try:
        worker.start()
        worker.wait_connected()
        dialplan.install()
        if not args.no_node:
            node, _ = start_node_peer(work, dialplan.password)
        _profile(Stepper(lab, worker, work, node), dialplan, args.rate, args.seconds, args.py_spy)
    finally:
        if node is not None:
            node.stop()
        dialplan.remove()
        worker.stop()
        if started_lab:
            subprocess.run([sys.executable, "-m", "stasis_app", "lab", "down"], check=False)
    return 0


def _profile(
    stepper: Stepper, dialplan: DialplanIvr, rate: float, seconds: float, py_spy: bool
) -> None:
    worker, node = stepper.worker, stepper.node
    before = threads(worker.pid)
    stasis = stepper.step(STASIS, rate, seconds)
    print(_step_line(stasis))
    _thread_lines("worker", before, worker.pid, stasis.attempted)
    steps = [stasis]
    if node is not None and node.alive():
        before = threads(node.pid)
        peer = stepper.step(node.target, rate, seconds)
        print(_step_line(peer))
        if node.alive():
            _thread_lines("node", before, node.pid, peer.attempted)
        steps.append(peer)
        ours, theirs = app_cpu_ms(stasis), app_cpu_ms(peer)
        if ours is not None and theirs:
            print(f"worker / node CPU per call: {ours / theirs:.2f}")
    dial = stepper.step(dialplan.target, rate, seconds)
    print(_step_line(dial))
    steps.append(dial)
    print("Asterisk ms/call by thread group (" + " | ".join(s.target for s in steps) + "):")
    for group in dict.fromkeys(g for s in steps for g in s.asterisk_groups):
        print(
            f"  {group}: " + " | ".join(f"{s.asterisk_groups.get(group, 0.0):.2f}" for s in steps)
        )
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not py_spy:
        return
    if not Path(spy).exists():
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return
    raw = stepper.work / "py-spy.txt"
    command = [spy, "record", "--gil", "--nonblocking", "-r", "200", "-f", "raw"]
    command += ["-o", str(raw), "-p", str(worker.pid), "-d", str(int(seconds))]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stepper.step(STASIS, rate, seconds)
    recorder.wait(30)
    print(f"py-spy (GIL-holding samples, {raw}):")
    for name, share in summarise_py_spy(raw):
        print(f"  {share:5.1f} %  {name}")


if __name__ == "__main__":
    raise SystemExit(main())
