"""Reloading the IVR (SIGHUP / `cti ivr reload`) changes new calls only."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from stasis_app.lab import Lab
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import Phone, channel_count
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

V1 = """
language = "en"
start = "main"
[menus.main]
prompts = ["welcome"]
timeout = 10
[menus.main.options]
"1" = { transfer = "2000" }
"""
V2 = V1.replace('"1" = { transfer = "2000" }', '"1" = { hangup = "goodbye" }')


@pytest.fixture
def ivr_file(tmp_path: Path) -> Path:
    path = tmp_path / "ivr.toml"
    path.write_text(V1)
    return path


@pytest.fixture
def worker(lab: Lab, tmp_path: Path, ivr_file: Path) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(tmp_path / "worker", ivr_file=ivr_file).start()
    yield proc
    proc.stop()


def test_reload_leaves_calls_in_progress_on_their_definition(
    lab: Lab, worker: WorkerProcess, ivr_file: Path, tmp_path: Path
) -> None:
    """A caller already in the IVR keeps the old menu (1 transfers to 2000) after a reload that
    changes 1 to hang up; a caller arriving after the reload gets the new menu."""
    with (
        Phone("2000", "test2000", workdir=tmp_path / "p2000", auto_answer=True) as callee,
        Phone("1000", "test1000", workdir=tmp_path / "p1000") as caller,
    ):
        callee.wait_registered()
        caller.wait_registered()
        caller.call("500")
        wait_until(lambda: channel_count(lab) == 1, what="first call in the IVR")

        ivr_file.write_text(V2)
        worker.stop_signal(signal.SIGHUP)
        worker.wait_for(lambda: worker.count("ivr.reloaded") == 1, what="the reload")

        caller.send_dtmf("1")
        callee.wait_event("CALL_ESTABLISHED", timeout=15.0)
        caller.hangup()
        caller.wait_event("CALL_CLOSED")
        callee.wait_event("CALL_CLOSED", timeout=10.0)
        wait_until(lambda: channel_count(lab) == 0, what="first call over")

        caller.call("500")
        caller.send_dtmf("1")
        caller.wait_event("CALL_CLOSED", timeout=15.0)
    assert [e.type for e in callee.events()].count("CALL_ESTABLISHED") == 1


def test_an_invalid_reload_is_refused_and_the_old_definition_stays(
    worker: WorkerProcess, ivr_file: Path
) -> None:
    """A reload of a broken file is logged with the problem and changes nothing."""
    ivr_file.write_text(V1.replace('start = "main"', 'start = "nowhere"'))

    worker.stop_signal(signal.SIGHUP)

    (rejected,) = worker.wait_for(
        lambda: [r for r in worker.records() if r.get("event") == "ivr.reload_rejected"],
        what="the rejection logged",
    )
    assert "start: unknown menu 'nowhere'" in rejected["error"]
    assert worker.running()
