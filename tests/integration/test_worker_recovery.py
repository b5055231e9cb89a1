"""The worker survives its own death and Asterisk's restarts without stranding callers."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from stasis_app.lab import Lab
from stasis_app.lab.prompts import install_lab_prompts
from tests.integration.cti import run_cti
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import Phone, channel_count, tone_sequence, write_wav
from tests.sipkit.ports import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.lab


@pytest.fixture
def signal_wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "signal.wav", tone_sequence(30.0, seed=5))


@contextlib.contextmanager
def _phone(
    user: str, tmp_path: Path, source: Path, *, auto_answer: bool = False
) -> Iterator[Phone]:
    """A started phone registered as ``user``, stopped on exit."""
    with Phone(
        user,
        f"test{user}",
        workdir=tmp_path / f"phone-{user}",
        audio_source=source,
        auto_answer=auto_answer,
    ) as phone:
        phone.wait_registered()
        yield phone


def _no_channels(lab: Lab) -> None:
    wait_until(lambda: channel_count(lab) == 0, timeout=15.0, what="no channel left in Asterisk")


def test_bridged_call_is_adopted_after_the_worker_is_killed(
    lab: Lab, worker: WorkerProcess, tmp_path: Path, signal_wav: Path
) -> None:
    """SIGKILL during a bridged 1000-2000 call: the call keeps its audio path; the restarted
    worker adopts it, so when 2000 hangs up, 1000 is hung up too and nothing is left."""
    with (
        _phone("2000", tmp_path, signal_wav, auto_answer=True) as callee,
        _phone("1000", tmp_path, signal_wav) as caller,
    ):
        caller.call("2000", timeout=15.0)
        callee.wait_event("CALL_ESTABLISHED")

        worker.stop(signal.SIGKILL)
        worker.start()
        worker.wait_for(
            lambda: worker.count("recovery.adopt") >= 1, what="the bridged call adopted"
        )
        status, body = worker.api("GET", "/channels")
        assert status == 200
        assert len([c for c in body["channels"] if c["bridge_id"]]) == 2, body

        callee.hangup()
        caller.wait_event("CALL_CLOSED", timeout=10.0)
    _no_channels(lab)


def test_ivr_call_restarts_after_the_worker_is_killed(
    lab: Lab, worker: WorkerProcess, tmp_path: Path, signal_wav: Path
) -> None:
    """SIGKILL while a caller is in the IVR: the restarted worker finds the caller still in
    Stasis and starts the IVR over for it; the call ends normally afterwards."""
    with _phone("1000", tmp_path, signal_wav) as caller:
        caller.call("500")
        worker.wait_for(lambda: channel_count(lab) == 1, what="the IVR call up")

        worker.stop(signal.SIGKILL)
        worker.start()
        worker.wait_for(
            lambda: worker.count("recovery.restart") >= 1, what="the IVR call restarted"
        )

        caller.hangup()
        caller.wait_event("CALL_CLOSED")
    _no_channels(lab)
    summaries = worker.wait_summary()
    assert summaries[-1]["dialed"] == "500"


def test_sigterm_ends_calls_in_progress_cleanly(
    lab: Lab, worker: WorkerProcess, tmp_path: Path, signal_wav: Path
) -> None:
    """SIGTERM while a caller is in the IVR: the worker hangs the call up (the phone is told)
    and exits 0, leaving no channel in Stasis."""
    with _phone("1000", tmp_path, signal_wav) as caller:
        caller.call("500")
        worker.wait_for(lambda: channel_count(lab) == 1, what="the IVR call up")

        code = worker.stop(signal.SIGTERM)

        caller.wait_event("CALL_CLOSED", timeout=10.0)
    assert code == 0
    _no_channels(lab)
    (summary,) = worker.summaries()
    assert summary["disposition"] == "worker-stopped"


def test_worker_reconnects_by_itself_when_asterisk_restarts(
    lab: Lab, worker: WorkerProcess, tmp_path: Path, signal_wav: Path
) -> None:
    """Asterisk goes away and comes back: the worker reconnects on its own and serves calls."""
    reconnects_before = worker.count("recovery.reconciled")
    lab.down()
    lab.up(install_prompts=lambda rootfs: install_lab_prompts(rootfs, progress=lambda _: None))

    worker.wait_for(
        lambda: worker.count("recovery.reconciled") > reconnects_before,
        timeout=40.0,
        what="the worker reconnected",
    )
    with _phone("1000", tmp_path, signal_wav) as caller:
        caller.call("7777")
        caller.hangup()
        caller.wait_event("CALL_CLOSED")
    assert worker.wait_summary()[-1]["disposition"] == "echo"


def test_wrong_ari_password_is_fatal_and_named(lab: Lab, tmp_path: Path) -> None:
    """A worker with the wrong ARI password does not retry forever: it exits 1 saying that
    Asterisk rejected the credentials (without printing the password)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    env |= {
        "CTI_ARI_PASSWORD": "not-the-password-" + "0" * 16,
        "CTI_API_TOKEN": "t" * 32,
        "CTI_DATA_DIR": str(tmp_path),
        "CTI_HTTP_PORT": str(free_port(udp=False)),
    }
    done = run_cti("run", env=env, timeout=30)
    assert done.returncode == 1
    assert "rejected the credentials" in done.stderr
    assert "not-the-password" not in done.stderr + done.stdout
