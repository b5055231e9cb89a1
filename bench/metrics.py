"""What the harness reads from the machine: process CPU and memory, the worker's API, logs."""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads) from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass(frozen=True)
class ThreadCpu:
    label: str  # "main (event loop)" for the main thread (tid == pid), else "name/tid"
    user: float  # CPU seconds
    system: float


def threads(pid: int) -> dict[str, ThreadCpu]:
    """Every thread of ``pid`` by tid, from /proc/PID/task/*/stat (ended ones are skipped)."""
    out: dict[str, ThreadCpu] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # ended while we read
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        label = "main (event loop)" if task.name == str(pid) else f"{name}/{task.name}"
        out[task.name] = ThreadCpu(label, int(fields[11]) / TICK, int(fields[12]) / TICK)
    return out


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread label (the main thread's is the event loop)."""
    return {t.label: t.user + t.system for t in threads(pid).values()}


# Asterisk's threads have no names of their own; `core show threads` gives each one's LWP and the
# function it was started with, which says what it does.
ASTERISK_GROUPS = {
    "handle_tcptls_connection": "HTTP/websocket sessions (ARI requests)",
    "default_tps_processing_function": "taskprocessors (stasis, SIP serializers)",
}
ENDED = "threads that ended (per-call: PBX/Stasis, SIPp-side SIP)"
_THREAD_LINE = re.compile(r"^0x[0-9a-f]+ (\d+) (\S+)\s+started at")


@dataclass(frozen=True)
class AsteriskThreads:
    """One reading of Asterisk's CPU, per thread, with what each thread was started to do."""

    total: float
    by_tid: dict[str, tuple[str, float]]  # LWP -> (start function, CPU seconds)

    @classmethod
    def read(cls, pid: int, show_threads: str) -> AsteriskThreads:
        functions = {
            m.group(1): m.group(2)
            for m in map(_THREAD_LINE.match, show_threads.splitlines())
            if m is not None
        }
        # `core show threads` names each thread by its id inside Asterisk's PID namespace (the
        # lab starts it in one); /proc here lists host ids. NSpid maps one to the other.
        by_tid = {
            tid: (functions.get(_own_id(pid, tid), "other"), t.user + t.system)
            for tid, t in threads(pid).items()
        }
        return cls(cpu_seconds(pid), by_tid)

    def since(self, before: AsteriskThreads) -> dict[str, float]:
        """CPU seconds per group between ``before`` and this reading. Threads that ended in
        between (one per call) are what the process total has and the live threads do not."""
        groups: dict[str, float] = {}
        alive = 0.0
        for tid, (function, cpu) in self.by_tid.items():
            spent = cpu - before.by_tid.get(tid, (function, 0.0))[1]
            alive += spent
            group = ASTERISK_GROUPS.get(function, "other threads")
            groups[group] = groups.get(group, 0.0) + spent
        groups[ENDED] = (self.total - before.total) - alive
        return groups


def innermost_id(status: str) -> str | None:
    """The id a /proc status names in the innermost PID namespace (the last of ``NSpid:``)."""
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return line.split()[-1]
    return None


def _own_id(pid: int, tid: str) -> str:
    try:
        status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    except OSError:
        return tid  # ended meanwhile
    return innermost_id(status) or tid


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


class Api:
    """The worker's REST API on loopback (urllib: the harness must not share the worker's stack)."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def get(self, path: str, timeout: float = 10.0) -> Any:
        return json.loads(self.fetch(path, timeout))

    def fetch(self, path: str, timeout: float = 10.0) -> bytes:
        """The response body as it arrived (what a latency figure should time: not our parse)."""
        request = urllib.request.Request(  # noqa: S310 - always our loopback http:// base
            self.base + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - loopback
            body: bytes = answer.read()
            return body

    def health(self) -> dict[str, Any] | None:
        """/health's body, also when it answers 503 (ARI down); None if nothing answers."""
        try:
            body: dict[str, Any] = self.get("/health", timeout=2.0)
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                return None
            with exc:
                unavailable: dict[str, Any] = json.loads(exc.read())
            return unavailable
        except OSError:
            return None
        return body


class ChannelsProbe:
    """GET /channels every 20 ms from a thread; each sample keeps how many channels were live."""

    def __init__(self, api: Api) -> None:
        self.samples: list[tuple[int, float]] = []  # (live channels, seconds)
        self.errors = 0
        self._api = api
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            start = time.perf_counter()
            try:
                raw = self._api.fetch("/channels")
            except OSError:
                self.errors += 1
                continue
            took = time.perf_counter() - start  # request to last byte; parsing it is ours
            self.samples.append((len(json.loads(raw)["channels"]), took))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def at_least(self, live: int) -> list[float]:
        return [took * 1000 for n, took in self.samples if n >= live]


class LogWatch:
    """Lines appended to Asterisk's log since the watch began (the file may be recreated)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def new_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        size = self.path.stat().st_size
        start = self.offset if size >= self.offset else 0
        with self.path.open("rb") as f:
            f.seek(start)
            data = f.read()
        self.offset = start + len(data)
        return data.decode(errors="replace").splitlines()


def taskprocessor_warnings(lines: list[str]) -> int:
    return sum(1 for ln in lines if "WARNING" in ln and "taskprocessor" in ln.lower())


def session_limit_warnings(lines: list[str]) -> int:
    """Connections Asterisk refused at its http.conf sessionlimit (ARI REST pool + websockets)."""
    return sum(1 for ln in lines if " WARNING[" in ln and "HTTP session count exceeded" in ln)


def all_warnings(lines: list[str]) -> int:
    """Every WARNING line (``[date] WARNING[thread] file.c: ...``), whatever its source."""
    return sum(1 for ln in lines if " WARNING[" in ln)
