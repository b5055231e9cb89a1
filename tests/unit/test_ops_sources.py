"""Specification of what /health and /metrics read: the latency histogram and the timed ARI
transport, the call-event counters, the store's status, the task watch, CTI_METRICS_PUBLIC."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from stasis_app.ari.transport import RestResponse, TimedTransport
from stasis_app.errors import AriConnectionError, ConfigError
from stasis_app.events import CallEvent
from stasis_app.events import catalogue as ev
from stasis_app.events.counters import CallCounters
from stasis_app.events.store import CallStore
from stasis_app.histogram import Histogram
from stasis_app.settings import Settings
from stasis_app.status import AriTimings, WorkerStatusView
from stasis_app.supervisor import Supervisor


@pytest.mark.parametrize(
    ("values", "cumulative"),
    [
        ((), [(0.01, 0), (0.1, 0), (float("inf"), 0)]),
        ((0.01,), [(0.01, 1), (0.1, 1), (float("inf"), 1)]),  # a bound is in its own bucket
        ((0.005, 0.05, 3.0), [(0.01, 1), (0.1, 2), (float("inf"), 3)]),
    ],
)
def test_histogram_buckets_are_cumulative(
    values: tuple[float, ...], cumulative: list[tuple[float, int]]
) -> None:
    """Each bucket counts values at or under its bound; +Inf counts everything."""
    h = Histogram((0.01, 0.1))
    for v in values:
        h.observe(v)
    snap = h.snapshot()
    assert list(snap.buckets) == cumulative
    assert snap.count == len(values)
    assert snap.total == pytest.approx(sum(values))


@pytest.mark.parametrize("bounds", [(), (0.1, 0.01), (0.1, 0.1)])
def test_histogram_refuses_bad_bounds(bounds: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="ascending"):
        Histogram(bounds)


class _Inner:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object | None = None,
    ) -> RestResponse:
        if self.fail:
            raise AriConnectionError(f"{method} {path}: refused")
        return RestResponse(204, b"")

    async def aclose(self) -> None:
        pass


@pytest.mark.asyncio
@pytest.mark.parametrize("fail", [False, True])
async def test_timed_transport_times_answers_and_failures(fail: bool) -> None:
    """Every request's duration reaches the histogram of its method, failures included."""
    ticks = iter([1.0, 1.25])
    timings = AriTimings()
    transport = TimedTransport(_Inner(fail), timings.observe, clock=lambda: next(ticks))
    if fail:
        with pytest.raises(AriConnectionError):
            await transport.request("POST", "/channels/1/answer")
    else:
        assert (await transport.request("POST", "/channels/1/answer")).status == 204
    snap = timings.by_method["POST"].snapshot()
    assert (snap.count, snap.total) == (1, 0.25)


def _record(fact: ev.Fact) -> CallEvent:
    return CallEvent.of("c1", fact, caller="1000", dialed="500", at=0.0)


def test_call_counters_count_endings_and_options_only() -> None:
    """Call endings by disposition and options by (menu, digits); other events are ignored."""
    counters = CallCounters()
    for fact in (
        ev.MenuEntered(menu="main"),
        ev.OptionChosen(menu="main", digits="1", action="transfer to 2000"),
        ev.OptionChosen(menu="main", digits="1", action="transfer to 2000"),
        ev.CallEnded(disposition="answered"),
        ev.CallEnded(disposition="abandoned"),
        ev.CallEnded(disposition="answered"),
    ):
        counters.emit(_record(fact))
    assert counters.ended == {"answered": 2, "abandoned": 1}
    assert counters.options == {("main", "1"): 2}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    store = CallStore(tmp_path / "calls.sqlite3", retention_days=0)
    yield store
    store.close()


class _FailingCommits(sqlite3.Connection):
    """Fails the next ``failures`` COMMITs with a disk I/O error."""

    failures = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and _FailingCommits.failures > 0:
            _FailingCommits.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, *args)


def test_store_status_counts_writes_and_flags_a_failed_transaction(tmp_path: Path) -> None:
    """A failed commit sets ``failing`` with the error while it is retried; the retry that
    commits clears it, and the event is written."""
    paused = threading.Event()
    release = threading.Event()

    def hold(_delay: float) -> None:  # the writer's backoff sleep: hold it for the assertions
        paused.set()
        release.wait(5)

    store = CallStore(tmp_path / "calls.sqlite3", retention_days=0, connection=_FailingCommits)
    store._writer._sleep = hold
    try:
        _FailingCommits.failures = 1
        store.emit(_record(ev.CallEnded(disposition="answered")))
        assert paused.wait(5)
        failed = store.status()
        assert (failed.failing, failed.write_failures) == (True, 1)
        assert failed.last_error == "OperationalError: disk I/O error"
        release.set()
        assert store.flush()
        assert (store.status().failing, store.status().events_written) == (False, 1)
    finally:
        release.set()
        store.close()


class _WriterKiller(BaseException):
    """Not an Exception: nothing in the writer catches it, as a bug in the loop itself."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_store_status_sees_a_dead_writer(store: CallStore) -> None:
    """A writer thread killed by a bug is reported, not hidden; a closed store is not dead."""

    def bug(_conn: sqlite3.Connection) -> Any:
        raise _WriterKiller

    store._submit(bug)
    store._writer.join(5)
    assert store.status().writer_alive is False
    store.close(timeout=0.1)
    assert store.status().writer_alive is True


@pytest.mark.asyncio
async def test_worker_status_reports_ended_tasks_until_shutdown() -> None:
    """A task that ended (even cleanly) while the worker runs is dead, one that crashed is
    restarting; during shutdown none is."""

    async def auth_refused() -> None:
        raise AriConnectionError("refused")

    async def crashes() -> None:
        raise RuntimeError("lag monitor crashed")

    never = asyncio.Event()
    tasks = Supervisor(sleep=lambda _delay: never.wait())
    tasks.start("ari-events", auth_refused, essential=True, fatal=(AriConnectionError,))
    tasks.start("loop-lag-monitor", crashes, essential=False)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    view = WorkerStatusView.__new__(WorkerStatusView)
    view.supervisor = tasks
    view.stopping = False
    [dead] = view.dead_tasks
    assert (dead.name, dead.essential) == ("ari-events", True)
    assert dead.error == "AriConnectionError: refused"
    [restarting] = view.restarting_tasks
    assert (restarting.name, restarting.restarts) == ("loop-lag-monitor", 1)
    view.stopping = True
    assert view.dead_tasks == ()
    assert view.restarting_tasks == ()
    await tasks.stop()


BASE = {"CTI_ARI_PASSWORD": "p" * 24, "CTI_API_TOKEN": "t" * 24}


@pytest.mark.parametrize(
    ("raw", "public"), [(None, False), ("true", True), ("1", True), ("no", False), ("", False)]
)
def test_metrics_public_setting(raw: str | None, public: bool) -> None:
    env = BASE if raw is None else {**BASE, "CTI_METRICS_PUBLIC": raw}
    assert Settings.from_environ(env).metrics_public is public


def test_metrics_public_refuses_other_words() -> None:
    with pytest.raises(ConfigError, match="true or false"):
        Settings.from_environ({**BASE, "CTI_METRICS_PUBLIC": "sometimes"})
