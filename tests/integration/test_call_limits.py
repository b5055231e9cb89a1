"""Every call is bounded in time, also the channels the worker originates itself.

The dialplan sets ``TIMEOUT(absolute)`` on calls that enter it; a phone the worker rings
(``POST /channels`` originate: callee legs, click-to-dial, transfer targets, queue offers) never
passes through it, so the ARI client puts the same limit (``CTI_MAX_CALL_SECONDS``) in every
originate's variables. Here the limit is 4 s: Asterisk itself ends the rung phone's channel.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stasis_app.lab import Lab
from tests.integration.conftest import PhoneFactory
from tests.integration.workerproc import WorkerProcess

pytestmark = pytest.mark.lab


def test_a_phone_the_worker_rang_is_hung_up_by_asterisk_at_the_limit(
    lab: Lab, tmp_path: Path, phones: PhoneFactory
) -> None:
    worker = WorkerProcess(tmp_path / "worker", extra_env={"CTI_MAX_CALL_SECONDS": "4"}).start()
    try:
        callee = phones("1000", auto_answer=True)
        caller = phones("2000")
        caller.call("1000", timeout=15.0)
        callee.wait_event("CALL_ESTABLISHED", timeout=10.0)

        callee.wait_event("CALL_CLOSED", timeout=15.0)  # nobody hung up: the limit did
        caller.wait_event("CALL_CLOSED", timeout=10.0)
        (summary,) = worker.wait_summary(count=1, timeout=10.0)
        assert 3.5 <= summary["duration"] < 12, summary  # it lasted until the limit
    finally:
        worker.stop()
