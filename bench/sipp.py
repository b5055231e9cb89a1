"""The SIPp driver: one bounded SIPp run, its per-call timings read back from -trace_rtt."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
SCENARIO = HERE / "sipp" / "ivr-bench.xml"
DIGIT_PCAP = "/usr/share/sip-tester/dtmf_2833_1.pcap"
HANDLED_MS = 2500.0  # a digit counts as handled only if Asterisk hung up this soon after it
SIP_PORT = 5099
MEDIA_PORT = 40000


@dataclass(frozen=True)
class Target:
    """Where the calls go: the Stasis IVR (500 as 1000) or the bench dialplan IVR."""

    name: str
    service: str
    user: str
    password: str


@dataclass
class SippRun:
    attempted: int
    returncode: int
    wall: float
    invite_ms: list[float] = field(default_factory=list)  # first INVITE -> 200, per answered call
    bye_ms: list[float] = field(default_factory=list)  # digit -> Asterisk's BYE, per call

    @property
    def answered(self) -> int:
        return len(self.invite_ms)

    @property
    def handled(self) -> int:
        return sum(1 for ms in self.bye_ms if ms <= HANDLED_MS)


class Sipp:
    """One SIPp process. Every run is bounded by its call count and a global timeout."""

    def __init__(
        self,
        target: Target,
        work: Path,
        *,
        calls: int,
        rate: float,
        hold_ms: int = 2500,
        scenario: Path = SCENARIO,
        longest_s: float = 40.0,
    ) -> None:
        self.target, self.calls, self.rate = target, calls, rate
        self.dir = work / f"sipp-{target.name}-{time.monotonic_ns()}"
        self.dir.mkdir(parents=True)
        # The last call starts at calls/rate; it then lasts hold + at most ``longest_s``.
        timeout = int(calls / rate + hold_ms / 1000 + longest_s)
        args = [
            "sipp", "127.0.0.1:5060", "-sf", str(scenario), "-s", target.service,
            "-i", "127.0.0.1", "-p", str(SIP_PORT), "-mp", str(MEDIA_PORT),
            "-au", target.user, "-ap", target.password, "-key", "caller", target.user,
            "-key", "digit_pcap", DIGIT_PCAP, "-d", str(hold_ms),
            "-m", str(calls), "-r", str(rate), "-l", str(calls),
            "-recv_timeout", "10000", "-timeout", str(timeout), "-timeout_error",
            "-trace_rtt", "-rtt_freq", "1", "-nostdin",
        ]  # fmt: skip
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            args, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )

    def wait(self) -> SippRun:
        _, err = self.proc.communicate()
        run = SippRun(self.calls, self.proc.returncode, time.monotonic() - self.started)
        for csv in self.dir.glob("*_rtt.csv"):
            for line in csv.read_text().splitlines()[1:]:
                parts = line.split(";")
                if len(parts) < 3:
                    continue
                value, rtd = float(parts[1]), parts[2].strip()
                if rtd == "1":
                    run.invite_ms.append(value)
                elif rtd == "2":
                    run.bye_ms.append(value)
        if run.returncode not in (0, 1) and err:
            (self.dir / "stderr.txt").write_text(err)
        return run


def run(target: Target, work: Path, *, calls: int, rate: float, hold_ms: int = 2500) -> SippRun:
    return Sipp(target, work, calls=calls, rate=rate, hold_ms=hold_ms).wait()
