"""Worker and Asterisk CPU per IVR call, with SIPp placing real calls at a fixed rate.

Each call: INVITE with digest auth as 1000 to 500, hear the greeting, press "*" (an invalid
key: the worker must stop the prompt and play "invalid"), hang up. The figures count only calls
whose digit the worker really handled (an "invalid-input" event in the call history), because
SIPp's own success count does not show that.

    cti lab up                                   # the lab must be running, no worker attached
    .venv/bin/python bench/ivr_cpu.py --calls 200 --rate 10

Prints one table row; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from stasis_app.lab import Lab, LabPaths
from stasis_app.lab.credentials import lab_environ

HERE = Path(__file__).parent
SCENARIO = HERE / "sipp" / "ivr-call.xml"
STAR = "/usr/share/sip-tester/dtmf_2833_star.pcap"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def api(port: int, token: str, path: str) -> object:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback only
        return json.loads(answer.read())


class ChannelsProbe:
    """GET /channels every 20 ms from a thread; latency bucketed by how many calls were live."""

    def __init__(self, port: int, token: str) -> None:
        self.samples: list[tuple[int, float]] = []  # (live channels, seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(port, token), daemon=True)
        self._thread.start()

    def _run(self, port: int, token: str) -> None:
        while not self._stop.wait(0.02):
            start = time.perf_counter()
            body = api(port, token, "/channels")
            took = time.perf_counter() - start
            self.samples.append((len(body["channels"]), took))  # type: ignore[index]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def report(self) -> None:
        print("| live channels | requests | /channels p50 ms | p99 ms | max ms |")
        print("|---|---|---|---|---|")
        for low, high in ((0, 49), (50, 99), (100, 249), (250, 499), (500, 10**6)):
            times = sorted(t for n, t in self.samples if low <= n <= high)
            if times:
                p50 = times[len(times) // 2] * 1000
                p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
                worst = times[-1] * 1000
                print(f"| {low}-{high} | {len(times)} | {p50:.1f} | {p99:.1f} | {worst:.1f} |")


def main() -> int:  # noqa: PLR0915 - a linear script: start, measure, report, stop
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="calls per second")
    parser.add_argument("--port", type=int, default=3901, help="the worker's API port")
    parser.add_argument("--hold-ms", type=int, default=2500, help="greeting heard before the digit")
    parser.add_argument(
        "--probe", action="store_true", help="time GET /channels every 20 ms during the run"
    )
    args = parser.parse_args()

    lab = Lab(LabPaths.from_environ())
    asterisk = lab.pid()
    if asterisk is None:
        print("the lab is not running: start it with `cti lab up`", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="cti-bench-"))
    token = "bench-" + os.urandom(6).hex()
    env = lab_environ({k: v for k, v in os.environ.items() if not k.startswith("CTI_")})
    env |= {
        "CTI_DATA_DIR": str(work),
        "CTI_API_TOKEN": token,
        "CTI_HTTP_PORT": str(args.port),
        "CTI_LOG_FORMAT": "json",
    }
    log = (work / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "stasis_app", "run"], env=env, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if api(args.port, token, "/health")["ari_connected"]:  # type: ignore[index]
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                print("worker did not connect", file=sys.stderr)
                return 2
            time.sleep(0.2)
        w0, a0, t0 = cpu_seconds(worker.pid), cpu_seconds(asterisk), time.monotonic()
        probe = ChannelsProbe(args.port, token) if args.probe else None
        sipp = subprocess.run(
            [
                "sipp", "127.0.0.1:5060", "-sf", str(SCENARIO), "-s", "500",
                "-i", "127.0.0.1", "-p", "5099", "-mp", "40000",
                "-au", "1000", "-ap", "test1000", "-key", "caller", "1000",
                "-key", "digit_pcap", STAR, "-d", str(args.hold_ms),
                "-m", str(args.calls), "-r", str(args.rate), "-l", str(args.calls),
                "-nostdin", "-timeout", str(int(args.calls / args.rate) + 60),
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.monotonic() - t0
        if probe is not None:
            probe.stop()
        # Let the last calls finish their teardown before reading the counters.
        time.sleep(2)
        w1, a1 = cpu_seconds(worker.pid), cpu_seconds(asterisk)
        calls = api(args.port, token, f"/calls?limit={min(args.calls, 500)}")["calls"]  # type: ignore[index]
        handled = 0
        for call in calls:
            detail = api(args.port, token, f"/calls/{call['call_id']}")
            if any(e["action"] == "invalid-input" for e in detail["events"]):  # type: ignore[index]
                handled += 1
        print(f"sipp exit {sipp.returncode}; {len(calls)} recorded, {handled} digits handled")
        print("| calls | rate/s | wall s | worker CPU ms/call | Asterisk CPU ms/call | digits |")
        print("|---|---|---|---|---|---|")
        print(
            f"| {args.calls} | {args.rate:g} | {wall:.1f} | {(w1 - w0) * 1000 / args.calls:.2f} "
            f"| {(a1 - a0) * 1000 / args.calls:.2f} | {handled}/{args.calls} |"
        )
        if probe is not None:
            probe.report()
        return 0 if sipp.returncode == 0 else 1
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    raise SystemExit(main())
