"""The README's run command: `cti run --lab` (what ./run.sh execs) brings everything up, and
Ctrl-C brings everything down, leaving no Asterisk process and no mount behind."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stasis_app.lab import Lab
from stasis_app.lab.prompts import install_lab_prompts
from stasis_app.lab.rootfs import proc_mounted
from stasis_app.lab.worker_account import WORKER_ACCOUNT
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


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A folder the unprivileged worker account can reach (pytest's own are root's, 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="cti-run-test-", dir="/var/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_run_lab_starts_everything_and_ctrl_c_stops_everything(
    lab: Lab, tmp_path: Path, reachable_dir: Path
) -> None:
    """`cti run --lab` starts Asterisk (endpoints 1000 and 2000 listed) and the worker with its
    REST API, the worker as the unprivileged `cti` account owning a private data directory;
    SIGINT (Ctrl-C) stops the worker and the lab: no process, no /proc mount left."""
    lab.down()
    port = free_port(udp=False)
    data = reachable_dir / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    env |= {"CTI_DATA_DIR": str(data), "CTI_HTTP_PORT": str(port)}
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

        account = pwd.getpwnam(WORKER_ACCOUNT)
        worker = int((data / "worker.pid").read_text())
        assert worker != proc.pid
        assert os.stat(f"/proc/{worker}").st_uid == account.pw_uid, (
            tmp_path / "run.log"
        ).read_text()
        assert "warning" not in (tmp_path / "run.log").read_text()  # no fall-back to root
        for path, mode in ((data, 0o700), (data / "api-token", 0o600)):
            assert (path.stat().st_uid, path.stat().st_mode & 0o777) == (account.pw_uid, mode)
        history = data / "calls.sqlite3"
        assert history.stat().st_uid == account.pw_uid
        assert history.stat().st_mode & 0o077 == 0  # no one else reads callers' numbers

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
    assert not Path(f"/proc/{worker}").exists()
