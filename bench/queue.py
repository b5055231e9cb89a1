"""``python -m bench.queue``: callers queue for SIPp agents; what the ACD does under load.

SIPp callers (as 1000, like the ramp) dial 500 at ``--rate`` for ``--seconds``, hear the greeting
for a second and press 1: the bench IVR (bench/queue-ivr.toml) puts them in the queue ``bench``
(bench/queue-bench.toml). Its ``--agents`` static members 3101, 3102, ... are PJSIP endpoints the
bench installs for the run, each with a static contact at one SIPp in server mode
(bench/sipp/queue-agent.xml) that rings 300 ms, answers, talks ``--talk`` seconds and hangs up.
By default there are 10 % fewer agents than the load needs, so callers wait and every agent who
hangs up has someone to be offered at once.

Reported: callers connected to an agent; the queue's own figures (GET /queues/bench: offered,
answered, abandoned, average speed of answer, longest wait); the time from an agent's call
ending (its SIPp sends BYE) to the next INVITE reaching that agent, counted only where a caller
was waiting unoffered at that moment (Asterisk's BYE handling, the ARI event, the ACD, the
Originate and Asterisk's INVITE: all of it); the worker's and Asterisk's CPU per queued call.
The result replaces the queue section of docs/performance.md (between its markers;
``./bench.sh`` keeps that section when it rewrites the rest).

Needs root (SIPp plays the digit through a raw socket) and the lab rootfs; it starts and stops
the lab if it was down.
"""

from __future__ import annotations

import argparse
import itertools
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import sipp
from bench.metrics import cpu_seconds, pct
from bench.report import QUEUE_BEGIN, QUEUE_END, machine, with_queue_section
from bench.targets import API_PORT, STASIS, DialplanIvr, WorkerProcess
from stasis_app.http.client import ApiClient
from stasis_app.lab import Lab, LabPaths

HERE = Path(__file__).parent
REPO = HERE.parent
AGENT_SCENARIO = HERE / "sipp" / "queue-agent.xml"
AGENT_PORT = 5098
AGENT_MEDIA_PORT = 41000
FIRST_AGENT = 3101
RING_S = 0.3  # the agents' ring time, in queue-agent.xml
HOLD_MS = 1000  # the caller hears this much greeting before pressing 1
PATIENCE_MS = 60_000  # a caller waits this long for the agent's hang-up before giving up
# Endpoints for the run, in pjsip_bench.conf beside the bench's own: no registration (a static
# contact, not qualified, counts as online), and the bench endpoint's random password for any
# request outside a dialog (the agents send none).
AGENT_PJSIP = """
[{ext}](phone-endpoint)
context = cti-bench
auth = bench-auth
aors = {ext}
callerid = "Agent {ext}" <{ext}>

[{ext}](phone-aor)
qualify_frequency = 0
contact = sip:{ext}@127.0.0.1:{port}
"""


@dataclass
class QueueRun:
    rate: float
    seconds: float
    agents: int
    talk_s: float
    attempted: int = 0
    answered: int = 0  # callers Asterisk answered (INVITE -> 200)
    connected: int = 0  # callers whose call an agent ended (BYE within the patience)
    figures: dict[str, Any] = field(default_factory=dict)  # GET /queues/bench "today"
    free_to_offer_ms: list[float] = field(default_factory=list)
    wait_s: list[float] = field(default_factory=list)  # joined -> first offer, per caller
    worker_cpu_ms: float = 0.0  # per queued call
    asterisk_cpu_ms: float = 0.0
    agent_calls: str = ""  # the agents' SIPp: successful / failed calls


def agent_endpoints(extensions: list[str]) -> str:
    return "".join(AGENT_PJSIP.format(ext=ext, port=AGENT_PORT) for ext in extensions)


def queues_file(work: Path, extensions: list[str]) -> Path:
    text = (HERE / "queue-bench.toml").read_text()
    listed = ", ".join(f'"{ext}"' for ext in extensions)
    path = work / "queues.toml"
    path.write_text(re.sub(r"^members = .*$", f"members = [{listed}]", text, flags=re.M))
    return path


def caller_scenario(work: Path) -> Path:
    """The ramp's caller, patient enough to wait in the queue and talk to an agent."""
    text = sipp.SCENARIO.read_text().replace('timeout="8000"', f'timeout="{PATIENCE_MS}"')
    path = work / "queue-caller.xml"
    path.write_text(text)
    return path


def agent_moments(log: Path) -> list[tuple[str, str, float]]:
    """(agent, "free" or "offered", wall-clock time) from the agents' SIPp log."""
    out: list[tuple[str, str, float]] = []
    if not log.exists():
        return out
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in ("free", "offered"):
            out.append((parts[1], parts[0], float(parts[2]) + float(parts[3]) / 1e6))
    return out


def free_to_offer(
    moments: list[tuple[str, str, float]], waiting: list[tuple[float, float]]
) -> list[float]:
    """Milliseconds from an agent's call ending to the next INVITE reaching that agent, for
    every call end at which a caller was waiting unoffered (``waiting``: joined -> first offer);
    other gaps are idle time, not the time the queue took."""
    out: list[float] = []
    by_agent: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for agent, what, at in moments:
        by_agent[agent].append((what, at))
    for seen in by_agent.values():
        seen.sort(key=lambda moment: moment[1])
        for (what, freed), (after, offered) in itertools.pairwise(seen):
            if what != "free" or after != "offered":
                continue
            if any(joined <= freed < first_offer for joined, first_offer in waiting):
                out.append((offered - freed) * 1000)
    return out


def waiting_intervals(db: Path) -> list[tuple[float, float]]:
    """(joined, first offer) per caller of the run, from the worker's call history."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT call_id, action, min(at) FROM events"
            " WHERE action IN ('queue-joined', 'agent-offered') GROUP BY call_id, action"
        ).fetchall()
    finally:
        conn.close()
    joined: dict[str, float] = {}
    offered: dict[str, float] = {}
    for call_id, action, at in rows:
        (joined if action == "queue-joined" else offered)[call_id] = at
    return [(at, offered[call]) for call, at in joined.items() if call in offered]


def wait_for(what: str, check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def run(
    lab: Lab, work: Path, *, rate: float, seconds: float, agents: int, talk_s: float
) -> QueueRun:
    result = QueueRun(rate, seconds, agents, talk_s)
    extensions = [str(FIRST_AGENT + i) for i in range(agents)]
    endpoints = DialplanIvr(lab, extra_pjsip=agent_endpoints(extensions))
    worker = WorkerProcess(work, ivr=HERE / "queue-ivr.toml", queues=queues_file(work, extensions))
    agent_sipp: subprocess.Popen[bytes] | None = None
    try:
        endpoints.install()  # before the worker starts: it reads the endpoints when it connects
        worker.start()
        worker.wait_connected()
        client = ApiClient(f"http://127.0.0.1:{API_PORT}", worker.token, timeout=30.0)

        def all_free() -> bool:
            queue = client.queue("bench")
            return not queue.waiting and all(
                a.reachable and a.state.value == "available" for a in queue.agents
            )

        wait_for("every agent reachable and available", all_free, 30.0)
        agent_sipp = _start_agents(work, talk_s)
        asterisk = lab.pid()
        assert asterisk is not None, "the lab Asterisk is not running"
        w0, a0 = cpu_seconds(worker.pid), cpu_seconds(asterisk)
        callers = sipp.Sipp(
            STASIS,
            work,
            calls=max(1, round(rate * seconds)),
            rate=rate,
            hold_ms=HOLD_MS,
            scenario=caller_scenario(work),
            longest_s=PATIENCE_MS / 1000 + 20,
        ).wait()
        wait_for("the queue to empty and every agent to be free", all_free, 60.0)
        w1, a1 = cpu_seconds(worker.pid), cpu_seconds(asterisk)
        result.attempted, result.answered = callers.attempted, callers.answered
        result.connected = sum(1 for ms in callers.bye_ms if ms < PATIENCE_MS)
        result.worker_cpu_ms = (w1 - w0) * 1000 / callers.attempted
        result.asterisk_cpu_ms = (a1 - a0) * 1000 / callers.attempted
        result.figures = client.queue("bench").today.model_dump()
        result.wait_s = [offer - joined for joined, offer in waiting_intervals(worker.db)]
    finally:
        if agent_sipp is not None:
            result.agent_calls = _stop_agents(agent_sipp, work)
        worker.stop()
        endpoints.remove()
    if agent_sipp is not None:
        logs = list(work.glob("queue-agent_*_logs.log"))
        moments = agent_moments(logs[0]) if logs else []
        result.free_to_offer_ms = free_to_offer(moments, waiting_intervals(worker.db))
    return result


def _start_agents(work: Path, talk_s: float) -> subprocess.Popen[bytes]:
    scenario = work / "queue-agent.xml"
    scenario.write_text(AGENT_SCENARIO.read_text().replace("TALK_MS", str(round(talk_s * 1000))))
    args = [
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(AGENT_PORT),
        "-mp", str(AGENT_MEDIA_PORT), "-nostdin",
        "-trace_stat", "-stf", str(work / "agents-stat.csv"), "-fd", "1",
        "-trace_err", "-trace_logs",
    ]  # fmt: skip
    return subprocess.Popen(args, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop_agents(proc: subprocess.Popen[bytes], work: Path) -> str:
    """Stop the agents' SIPp (SIGUSR1: SIPp's own "quit when the calls end"); its call counts."""
    proc.send_signal(signal.SIGUSR1)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    stat = work / "agents-stat.csv"
    lines = stat.read_text().splitlines() if stat.exists() else []
    if len(lines) < 2:
        return "no statistics"
    head, last = lines[0].split(";"), lines[-1].split(";")
    row = dict(zip(head, last, strict=False))
    return (
        f"{row.get('SuccessfulCall(C)', '?')} successful / {row.get('FailedCall(C)', '?')} failed"
    )


def _row(r: QueueRun) -> str:
    f = r.figures
    p50, p99 = pct(r.free_to_offer_ms, 0.5), pct(r.free_to_offer_ms, 0.99)
    w50, w99 = pct(r.wait_s, 0.5), pct(r.wait_s, 0.99)

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    def s(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    return (
        f"| {r.rate:g} | {r.agents} ({r.agents / (r.talk_s + RING_S):.1f}/s) | {r.attempted} "
        f"| {r.answered} | {r.connected} ({100 * r.connected / max(r.attempted, 1):.1f} %) "
        f"| {f.get('offered')} / {f.get('answered')} / {f.get('abandoned')} / "
        f"{f.get('overflowed')} | {s(w50)} / {s(w99)} | {s(f.get('longest_wait'))} "
        f"| {ms(p50)} / {ms(p99)} ({len(r.free_to_offer_ms)}) | {r.worker_cpu_ms:.2f} "
        f"| {r.asterisk_cpu_ms:.2f} | {r.agent_calls} |"
    )


def section(runs: list[QueueRun], command: str, asterisk_version: str, notes: list[str]) -> str:
    first = runs[0]
    lines = [
        QUEUE_BEGIN,
        "## Queues: callers waiting for agents",
        "",
        f"Generated by `bench/queue.py` on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC:",
        "",
        "```sh",
        command,
        "```",
        "",
        *machine(asterisk_version),
        "",
        f"Per row: SIPp callers dial 500 at the row's rate for {first.seconds:g} s, hear the "
        f"greeting for {HOLD_MS / 1000:g} s and press 1: the worker's IVR queues them in `bench` "
        "(longest-idle, music on hold, position and wait announced to a caller who has to wait). "
        "The agents (PJSIP endpoints with a static contact at one SIPp in server mode) ring "
        f"{RING_S * 1000:.0f} ms, answer, talk {first.talk_s:g} s and hang up; then the worker "
        "hangs up the caller and offers that agent the next one. There are 10 % fewer agents "
        "than the rate needs (the calls/s they can take is beside their number), so callers "
        "wait. A fresh worker per row. *Connected*: the caller's call was ended by its agent "
        f"(Asterisk's BYE within {PATIENCE_MS / 1000:g} s of the digit). *Free → next offer*: "
        "from an agent's SIPp sending BYE to the next INVITE reaching that agent (wall clock, "
        "logged by the agents' SIPp), counted only when a caller was waiting unoffered at that "
        "moment: Asterisk's hang-up, the ARI event, the ACD's choice, the Originate and "
        "Asterisk's INVITE. CPU: utime+stime from /proc over the row, divided by its callers "
        "(a queued call is two channels, the caller's and the agent's, and two bridges).",
        "",
        "| calls/s | agents | callers | answered | connected to an agent | offered / answered / "
        "abandoned / overflowed (GET /queues/bench) | wait joined→offer p50/p99 s "
        "| longest wait s | free → next offer p50/p99 ms (samples) "
        "| worker CPU ms per queued call | Asterisk CPU ms per queued call | agents' SIPp |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *map(_row, runs),
        "",
        *notes,
        QUEUE_END,
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__)
    parser.add_argument(
        "--rate",
        type=float,
        action="append",
        help="callers per second; repeat for more rows "
        "(default: 30 and 60, the highest rate the Stasis IVR handles cleanly here)",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--talk", type=float, default=2.0, help="seconds an agent talks")
    parser.add_argument("--agents", type=int, help="default: 90 %% of what the rate needs")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "performance.md")
    args = parser.parse_args()
    rates: list[float] = args.rate or [30.0, 60.0]
    command = "python -m bench.queue " + " ".join(f"--rate {rate:g}" for rate in rates)
    command += f" --seconds {args.seconds:g} --talk {args.talk:g}"
    command += f" --agents {args.agents}" if args.agents else ""
    lab = Lab(LabPaths.from_environ(), progress=lambda line: print(line, file=sys.stderr))
    started_lab = lab.pid() is None
    if started_lab:
        subprocess.run([sys.executable, "-m", "stasis_app", "lab", "up"], check=True)
    work = Path(tempfile.mkdtemp(prefix="cti-queue-bench-"))
    runs: list[QueueRun] = []
    try:
        version = lab.cli("core show version").strip()
        for rate in rates:
            agents = args.agents or max(1, int(0.9 * rate * (args.talk + RING_S)))
            print(f"bench.queue: {rate:g} callers/s, {agents} agents", file=sys.stderr)
            row = work / f"rate-{rate:g}"
            row.mkdir()
            runs.append(
                run(lab, row, rate=rate, seconds=args.seconds, agents=agents, talk_s=args.talk)
            )
            print(_row(runs[-1]), file=sys.stderr)
    finally:
        if started_lab:
            subprocess.run([sys.executable, "-m", "stasis_app", "lab", "down"], check=False)
    text = section(runs, command, version, [f"Raw data: `{work}`."])
    print(text)
    old = args.out.read_text() if args.out.exists() else ""
    args.out.write_text(with_queue_section(old, text))
    print(f"wrote the queue section of {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
