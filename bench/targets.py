"""The things under test: the worker process (Stasis IVR) and the bench's dialplan IVR; the
node peer (bench/node_peer.py) is reached through the same bench dialplan."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.metrics import Api
from bench.node_peer import NODE_APP, NODE_SERVICE
from bench.sipp import Target
from stasis_app.lab import Lab
from stasis_app.lab.credentials import lab_environ
from stasis_app.lab.rootfs import asterisk_ids

HERE = Path(__file__).parent
API_PORT = 3901
STASIS = Target("stasis", "500", "1000", "test1000")

# Same prompts as bench/ivr.toml. Background() + WaitExten() is the classic dialplan IVR; the
# context is reachable only from the bench endpoint (nothing in extensions.conf includes it).
# The node peer's number is answered here, as extensions.conf answers the worker's 500.
EXTENSIONS_BENCH = f"""\
; Written by the load harness (bench/targets.py) for its run; removed afterwards.
[cti-bench]
exten => 600,1,Answer()
 same => n,Background(cti/welcome)
 same => n,WaitExten(5)
 same => n,Playback(cti/invalid)
 same => n,Hangup()
exten => 1,1,Playback(cti/invalid)
 same => n,Hangup()
exten => {NODE_SERVICE},1,Answer()
 same => n,Stasis({NODE_APP})
 same => n,Hangup()
"""
PJSIP_BENCH = """\
; Written by the load harness (bench/targets.py) for its run; removed afterwards.
[bench](phone-endpoint)
context = cti-bench
language = en
auth = bench-auth
aors = bench

[bench-auth](phone-auth)
username = bench
password = {password}

[bench](phone-aor)
"""


class DialplanIvr:
    """Installs the bench endpoint and dialplan into the running lab, and removes them."""

    def __init__(self, lab: Lab, extra_pjsip: str = "") -> None:
        self.lab = lab
        self.extra_pjsip = extra_pjsip  # more endpoints for the run (the queue bench's agents)
        self.password = secrets.token_hex(12)
        self.target = Target("dialplan", "600", "bench", self.password)

    def _files(self) -> dict[Path, str]:
        etc = self.lab.paths.rootfs / "etc/asterisk"
        return {
            etc / "extensions_bench.conf": EXTENSIONS_BENCH,
            etc / "pjsip_bench.conf": PJSIP_BENCH.format(password=self.password) + self.extra_pjsip,
        }

    def install(self) -> None:
        _, gid = asterisk_ids(self.lab.paths.rootfs)
        for path, text in self._files().items():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.chown(path, 0, gid)
            path.chmod(0o640)
        self._reload()
        if "bench" not in self.lab.cli("pjsip show endpoint bench"):
            raise RuntimeError("the bench endpoint did not load")

    def remove(self) -> None:
        for path in self._files():
            path.unlink(missing_ok=True)
        if self.lab.pid() is not None:
            self._reload()

    def _reload(self) -> None:
        self.lab.cli("dialplan reload")
        self.lab.cli("module reload res_pjsip.so")


class WorkerProcess:
    """``python -m stasis_app run`` with the bench IVR (or ``ivr`` and its ``queues``), its own
    data dir, token and API port."""

    def __init__(
        self,
        work: Path,
        ivr: Path = HERE / "ivr.toml",
        queues: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.work = work
        self.ivr, self.queues = ivr, queues
        self.extra_env = extra_env or {}  # e.g. CTI_EVENT_LOOP for a lever's before/after
        self.token = "bench-" + secrets.token_hex(16)
        self.api = Api(API_PORT, self.token)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def db(self) -> Path:
        return self.work / "worker" / "calls.sqlite3"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        env = lab_environ({k: v for k, v in os.environ.items() if not k.startswith("CTI_")})
        env |= {
            "CTI_DATA_DIR": str(self.work / "worker"),
            "CTI_API_TOKEN": self.token,
            "CTI_HTTP_PORT": str(API_PORT),
            "CTI_LOG_FORMAT": "json",
            "CTI_IVR_FILE": str(self.ivr),
        }
        if self.queues is not None:
            env["CTI_QUEUES_FILE"] = str(self.queues)
        env |= self.extra_env
        self.starts += 1
        with (self.work / f"worker-{self.starts}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stasis_app", "run"], env=env, stderr=log
            )

    def wait_connected(self, timeout: float = 30.0, new_asterisk_than: str | None = None) -> float:
        """Seconds until /health says ARI is connected (to an Asterisk started after
        ``new_asterisk_than``, if given); raises if it never is."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            health = self.api.health()
            if (
                health is not None
                and health["ari_connected"]
                and (new_asterisk_than is None or health["asterisk_started"] != new_asterisk_than)
            ):
                return time.monotonic() - start
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited ({self.proc.returncode}); see {self.work}")
            time.sleep(0.05)
        raise RuntimeError(f"the worker did not connect within {timeout} s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    # ------------------------------------------------------------------ the call history
    def _rows(self, sql: str, *args: Any) -> list[Any]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def digit_to_prompt(self, since: float, until: float) -> list[float]:
        """The worker's own digit -> next prompt times (ms), from call-ended events."""
        out: list[float] = []
        for (doc,) in self._rows(
            "SELECT doc FROM events WHERE action = 'call-ended' AND at BETWEEN ? AND ?",
            since,
            until,
        ):
            values = _find(json.loads(doc), "digit_to_prompt_ms")
            if isinstance(values, list):
                out.extend(float(v) for v in values)
        return out

    def event_counts(self, since: float, until: float) -> dict[str, int]:
        rows = self._rows(
            "SELECT action, count(*) FROM events WHERE at BETWEEN ? AND ? GROUP BY action",
            since,
            until,
        )
        return {action: n for action, n in rows}

    def calls_incomplete(self, since: float, until: float) -> int:
        """Calls started in the window whose call-started or call-ended is not in the store."""
        rows = self._rows(
            "SELECT call_id, sum(action = 'call-started'), sum(action = 'call-ended') FROM events"
            " WHERE call_id IN (SELECT call_id FROM events WHERE at BETWEEN ? AND ?)"
            " GROUP BY call_id",
            since,
            until,
        )
        return sum(1 for _, started, ended in rows if not started or not ended)


def _find(doc: Any, key: str) -> Any:
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        for value in doc.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None
