"""The embedded call history: an SQLite (WAL) file written by one thread, off the ARI event path.

``emit()`` is the :class:`~stasis_app.events.record.EventSink`: it only puts the event on a
``queue.SimpleQueue`` and returns, because call tasks share the loop that reads the ARI websocket.
One writer thread owns the only writing connection, converts events to ECS documents, keeps each
call's summary row up to date and runs retention. Other writes (the Elasticsearch sink marking
events shipped or dead) go through the same queue, so SQLite never sees two writers.

Reads (``list_calls``, ``get_call``, ``dead_letters``, the sink's ``pending``) are plain sync
methods on per-thread read-only connections: call them from a worker thread
(``asyncio.to_thread``), never on the event loop. WAL lets them run while the writer writes.

The events table doubles as the Elasticsearch outbox: ``state`` is pending (0), shipped (1) or
dead-lettered (2). An event is written once and only its state changes afterwards.

The queues keep two things here across worker restarts: each agent's state (``save_agent``, one
row per extension, never purged by retention) and today's queue figures, rebuilt from the queue
events themselves (``queue_outcomes_since``).
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import structlog

from stasis_app.errors import CallNotFound
from stasis_app.events import catalogue as ev
from stasis_app.events.ecs import to_ecs
from stasis_app.events.record import CallEvent
from stasis_app.threads import name_os_thread

log = structlog.get_logger("cti.events.store")

PENDING: Final = 0
SHIPPED: Final = 1
DEAD: Final = 2
_STATE_NAMES: Final = {PENDING: "pending", SHIPPED: "shipped", DEAD: "dead-letter"}
DB_NAME: Final = "calls.sqlite3"
# Items per write transaction. Small on purpose: converting events is pure Python holding the GIL,
# and the ARI loop waits for the GIL each time it wakes; between transactions the writer pauses
# (_YIELD) when more is queued, so a burst cannot starve the loop.
_DRAIN: Final = 64
_YIELD: Final = 0.001
# A transaction gathers events for up to this long. A commit costs more than the inserts it
# covers: one per window instead of one per event took the writer from ~2 to ~0.9 ms of CPU per
# IVR call (bench, 30 calls/s). Events reach the history (and the Elasticsearch outbox) at most
# this late; screen pops do not wait for it (they go through the bus, not the store).
_WINDOW: Final = 0.1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, call_id TEXT NOT NULL, at REAL NOT NULL, action TEXT NOT NULL,
    doc TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS events_call ON events(call_id, at);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE INDEX IF NOT EXISTS events_outbox ON events(at) WHERE state = 0;
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY, started REAL NOT NULL, ended REAL, caller TEXT, dialed TEXT,
    callee TEXT, disposition TEXT, cause INTEGER, duration REAL, ivr_path TEXT);
CREATE INDEX IF NOT EXISTS calls_started ON calls(started);
CREATE TABLE IF NOT EXISTS dead_letters (
    event_id TEXT PRIMARY KEY, reason TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS agents (
    extension TEXT PRIMARY KEY, doc TEXT NOT NULL, at REAL NOT NULL);
"""
# The queue events today's figures are rebuilt from: who joined, and each caller's one outcome.
_QUEUE_FACTS: Final = (ev.QueueJoined, *ev.QUEUE_OUTCOMES)
# Where each of their fields sits in the ECS document (their data is not stored apart from it).
_QUEUE_PLACES: Final[Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    fact.ACTION: tuple(
        (name, tuple(place.split(".")))
        for name, place in ev.placements(fact)
        if place not in (ev.SPECIAL, ev.EXTRA)
    )
    for fact in _QUEUE_FACTS
}
# Only placeholders are joined in: the actions are parameters.
_QUEUE_EVENTS: Final = (
    "SELECT at, action, doc FROM events WHERE at >= ? AND action IN ("  # noqa: S608
    + ", ".join("?" * len(_QUEUE_PLACES))
    + ") ORDER BY at, rowid"
)


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The writer's health, read without touching SQLite (for /health and /metrics).

    ``backlog``: items queued for the writer thread; ``failing``: the last transaction failed
    (cleared by the next one that commits); ``write_failures``: failed transactions since start.
    """

    writer_alive: bool
    failing: bool
    backlog: int
    events_written: int
    write_failures: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class CallSummary:
    """One row of the call list. ``disposition`` is None while the call is in progress."""

    call_id: str
    started: float
    ended: float | None
    caller: str | None
    dialed: str | None
    callee: str | None
    disposition: str | None
    cause: int | None
    duration: float | None
    ivr_path: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ivr_path": list(self.ivr_path)}


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    event_id: str
    at: float
    action: str
    state: str  # pending | shipped | dead-letter
    doc: dict[str, Any]  # the ECS document, as shipped


@dataclass(frozen=True, slots=True)
class CallDetail:
    summary: CallSummary
    events: tuple[TimelineEvent, ...]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    event_id: str
    call_id: str
    action: str
    reason: str
    at: float  # when it was rejected


@dataclass(frozen=True, slots=True)
class OutboxItem:
    event_id: str
    doc: str  # the ECS document as JSON text, ready for a _bulk body


@dataclass(frozen=True, slots=True)
class _Op:
    """A write other than an event, run on the writer thread; its result resolves ``future``."""

    run: Callable[[sqlite3.Connection], Any]
    future: Future[Any]


_STOP: Final = object()


class CallStore:
    """The call history and outbox. Build once (it creates the schema), then ``close()``."""

    def __init__(
        self,
        path: Path,
        *,
        retention_days: float = 90.0,
        purge_interval: float = 3600.0,
        keep_unshipped: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        # With an Elasticsearch sink the store is its outbox: retention must not delete what
        # was never delivered, however long Elasticsearch has been away.
        self.keep_unshipped = keep_unshipped
        self._purge_interval = purge_interval
        self._clock = clock
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._listeners: list[Callable[[], None]] = []
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        # Written by the writer thread only, read by status(): plain ints and a bool, so a reader
        # on the loop sees one value or the other, never a torn one, and never waits for a lock.
        self._failing = False
        self._written = 0
        self._write_failures = 0
        self._last_error: str | None = None
        conn = self._connect()  # schema and WAL before anyone reads
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        finally:
            conn.close()
        self._thread = threading.Thread(target=self._write_loop, name="cti-call-store", daemon=True)
        self._thread.start()

    @classmethod
    def in_dir(cls, data_dir: Path, **options: Any) -> CallStore:
        return cls(Path(data_dir) / DB_NAME, **options)

    # -------------------------------------------------------------------------- the sink
    def emit(self, event: CallEvent) -> None:
        """Queue ``event`` for the writer thread. Never blocks, never touches SQLite."""
        if self._closed:
            log.warning("store.event_after_close", call_id=event.call_id, action=event.action)
            return
        self._queue.put(event)

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` on the writer thread after new events are committed."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written. False if ``timeout`` passed first."""
        if self._closed:
            return True
        done = self._submit(lambda _conn: None)
        try:
            done.result(timeout)
        except TimeoutError:
            return False
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, stop the writer and close every connection. Idempotent."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def status(self) -> StoreStatus:
        """O(1), no SQLite: safe on the event loop at every scrape."""
        return StoreStatus(
            writer_alive=self._thread.is_alive() or self._closed,
            failing=self._failing,
            backlog=self._queue.qsize(),
            events_written=self._written,
            write_failures=self._write_failures,
            last_error=self._last_error,
        )

    # ------------------------------------------------------------ outbox (for the sink)
    def pending(self, limit: int) -> list[OutboxItem]:
        rows = self._reader().execute(
            "SELECT event_id, doc FROM events WHERE state = 0 ORDER BY at LIMIT ?", (limit,)
        )
        return [OutboxItem(event_id, doc) for event_id, doc in rows]

    def outbox_counts(self) -> tuple[int, int]:
        """(pending, dead-lettered): cheap (partial index, small table), for health checks."""
        conn = self._reader()
        pending = conn.execute("SELECT count(*) FROM events WHERE state = 0").fetchone()[0]
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        return int(pending), int(dead)

    def mark_shipped(self, event_ids: Sequence[str]) -> Future[None]:
        ids = [(event_id,) for event_id in event_ids]
        return self._submit(
            lambda conn: conn.executemany("UPDATE events SET state = 1 WHERE event_id = ?", ids)
        )

    def dead_letter(self, rejected: Sequence[tuple[str, str]]) -> Future[None]:
        """Mark ``(event_id, reason)`` pairs as rejected for their content: never resent."""
        now = self._clock()

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE events SET state = 2 WHERE event_id = ?", [(e,) for e, _ in rejected]
            )
            conn.executemany(
                "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?)",
                [(e, reason, now) for e, reason in rejected],
            )

        return self._submit(run)

    def retry_dead_letters(self) -> Future[int]:
        """Put every dead-lettered event back in the outbox (after the mapping was fixed)."""

        def run(conn: sqlite3.Connection) -> int:
            count = conn.execute("UPDATE events SET state = 0 WHERE state = 2").rowcount
            conn.execute("DELETE FROM dead_letters")
            return int(count)

        return self._submit(run)

    def purge_older_than(self, days: float) -> Future[int]:
        """Delete calls, events and dead letters older than ``days`` (but not undelivered events
        when ``keep_unshipped``, nor the calls they belong to); resolves to calls deleted."""
        return self._submit(lambda conn: self._purge(conn, days))

    # --------------------------------------------------------------------- queue agents
    def save_agent(self, extension: str, doc: Mapping[str, Any]) -> Future[None]:
        """Keep ``doc`` as ``extension``'s agent state, replacing what was kept. Like ``emit``,
        it only queues the write (``doc`` is copied now). Retention never deletes agents."""
        try:
            text = json.dumps(doc, separators=(",", ":"), default=str)
        except (TypeError, ValueError) as exc:
            # A bad document must not reach the caller's stack (the ACD, on the event loop).
            log.exception("store.agent_rejected", extension=extension)
            failed: Future[None] = Future()
            failed.set_exception(exc)
            return failed
        at = self._clock()

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO agents VALUES (?, ?, ?)", (extension, text, at))

        return self._submit(run)

    def load_agents(self) -> dict[str, dict[str, Any]]:
        """Every kept agent state by extension (sync: at startup, via ``asyncio.to_thread``).
        A row that is not a JSON object is skipped with a warning, never fatal."""
        agents: dict[str, dict[str, Any]] = {}
        for extension, text in self._reader().execute(
            "SELECT extension, doc FROM agents ORDER BY extension"
        ):
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                agents[extension] = doc
            else:
                log.warning("store.agent_unreadable", extension=extension)
        return agents

    def queue_outcomes_since(self, at: float) -> list[tuple[float, str, dict[str, Any]]]:
        """``(at, action, data)`` of every queue-joined event and queue outcome (answered,
        abandoned, overflowed) stored at or after ``at``, oldest first: what today's figures
        are rebuilt from. ``data`` is the record's data, read back from the ECS document."""
        rows = self._reader().execute(_QUEUE_EVENTS, (at, *_QUEUE_PLACES))
        return [(when, action, _queue_data(action, json.loads(doc))) for when, action, doc in rows]

    # ----------------------------------------------------------------------------- reads
    def list_calls(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        caller: str | None = None,
        extension: str | None = None,
        disposition: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[CallSummary]:
        """Calls, newest first. ``extension`` matches the dialed number or the final callee;
        ``disposition="in-progress"`` selects calls that have not ended."""
        where, params = _filters(since, until, caller, extension, disposition)
        rows = self._reader().execute(
            f"SELECT * FROM calls{where} ORDER BY started DESC LIMIT ? OFFSET ?",  # noqa: S608
            (*params, limit, offset),
        )
        return [_summary(row) for row in rows]

    def count_calls(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        caller: str | None = None,
        extension: str | None = None,
        disposition: str | None = None,
    ) -> int:
        where, params = _filters(since, until, caller, extension, disposition)
        row = self._reader().execute(f"SELECT count(*) FROM calls{where}", params).fetchone()  # noqa: S608
        return int(row[0])

    def get_call(self, call_id: str) -> CallDetail:
        """The call's summary and its events in order. Raises :class:`CallNotFound`."""
        conn = self._reader()
        row = conn.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            raise CallNotFound(call_id)
        events = conn.execute(
            "SELECT event_id, at, action, state, doc FROM events WHERE call_id = ?"
            " ORDER BY at, rowid",
            (call_id,),
        )
        timeline = tuple(
            TimelineEvent(eid, at, action, _STATE_NAMES.get(state, str(state)), json.loads(doc))
            for eid, at, action, state, doc in events
        )
        return CallDetail(_summary(row), timeline)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = self._reader().execute(
            "SELECT d.event_id, e.call_id, e.action, d.reason, d.at FROM dead_letters d"
            " JOIN events e USING (event_id) ORDER BY d.at DESC LIMIT ?",
            (limit,),
        )
        return [DeadLetter(*row) for row in rows]

    # -------------------------------------------------------------------------- plumbing
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _submit(self, run: Callable[[sqlite3.Connection], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(RuntimeError("the call store is closed"))
        else:
            self._queue.put(_Op(run, future))
        return future

    def _write_loop(self) -> None:
        name_os_thread()
        conn = self._connect()
        # WAL + NORMAL: a crash of the process loses nothing committed; a power cut may lose
        # the last transactions, which is the usual trade for not fsyncing every event.
        conn.execute("PRAGMA synchronous=NORMAL")
        next_purge = time.monotonic()
        stopping = False
        try:
            while not stopping:
                if self.retention_days > 0 and time.monotonic() >= next_purge:
                    self._guarded(
                        conn, [_Op(lambda c: self._purge(c, self.retention_days), Future())]
                    )
                    next_purge = time.monotonic() + self._purge_interval
                try:
                    first = self._queue.get(timeout=max(0.0, next_purge - time.monotonic()))
                except queue.Empty:
                    continue
                batch = [first]
                # Gather for up to _WINDOW (see there). An op someone waits on (flush, the
                # sink's marks) or a close ends the window at once.
                window_ends = time.monotonic() + _WINDOW
                while len(batch) < _DRAIN and isinstance(batch[-1], CallEvent):
                    wait = window_ends - time.monotonic()
                    try:
                        batch.append(
                            self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                        )
                    except queue.Empty:
                        break
                stopping = any(item is _STOP for item in batch)
                self._guarded(conn, [item for item in batch if item is not _STOP])
                if len(batch) == _DRAIN:
                    time.sleep(_YIELD)
        finally:
            conn.close()

    def _guarded(self, conn: sqlite3.Connection, batch: Sequence[object]) -> None:
        """Write ``batch`` in one transaction; resolve ops only after the commit."""
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        written = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in batch:
                if isinstance(item, CallEvent):
                    written += self._write_event(conn, item)
                elif isinstance(item, _Op):
                    try:
                        results.append((item.future, item.run(conn), None))
                    except sqlite3.Error as exc:
                        results.append((item.future, None, exc))
            conn.execute("COMMIT")
            self._failing, self._written = False, self._written + written
        except sqlite3.Error as exc:
            log.exception("store.write_failed", items=len(batch))
            self._failing, self._last_error = True, f"{type(exc).__name__}: {exc}"
            self._write_failures += 1
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(f, None, exc) for f, _, _ in results]
            written = 0
        wrote_events = written > 0
        for future, value, error in results:
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)
        if wrote_events:
            for listener in self._listeners:
                try:
                    listener()
                except Exception:
                    log.exception("store.listener_failed")

    def _write_event(self, conn: sqlite3.Connection, event: CallEvent) -> bool:
        try:
            doc = json.dumps(to_ecs(event), separators=(",", ":"), default=str)
            cursor = conn.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, 0)",
                (event.event_id, event.call_id, event.at, event.action, doc),
            )
            if cursor.rowcount:
                _update_summary(conn, event)
        except (sqlite3.Error, TypeError, ValueError):
            # One malformed event must not cost the rest of the batch.
            log.exception("store.event_rejected", call_id=event.call_id, action=event.action)
            return False
        return bool(cursor.rowcount)

    def _purge(self, conn: sqlite3.Connection, days: float) -> int:
        cutoff = self._clock() - days * 86400
        if self.keep_unshipped:
            conn.execute("DELETE FROM events WHERE at < ? AND state != ?", (cutoff, PENDING))
        else:
            conn.execute("DELETE FROM events WHERE at < ?", (cutoff,))
        conn.execute("DELETE FROM dead_letters WHERE at < ?", (cutoff,))
        # A call goes with its last event: one with undelivered events keeps its summary row.
        calls = conn.execute(
            "DELETE FROM calls WHERE coalesce(ended, started) < ?"
            " AND NOT EXISTS (SELECT 1 FROM events WHERE events.call_id = calls.call_id)",
            (cutoff,),
        )
        if calls.rowcount:
            log.info("store.purged", calls=calls.rowcount, older_than_days=days)
        if self.keep_unshipped:
            kept = conn.execute(
                "SELECT count(*) FROM events WHERE at < ? AND state = ?", (cutoff, PENDING)
            ).fetchone()[0]
            if kept:
                log.warning(
                    "store.kept_unshipped",
                    events=kept,
                    older_than_days=days,
                    hint="Elasticsearch has not taken them for longer than the retention; "
                    "they stay until it does (see /health and cti calls dead-letters)",
                )
        return int(calls.rowcount)


def _update_summary(conn: sqlite3.Connection, event: CallEvent) -> None:
    """Keep the call's row in step with its events: every event makes sure the row exists."""
    conn.execute(
        "INSERT INTO calls (call_id, started, caller, dialed) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(call_id) DO UPDATE SET started = min(started, excluded.started),"
        " caller = coalesce(caller, excluded.caller), dialed = coalesce(dialed, excluded.dialed)",
        (event.call_id, event.at, event.caller, event.dialed),
    )
    match event.fact():
        # The callee is the last extension the call was sent to, rang or was handed over to.
        case (
            ev.Transferred(extension=extension)
            | ev.Dialing(extension=extension)
            | ev.Bridged(extension=extension)
            | ev.TransferCompleted(extension=extension)
        ) if extension:
            conn.execute(
                "UPDATE calls SET callee = ? WHERE call_id = ?", (str(extension), event.call_id)
            )
        case ev.CallEnded() as ended:
            conn.execute(
                "UPDATE calls SET ended = ?, disposition = ?, cause = ?, duration = ?,"
                " ivr_path = ?, callee = coalesce(?, callee) WHERE call_id = ?",
                (
                    event.at,
                    str(ended.disposition or "unknown"),
                    # Records are read back unchecked: keep only numbers.
                    ended.cause if isinstance(ended.cause, int) else None,
                    float(ended.duration) if isinstance(ended.duration, (int, float)) else None,
                    json.dumps([str(step) for step in ended.ivr_path] or _menus(conn, event)),
                    ended.callee,
                    event.call_id,
                ),
            )


def _menus(conn: sqlite3.Connection, event: CallEvent) -> list[str]:
    """The menus the call's stored events say it entered: a call resumed after a worker restart
    ends without knowing its IVR path, but the events recorded before the restart do."""
    rows = conn.execute(
        "SELECT doc FROM events WHERE call_id = ? AND action = ? ORDER BY at",
        (event.call_id, ev.MenuEntered.ACTION),
    )
    menus = []
    for (doc,) in rows:
        menu = json.loads(doc).get("cti", {}).get("menu")
        if isinstance(menu, str):
            menus.append(menu)
    return menus


def _filters(
    since: float | None,
    until: float | None,
    caller: str | None,
    extension: str | None,
    disposition: str | None,
) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    conditions: Iterable[tuple[Any, str, int]] = (
        (since, "started >= ?", 1),
        (until, "started < ?", 1),
        (caller, "caller = ?", 1),
        (extension, "(dialed = ? OR callee = ?)", 2),
    )
    for value, clause, count in conditions:
        if value is not None:
            clauses.append(clause)
            params.extend([value] * count)
    if disposition == "in-progress":
        clauses.append("disposition IS NULL")
    elif disposition is not None:
        clauses.append("disposition = ?")
        params.append(disposition)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _queue_data(action: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The data of a queue event, back from its ECS document: the inverse of ``to_ecs`` for
    fields placed at a path, plus ``cti.extra`` (fields the catalogue did not know)."""
    cti = doc.get("cti")
    extra = cti.get("extra") if isinstance(cti, Mapping) else None
    data: dict[str, Any] = dict(extra) if isinstance(extra, Mapping) else {}
    for name, path in _QUEUE_PLACES[action]:
        node: Any = doc
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            data[name] = node
    return data


def _summary(row: Sequence[Any]) -> CallSummary:
    call_id, started, ended, caller, dialed, callee, disposition, cause, duration, path = row
    steps = tuple(json.loads(path)) if path else ()
    return CallSummary(
        call_id, started, ended, caller, dialed, callee, disposition, cause, duration, steps
    )
