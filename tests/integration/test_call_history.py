"""Call events from real calls: the embedded history, and shipping to an Elasticsearch-compatible
`_bulk` endpoint that goes away during calls and comes back."""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stasis_app.lab import Lab
from tests.fakes.bulk_server import BulkServer
from tests.integration.cti import run_cti
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import Phone, channel_count
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

OUTAGE_S = 60.0  # "goes away for a minute during calls and comes back" (issue #5)


class SyncBulkServer:
    """The fake `_bulk` server on its own loop thread, driven from a synchronous test."""

    def __init__(self) -> None:
        self.server = BulkServer()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def start(self) -> str:
        return str(self._run(self.server.start()))

    def down(self) -> None:
        self._run(self.server.down())

    def up(self) -> None:
        self._run(self.server.up())

    def close(self) -> None:
        self._run(self.server.down())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def bulk() -> Iterator[SyncBulkServer]:
    server = SyncBulkServer()
    server.start()
    yield server
    server.close()


def _call_500_and_hang_up(lab: Lab, phone: Phone) -> None:
    phone.call("500")
    wait_until(lambda: channel_count(lab) == 1, what="the call up")
    # The dialplan answers 500 before Stasis(): a hangup that quick never reaches the worker,
    # and the call would be missing from the history for the test's own haste. The greeting
    # is the worker's, so hearing it means the worker has the call.
    wait_until(lambda: phone.received_seconds() >= 0.3, what="the worker's greeting")
    phone.hangup()
    phone.wait_event("CALL_CLOSED")
    wait_until(lambda: channel_count(lab) == 0, what="the call gone")


def _timeline(worker: WorkerProcess, call_id: str) -> list[dict[str, Any]]:
    status, body = worker.api("GET", f"/calls/{call_id}")
    assert status == 200, body
    return list(body["events"])


def _ended_calls(worker: WorkerProcess) -> list[dict[str, Any]]:
    status, body = worker.api("GET", "/calls")
    assert status == 200, body
    return [c for c in body["calls"] if c["disposition"] != "in-progress" and c["ended"]]


def test_calls_appear_in_history_with_their_timeline(lab: Lab, tmp_path: Path) -> None:
    """A call to the IVR is listed by GET /calls and `cti calls list`, and GET /calls/{id}
    gives its timeline in order: started, answered, menu entered ... ended."""
    worker = WorkerProcess(tmp_path / "worker").start()
    try:
        with Phone("1000", "test1000", workdir=tmp_path / "phone") as phone:
            phone.wait_registered()
            _call_500_and_hang_up(lab, phone)

        (call,) = wait_until(lambda: _ended_calls(worker), what="the call in the history")
        assert call["caller"] == "1000"
        assert call["dialed"] == "500"
        actions = [e["action"] for e in _timeline(worker, call["call_id"])]
        assert actions[:3] == ["call-started", "answered", "menu-entered"]
        assert actions[-1] == "call-ended"

        # Through the worker's API, as from another host.
        env = dict(os.environ, CTI_API_URL=worker.api_url, CTI_API_TOKEN=worker.token)
        listed = run_cti("calls", "list", env=env)
    finally:
        worker.stop()
    assert listed.returncode == 0, listed.stderr
    assert call["call_id"] in listed.stdout


def test_events_reach_elasticsearch_exactly_once_across_an_outage(
    lab: Lab, tmp_path: Path, bulk: SyncBulkServer
) -> None:
    """With the `_bulk` endpoint down for a minute while calls happen, every event of every
    call arrives once it is back: each event id created exactly once, none missing."""
    worker = WorkerProcess(
        tmp_path / "worker", extra_env={"CTI_ELASTICSEARCH_URL": bulk.server.url}
    ).start()
    try:
        with Phone("1000", "test1000", workdir=tmp_path / "phone") as phone:
            phone.wait_registered()
            _call_500_and_hang_up(lab, phone)
            first = wait_until(lambda: _ended_calls(worker), what="first call recorded")
            wait_until(
                lambda: (
                    {e["event_id"] for e in _timeline(worker, first[0]["call_id"])}
                    <= set(bulk.server.docs)
                ),
                timeout=20.0,
                what="first call shipped",
            )

            # The minute, for real: calls keep coming while the endpoint is away, and
            # the sink's backoff reaches its 30 s cap before the endpoint is back.
            bulk.down()
            outage_ends = time.monotonic() + OUTAGE_S
            calls = 1
            while time.monotonic() < outage_ends:
                _call_500_and_hang_up(lab, phone)
                calls += 1
                time.sleep(min(5.0, max(0.0, outage_ends - time.monotonic())))
            wait_until(lambda: len(_ended_calls(worker)) == calls, what="every call recorded")
            assert not set(bulk.server.docs) - {
                e["event_id"] for e in _timeline(worker, first[0]["call_id"])
            }, "nothing may arrive while the endpoint is down"
            bulk.up()

        expected = {
            e["event_id"] for c in _ended_calls(worker) for e in _timeline(worker, c["call_id"])
        }
        wait_until(
            lambda: expected <= set(bulk.server.docs), timeout=60.0, what="every event shipped"
        )
        assert set(bulk.server.docs) == expected
        assert all(bulk.server.created[event_id] == 1 for event_id in expected)
        index = {bulk.server.indices[event_id] for event_id in expected}
        assert index == {"logs-cti.calls-default"}
    finally:
        worker.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB ext4 filesystem, loop-mounted, with no blocks reserved for root (the worker
    runs as root here): filling it gives the store a real ENOSPC, as a full disk would."""
    image, mount = tmp_path / "disk.img", tmp_path / "disk"
    mount.mkdir()
    with image.open("wb") as f:
        f.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-m", "0", "-F", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Write zeros until the filesystem refuses: the disk is now full."""
    filler = disk / "filler"
    chunk = bytes(64 * 1024)
    with filler.open("wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return filler


def _problem_codes(worker: WorkerProcess) -> set[str]:
    status, body = worker.api("GET", "/health")
    assert status in (200, 503), body
    return {p["code"] for p in body.get("problems", [])}


def test_a_full_disk_under_the_store_loses_no_event(
    lab: Lab, tmp_path: Path, small_disk: Path
) -> None:
    """With the history's filesystem full, calls go on; /health says the store is retrying;
    once space returns every event of those calls is written, the same timeline as a call made
    before the disk filled."""
    worker = WorkerProcess(
        tmp_path / "worker", extra_env={"CTI_DATA_DIR": str(small_disk / "data")}
    ).start()
    try:
        with Phone("1000", "test1000", workdir=tmp_path / "phone") as phone:
            phone.wait_registered()
            _call_500_and_hang_up(lab, phone)
            (control,) = wait_until(lambda: _ended_calls(worker), what="the control call")
            expected = [e["action"] for e in _timeline(worker, control["call_id"])]

            filler = _fill(small_disk)
            for _ in range(3):
                _call_500_and_hang_up(lab, phone)
            worker.wait_for(
                lambda: "store-retrying" in _problem_codes(worker),
                timeout=15.0,
                what="/health: the store retrying on the full disk",
            )
            assert worker.count("store.write_retry") > 0
            assert len(worker.wait_summary(count=4)) == 4  # the calls went on meanwhile
            assert len(_ended_calls(worker)) == 1  # and nothing of them is stored yet

            filler.unlink()
            worker.wait_for(
                lambda: len(_ended_calls(worker)) == 4, timeout=20.0, what="the 3 calls stored"
            )
        for call in _ended_calls(worker):
            assert [e["action"] for e in _timeline(worker, call["call_id"])] == expected
        worker.wait_for(
            lambda: "store-retrying" not in _problem_codes(worker),
            timeout=10.0,
            what="/health clear once the writes succeed",
        )
    finally:
        worker.stop()
