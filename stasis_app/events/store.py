"""The embedded call history: an SQLite (WAL) file written by one thread, off the ARI event path.

``emit()`` is the :class:`~stasis_app.events.record.EventSink`: it only puts the event on a
``queue.SimpleQueue`` and returns, because call tasks share the loop that reads the ARI websocket.
One writer thread (:mod:`stasis_app.events.writer`: batching, retries, rejects) owns the only
writing connection, converts events to ECS documents, keeps each call's summary row up to date
and runs retention. Other writes (the Elasticsearch sink marking events shipped or dead) go
through the same queue, so SQLite never sees two writers. The schema and its migrations are
:mod:`stasis_app.events.schema`; opening the file migrates it first.

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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import structlog

from stasis_app.ari.stream import Backoff
from stasis_app.errors import CallNotFound
from stasis_app.events.ecs import DEFAULT_ORIGIN, Origin
from stasis_app.events.queries import (
    QUEUE_EVENTS,
    QUEUE_PLACES,
    CallDetail,
    CallSummary,
    DeadLetter,
    OutboxItem,
    TimelineEvent,
    filters,
    queue_data,
    summary,
)
from stasis_app.events.record import CallEvent
from stasis_app.events.schema import migrate
from stasis_app.events.writer import STOP, Op, StoreWriter

log = structlog.get_logger("cti.events.store")

PENDING: Final = 0
SHIPPED: Final = 1
DEAD: Final = 2
_STATE_NAMES: Final = {PENDING: "pending", SHIPPED: "shipped", DEAD: "dead-letter"}
DB_NAME: Final = "calls.sqlite3"


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The writer's health, read without touching SQLite (for /health and /metrics).

    ``backlog``: items queued for the writer thread; ``failing``: the last transaction failed
    and is being retried (cleared when it commits); ``write_failures``: failed transactions
    since start (each one retried, nothing dropped); ``events_rejected``: events the store could
    not write at all, kept in ``store_rejects`` with the reason.
    """

    writer_alive: bool
    failing: bool
    backlog: int
    events_written: int
    write_failures: int
    last_error: str | None
    events_rejected: int = 0


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
        monotonic: Callable[[], float] = time.monotonic,
        retry: Backoff | None = None,
        busy_timeout: float = 5.0,
        connection: type[sqlite3.Connection] = sqlite3.Connection,
        origin: Origin = DEFAULT_ORIGIN,
    ) -> None:
        """``origin``: the host and data stream every event's document names (the sink ships
        to that data stream); ``retry``: the backoff between attempts of a failed write
        (default 0.05 s doubling to 5 s); ``connection``: the ``sqlite3.connect`` factory
        (tests inject faults with it). Raises :class:`~stasis_app.errors.StoreSchemaTooNew` for
        a file made by newer code."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        # With an Elasticsearch sink the store is its outbox: retention must not delete what
        # was never delivered, however long Elasticsearch has been away.
        self.keep_unshipped = keep_unshipped
        self.origin = origin
        self._clock = clock
        self._busy_timeout_ms = int(busy_timeout * 1000)
        self._connection = connection
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._listeners: list[Callable[[], None]] = []
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        conn = self._connect()  # WAL and the current schema before anyone reads
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            migrate(conn, self.path)
        finally:
            conn.close()
        self._writer = StoreWriter(
            self._queue,
            self._connect,
            # Retention 0 keeps everything: no purge, and no timed wake-ups for one.
            purge=(lambda conn: self._purge(conn, self.retention_days))
            if retention_days > 0
            else None,
            purge_interval=purge_interval,
            on_commit=self._notify,
            backoff=retry or Backoff(initial=0.05, cap=5.0),
            origin=origin,
            clock=clock,
            monotonic=monotonic,
        )
        self._writer.start()

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
            self._queue.put(STOP)
            self._writer.wake()
            self._writer.join(timeout)
            if self._writer.is_alive():
                # Still retrying a write (disk full...): say what is not on disk yet.
                log.error(
                    "store.close_timed_out",
                    backlog=self._queue.qsize(),
                    error=self._writer.last_error,
                )
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def status(self) -> StoreStatus:
        """O(1), no SQLite: safe on the event loop at every scrape."""
        w = self._writer
        return StoreStatus(
            writer_alive=w.is_alive() or self._closed,
            failing=w.failing,
            backlog=self._queue.qsize(),
            events_written=w.written,
            write_failures=w.write_failures,
            last_error=w.last_error,
            events_rejected=w.rejected,
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
        rows = self._reader().execute(QUEUE_EVENTS, (at, *QUEUE_PLACES))
        return [(when, action, queue_data(action, json.loads(doc))) for when, action, doc in rows]

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
        where, params = filters(since, until, caller, extension, disposition)
        rows = self._reader().execute(
            f"SELECT * FROM calls{where} ORDER BY started DESC LIMIT ? OFFSET ?",  # noqa: S608
            (*params, limit, offset),
        )
        return [summary(row) for row in rows]

    def count_calls(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        caller: str | None = None,
        extension: str | None = None,
        disposition: str | None = None,
    ) -> int:
        where, params = filters(since, until, caller, extension, disposition)
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
        return CallDetail(summary(row), timeline)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = self._reader().execute(
            "SELECT d.event_id, e.call_id, e.action, d.reason, d.at FROM dead_letters d"
            " JOIN events e USING (event_id) ORDER BY d.at DESC LIMIT ?",
            (limit,),
        )
        return [DeadLetter(*row) for row in rows]

    # -------------------------------------------------------------------------- plumbing
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, factory=self._connection
        )
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
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
            self._queue.put(Op(run, future))
            self._writer.wake()
        return future

    def _notify(self) -> None:
        """After a commit that wrote events (on the writer thread)."""
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                log.exception("store.listener_failed")

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


__all__ = [
    "DB_NAME",
    "DEAD",
    "PENDING",
    "SHIPPED",
    "CallDetail",
    "CallStore",
    "CallSummary",
    "DeadLetter",
    "OutboxItem",
    "StoreStatus",
    "TimelineEvent",
]
