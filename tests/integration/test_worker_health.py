"""Health and metrics as an operator sees them, against the real lab: /health follows Asterisk
going away and coming back, and /metrics counts a real call while it lasts and after it ends."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from stasis_app.lab import Lab
from stasis_app.lab.prompts import install_lab_prompts
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import Phone, channel_count
from tests.waiting import wait_until

pytestmark = pytest.mark.lab


def _health(worker: WorkerProcess) -> tuple[int, dict[str, Any]]:
    """GET /health without credentials, as a load balancer asks it."""
    try:
        with urllib.request.urlopen(worker.api_url + "/health", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _metrics(worker: WorkerProcess) -> str:
    request = urllib.request.Request(
        worker.api_url + "/metrics", headers={"Authorization": f"Bearer {worker.token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return str(answer.read().decode())


def _sample(text: str, name: str, labels: str = "") -> float:
    """One series' value (0 when the series is absent, as a counter that never moved)."""
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_health_is_503_while_asterisk_is_down_and_200_when_it_is_back(
    lab: Lab, worker: WorkerProcess
) -> None:
    status, body = _health(worker)
    assert (status, body["status"]) == (200, "ok")
    try:
        lab.down()
        status, body = worker.wait_for(
            lambda: (r := _health(worker))[0] == 503 and r,
            timeout=15.0,
            what="/health 503 with Asterisk down",
        )
        assert body["status"] == "unavailable"
        assert "ari-disconnected" in {p["code"] for p in body["problems"]}
    finally:
        lab.up(install_prompts=lambda root: install_lab_prompts(root, progress=lambda _: None))
    worker.wait_for(
        lambda: _health(worker)[0] == 200, timeout=30.0, what="/health 200 once it is back"
    )


def test_metrics_count_a_call_while_it_lasts_and_after(
    lab: Lab, worker: WorkerProcess, tmp_path: Path
) -> None:
    before = _metrics(worker)
    assert _sample(before, "cti_calls_active") == 0
    with Phone("1000", "test1000", workdir=tmp_path) as phone:
        phone.wait_registered()
        phone.call("500")
        wait_until(lambda: phone.received_seconds() >= 0.3, what="the worker's greeting")
        worker.wait_for(
            lambda: _sample(_metrics(worker), "cti_calls_active") == 1,
            what="cti_calls_active 1 during the call",
        )
        phone.hangup()
        phone.wait_event("CALL_CLOSED")
    wait_until(lambda: channel_count(lab) == 0, what="the call gone")
    worker.wait_for(
        lambda: _sample(_metrics(worker), "cti_calls_active") == 0,
        what="cti_calls_active back to 0",
    )
    after = _metrics(worker)
    moved = {
        labels: _sample(after, "cti_calls_ended_total", labels)
        - _sample(before, "cti_calls_ended_total", labels)
        for labels in re.findall(r"^cti_calls_ended_total(\{[^}]*\})", after, re.MULTILINE)
    }
    assert sum(moved.values()) == 1, moved  # one call ended, under one disposition
