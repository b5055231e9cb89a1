"""The Stasis worker as the product runs it: ``cti run`` in its own process, JSON logs to a file.

Tests read the worker's log lines (one JSON object each) to know when it is connected and what it
decided about each call (``call.summary``), and send it real signals (SIGTERM, SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from stasis_app.lab.credentials import lab_environ
from tests.sipkit.ports import free_port
from tests.waiting import wait_until


class WorkerProcess:
    def __init__(
        self,
        workdir: Path,
        *,
        ivr_file: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.extra_env = extra_env or {}
        self.log_path = workdir / "worker.log"
        self.ivr_file = ivr_file
        self._proc: subprocess.Popen[bytes] | None = None
        self.http_port = free_port(udp=False)
        self.token = "test-token-" + os.urandom(8).hex()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def api(self, method: str, path: str, body: object | None = None) -> tuple[int, Any]:
        """One REST request with the worker's token; returns (status, parsed JSON or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def start(self, *, timeout: float = 15.0) -> WorkerProcess:
        env = lab_environ(
            {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
            | {
                "CTI_DATA_DIR": str(self.workdir / "data"),
                "CTI_LOG_FORMAT": "json",
                "CTI_HTTP_PORT": str(self.http_port),
                "CTI_API_TOKEN": self.token,
            }
        )
        if self.ivr_file is not None:
            env["CTI_IVR_FILE"] = str(self.ivr_file)
        env |= self.extra_env
        self.workdir.mkdir(parents=True, exist_ok=True)
        ready_before = self.count("recovery.reconciled")
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "stasis_app", "run"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_for(
            lambda: self.count("recovery.reconciled") > ready_before,
            timeout=timeout,
            what="worker connected to ARI",
        )
        return self

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("worker not started")
        return self._proc.pid

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop_signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` (e.g. SIGHUP) without waiting for anything."""
        if self._proc is not None:
            self._proc.send_signal(sig)

    def stop(self, sig: signal.Signals = signal.SIGTERM, *, timeout: float = 15.0) -> int | None:
        """Send ``sig`` and wait for the process to end; returns its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(f"worker ignored {sig.name} for {timeout} s") from None
        return proc.returncode

    def records(self) -> list[dict[str, Any]]:
        """Every JSON log line so far (other lines, e.g. a traceback, are skipped)."""
        out: list[dict[str, Any]] = []
        if not self.log_path.exists():
            return out
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def count(self, event: str) -> int:
        return sum(1 for r in self.records() if r.get("event") == event)

    def summaries(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == "call.summary"]

    def wait_for(self, probe: Any, *, timeout: float = 10.0, what: str = "") -> Any:
        def check() -> Any:
            if self._proc is not None and self._proc.poll() is not None:
                raise AssertionError(f"worker exited ({self._proc.returncode}):\n{self.tail()}")
            return probe()

        return wait_until(check, timeout=timeout, what=what)

    def wait_summary(self, *, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        return list(
            self.wait_for(
                lambda: self.summaries() if len(self.summaries()) >= count else None,
                timeout=timeout,
                what=f"{count} call summary line(s)",
            )
        )

    def tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no worker log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
