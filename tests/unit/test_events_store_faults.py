"""The call store under faults: nothing is dropped with only a log line; the schema is versioned.

Faults are injected for real where SQLite can produce them (a full disk by a small
``max_page_count``, a lock held by a second connection) and by a connection subclass
(``CallStore(connection=...)``) where it cannot on demand.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stasis_app.ari.stream import Backoff
from stasis_app.errors import StoreSchemaTooNew
from stasis_app.events import CallEvent
from stasis_app.events.schema import MIGRATIONS, SCHEMA_VERSION
from stasis_app.events.store import CallStore

T0 = 1_700_000_000.0
QUICK = Backoff(initial=0.001, cap=0.01)


def _ev(call: str, action: str = "call-started", n: int = 0, **data: Any) -> CallEvent:
    return CallEvent(call, action, data, caller="1000", dialed="500", at=T0 + n)


def _until(condition: Callable[[], bool], what: str) -> None:
    """Poll for a state the writer thread reaches by itself (never a fixed sleep)."""
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _event_ids(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT event_id FROM events")}
    finally:
        conn.close()


class _Faults(sqlite3.Connection):
    """Raises ``error`` for the INSERT of events whose id is in ``bad`` (``times`` times each;
    -1: always), and applies ``max_pages`` to each write transaction (a small disk)."""

    bad: dict[str, int] = {}  # noqa: RUF012 - per-test state, reset by the fixture
    error: type[sqlite3.Error] = sqlite3.IntegrityError
    max_pages: int | None = None

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "BEGIN IMMEDIATE" and _Faults.max_pages is not None:
            super().execute(f"PRAGMA max_page_count = {_Faults.max_pages}")
        if sql.startswith("INSERT OR IGNORE INTO events") and args:
            self._check(args[0][0])
        return super().execute(sql, *args)

    def executemany(self, sql: str, rows: Iterable[Any], /) -> sqlite3.Cursor:
        rows = list(rows)
        if sql.startswith("INSERT OR IGNORE INTO events"):
            for n, row in enumerate(rows):
                try:
                    self._check(row[0])
                except sqlite3.Error:
                    super().executemany(sql, rows[:n])  # as SQLite does: the rows before it
                    raise
        return super().executemany(sql, rows)

    @staticmethod
    def _check(event_id: str) -> None:
        left = _Faults.bad.get(event_id, 0)
        if left:
            _Faults.bad[event_id] = left - 1 if left > 0 else left
            raise _Faults.error(f"injected failure for {event_id}")


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[CallStore]:
    _Faults.bad, _Faults.error, _Faults.max_pages = {}, sqlite3.IntegrityError, None
    store = CallStore(tmp_path / "calls.sqlite3", retention_days=0, retry=QUICK, connection=_Faults)
    yield store
    _Faults.bad, _Faults.max_pages = {}, None
    store.close()


def test_a_full_disk_loses_nothing_and_is_reported(faulty: CallStore) -> None:
    """SQLITE_FULL mid-batch rolls the batch back and retries it until there is room: every
    event is stored once the disk has space, and the failures were counted meanwhile."""
    conn = sqlite3.connect(faulty.path)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    _Faults.max_pages = pages + 2
    events = [_ev(f"c{n}", n=n, padding="x" * 2000) for n in range(40)]
    for event in events:
        faulty.emit(event)
    _until(lambda: faulty.status().write_failures > 0, "a failed write")
    status = faulty.status()
    assert status.failing
    assert status.last_error is not None
    assert "full" in status.last_error
    _Faults.max_pages = 1_000_000  # room again
    assert faulty.flush()
    assert _event_ids(faulty.path) == {e.event_id for e in events}
    assert faulty.status().failing is False


def test_a_locked_database_is_retried_not_dropped(tmp_path: Path) -> None:
    """Another process holding the write lock past the busy timeout delays events; it does not
    lose them."""
    store = CallStore(tmp_path / "calls.sqlite3", retention_days=0, retry=QUICK, busy_timeout=0.01)
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        event = _ev("c1")
        store.emit(event)
        _until(lambda: store.status().write_failures > 0, "a failed write")
        assert "locked" in (store.status().last_error or "")
        other.execute("ROLLBACK")
        assert store.flush()
        assert _event_ids(store.path) == {event.event_id}
    finally:
        other.close()
        store.close()


def test_a_transient_error_mid_batch_retries_the_whole_batch(faulty: CallStore) -> None:
    """An I/O error on the third insert of a batch: the batch is rolled back and written again,
    so the first two are not lost with it (nor the ones after)."""
    events = [_ev("c1", n=n) for n in range(5)]
    _Faults.bad, _Faults.error = {events[2].event_id: 1}, sqlite3.OperationalError
    for event in events:
        faulty.emit(event)
    assert faulty.flush()
    assert _event_ids(faulty.path) == {e.event_id for e in events}
    status = faulty.status()
    assert (status.write_failures, status.events_written, status.events_rejected) == (1, 5, 0)


def test_a_permanently_bad_event_is_set_aside_with_its_reason(faulty: CallStore) -> None:
    """An event SQLite refuses, and one that cannot be serialised, go to store_rejects with the
    reason; the rest of their batch is stored."""
    loop: dict[str, Any] = {}
    loop["self"] = loop
    refused, unserialisable = _ev("c1", n=1), _ev("c1", "note", n=2, anything=loop)
    good = [_ev("c1", n=0), _ev("c1", "menu-entered", n=3, menu="main")]
    _Faults.bad = {refused.event_id: -1}
    for event in (good[0], refused, unserialisable, good[1]):
        faulty.emit(event)
    assert faulty.flush()
    assert _event_ids(faulty.path) == {e.event_id for e in good}
    conn = sqlite3.connect(faulty.path)
    rejects = dict(conn.execute("SELECT event_id, reason FROM store_rejects"))
    record = json.loads(
        conn.execute(
            "SELECT record FROM store_rejects WHERE event_id = ?", (refused.event_id,)
        ).fetchone()[0]
    )
    conn.close()
    assert rejects[refused.event_id] == f"IntegrityError: injected failure for {refused.event_id}"
    assert rejects[unserialisable.event_id].startswith("ValueError: Circular reference")
    assert record["call_id"] == "c1"
    status = faulty.status()
    assert (status.events_rejected, status.events_written, status.failing) == (2, 2, False)


def test_without_retention_an_idle_writer_never_wakes(tmp_path: Path) -> None:
    """CTI_RETENTION_DAYS=0 keeps everything and costs no CPU: the writer blocks on its queue
    instead of polling it (its loop turns and clock reads are counted while idle)."""
    reads = 0

    def clock() -> float:
        nonlocal reads
        reads += 1
        return time.monotonic()

    store = CallStore(tmp_path / "calls.sqlite3", retention_days=0, monotonic=clock)
    try:
        store.emit(_ev("c1"))
        assert store.flush()
        before = (store._writer.wakeups, reads)
        threading.Event().wait(0.2)  # idle: a polling writer would turn thousands of times
        assert (store._writer.wakeups, reads) == before
    finally:
        store.close()


def test_events_alone_are_committed_when_their_window_ends(tmp_path: Path) -> None:
    """The writer sleeps through a window instead of waking per event; events nobody flushes
    still reach the file once it ends."""
    store = CallStore(tmp_path / "calls.sqlite3", retention_days=0)
    try:
        events = [_ev("c1", n=n) for n in range(5)]
        for event in events:
            store.emit(event)
        wanted = {e.event_id for e in events}
        _until(lambda: wanted <= _event_ids(tmp_path / "calls.sqlite3"), "the window's commit")
    finally:
        store.close()


def test_an_op_queued_behind_events_is_written_with_them(tmp_path: Path) -> None:
    """An op someone waits on ends the window: the events before it are in the same commit."""
    store = CallStore(tmp_path / "calls.sqlite3", retention_days=0)
    try:
        events = [_ev("c2", n=n) for n in range(3)]
        for event in events:
            store.emit(event)
        assert store.flush(timeout=10)
        assert {e.event_id for e in events} <= _event_ids(tmp_path / "calls.sqlite3")
    finally:
        store.close()


def test_with_retention_the_writer_wakes_once_per_purge_interval(tmp_path: Path) -> None:
    """With retention, the idle writer sleeps until the next purge is due (fake clock)."""
    now = [1000.0]
    store = CallStore(
        tmp_path / "calls.sqlite3", retention_days=1, purge_interval=3600, monotonic=lambda: now[0]
    )
    try:
        assert store.flush()
        before = store._writer.wakeups
        threading.Event().wait(0.2)  # the next purge is an hour away on the fake clock
        assert store._writer.wakeups == before
    finally:
        store.close()


# The schema as the releases before versioning made it (user_version 0): a fixture of the past,
# copied here on purpose; never derive it from stasis_app.events.schema.
LEGACY_DDL = """
CREATE TABLE events (
    event_id TEXT PRIMARY KEY, call_id TEXT NOT NULL, at REAL NOT NULL, action TEXT NOT NULL,
    doc TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0);
CREATE INDEX events_call ON events(call_id, at);
CREATE INDEX events_at ON events(at);
CREATE INDEX events_outbox ON events(at) WHERE state = 0;
CREATE TABLE calls (
    call_id TEXT PRIMARY KEY, started REAL NOT NULL, ended REAL, caller TEXT, dialed TEXT,
    callee TEXT, disposition TEXT, cause INTEGER, duration REAL, ivr_path TEXT);
CREATE INDEX calls_started ON calls(started);
CREATE TABLE dead_letters (event_id TEXT PRIMARY KEY, reason TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE agents (extension TEXT PRIMARY KEY, doc TEXT NOT NULL, at REAL NOT NULL);
INSERT INTO events VALUES ('e1', 'c1', 1700000000.0, 'call-started', '{"cti":{}}', 1);
INSERT INTO events VALUES ('e2', 'c1', 1700000010.0, 'call-ended', '{"cti":{}}', 2);
INSERT INTO dead_letters VALUES ('e2', '400 mapper_parsing_exception: bad', 1700000020.0);
INSERT INTO calls VALUES ('c1', 1700000000.0, 1700000010.0, '1000', '500', '2000',
    'answered', 16, 10.0, '["main"]');
INSERT INTO agents VALUES ('1004', '{"paused": true}', 1700000000.0);
"""


def test_a_file_of_the_previous_schema_is_migrated_with_its_rows(tmp_path: Path) -> None:
    """Opening a history made before versioning brings it to the current version and keeps
    its calls, events, dead letters and agents."""
    path = tmp_path / "calls.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_DDL)
    conn.close()
    store = CallStore(path, retention_days=0)
    try:
        [call] = store.list_calls()
        assert (call.call_id, call.callee, call.ivr_path) == ("c1", "2000", ("main",))
        assert [e.state for e in store.get_call("c1").events] == ["shipped", "dead-letter"]
        assert [d.event_id for d in store.dead_letters()] == ["e2"]
        assert store.load_agents() == {"1004": {"paused": True}}
        store.emit(_ev("c2"))  # and the new tables work
        assert store.flush()
    finally:
        store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM store_rejects").fetchone()[0] == 0
    conn.close()


def test_a_file_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    """A history written by a newer release is not opened: the error names the file and both
    versions, and the file is left as it was."""
    path = tmp_path / "calls.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreSchemaTooNew) as refused:
        CallStore(path, retention_days=0)
    message = str(refused.value)
    assert str(path) in message
    assert f"version {SCHEMA_VERSION + 1}" in message
    assert f"({SCHEMA_VERSION})" in message
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    conn.close()


def test_migrations_are_numbered_in_order() -> None:
    """Each migration takes the file one version up; the last one is the code's version."""
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_a_current_file_is_opened_without_migrating(tmp_path: Path) -> None:
    """Reopening a current file changes nothing (no migration runs twice)."""
    path = tmp_path / "calls.sqlite3"
    CallStore(path, retention_days=0).close()
    conn = sqlite3.connect(path)
    tables = conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    CallStore(path, retention_days=0).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall() == tables
    conn.close()
