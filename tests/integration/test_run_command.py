"""The README's run command: `cti run --lab` (what ./run.sh execs) brings everything up, and
Ctrl-C brings everything down, leaving no Asterisk process and no mount behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from stasis_app.lab import Lab
from stasis_app.lab.prompts import install_lab_prompts
from stasis_app.lab.rootfs import proc_mounted
from tests.sipkit.ports import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.lab


def _connected_health(port: int) -> dict[str, Any] | None:
    """GET /health once the worker reports ARI connected; None before."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            health: dict[str, Any] = json.loads(answer.read())
    except OSError:
        return None
    return health if health.get("ari_connected") else None


def test_run_lab_starts_everything_and_ctrl_c_stops_everything(lab: Lab, tmp_path: Path) -> None:
    """`cti run --lab` starts Asterisk (endpoints 1000 and 2000 listed) and the worker with its
    REST API; SIGINT (Ctrl-C) stops the worker and the lab: no process, no /proc mount left."""
    lab.down()
    port = free_port(udp=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    env |= {"CTI_DATA_DIR": str(tmp_path / "data"), "CTI_HTTP_PORT": str(port)}
    env["CTI_LAB_DIR"] = str(lab.paths.base)
    with (tmp_path / "run.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stasis_app", "run", "--lab"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        health = wait_until(
            lambda: _connected_health(port),
            timeout=90.0,
            what="worker connected and API up",
        )
        assert health["status"] == "ok"
        endpoints = lab.cli("pjsip show endpoints")
        assert "1000/1000" in endpoints
        assert "2000/2000" in endpoints
        assert (tmp_path / "data" / "api-token").stat().st_mode & 0o777 == 0o600

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, (tmp_path / "run.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        lab_running_after = lab.pid()
        leftovers = lab.processes()
        mounted = proc_mounted(lab.paths.rootfs)
        lab.up(install_prompts=lambda root: install_lab_prompts(root, progress=lambda _: None))

    assert lab_running_after is None
    assert leftovers == []
    assert not mounted
