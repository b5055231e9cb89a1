"""The call store's writer thread: the only connection that writes ``calls.sqlite3``.

It takes items off a ``queue.SimpleQueue`` (call events, and :class:`Op` writes such as the
sink's marks), gathers them into windowed transactions and runs retention. Nothing queued is
ever dropped with only a log line:

=======================================================  ==========================================
what fails                                                what happens
=======================================================  ==========================================
the transaction (disk full, database locked, I/O error:  rolled back; the *whole* batch is retried
``OperationalError``; or SQLite rolled it back itself)   with capped backoff, forever; counted in
                                                         ``write_failures``, ``failing`` until a
                                                         commit succeeds (/health, /metrics)
one event (not JSON-serialisable; refused by SQLite:     only that event is undone (a savepoint);
integrity, binding or size errors)                       it goes to ``store_rejects`` with the
                                                         reason, counted in ``rejected``
one :class:`Op` (any error but a transient one)          that op's future fails; the batch commits
=======================================================  ==========================================

A window's events go in with one ``executemany`` and one upsert per call; only when SQLite
refuses one of them (or one is already stored) is the run written again event by event, each in
its own savepoint, to find the one at fault.

Retention wakes the thread once per ``purge_interval``; without retention the thread sleeps in
``queue.get()`` until there is work, so an idle store costs no CPU.
"""

from __future__ import annotations

import functools
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from stasis_app.ari.stream import Backoff
from stasis_app.events import catalogue as ev
from stasis_app.events.ecs import DEFAULT_ORIGIN, Origin, to_ecs
from stasis_app.events.record import CallEvent
from stasis_app.threads import name_os_thread

log = structlog.get_logger("cti.events.store")

# Items per write transaction. Small on purpose: converting events is pure Python holding the GIL,
# and the ARI loop waits for the GIL each time it wakes; between transactions the writer pauses
# (_YIELD) when more is queued, so a burst cannot starve the loop.
DRAIN: Final = 64
_YIELD: Final = 0.001
# A transaction gathers events for up to this long. A commit costs more than the inserts it
# covers: one per window instead of one per event took the writer from ~2 to ~0.9 ms of CPU per
# IVR call (bench, 30 calls/s). Events reach the history (and the Elasticsearch outbox) at most
# this late; screen pops do not wait for it (they go through the bus, not the store).
# The window is slept through, not spent waiting on the queue: a thread blocked in get() is woken
# by every put, so each event cost the ARI loop a thread wake-up and the writer a GIL round trip;
# now only the first event of a window and what someone waits on (:meth:`StoreWriter.wake`) wake it.
WINDOW: Final = 0.1


@dataclass(frozen=True, slots=True)
class Op:
    """A write other than an event, run on the writer thread; its result resolves ``future``."""

    run: Callable[[sqlite3.Connection], Any]
    future: Future[Any] = field(default_factory=Future)


STOP: Final = object()


class _ItemFailed(Exception):
    """One item (not the transaction) failed: carries the cause."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


class StoreWriter:
    """Owns the writing thread. Counters are written by that thread only and read lock-free."""

    def __init__(
        self,
        items: queue.SimpleQueue[object],
        connect: Callable[[], sqlite3.Connection],
        *,
        purge: Callable[[sqlite3.Connection], int] | None,
        purge_interval: float,
        on_commit: Callable[[], None],
        backoff: Backoff,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        origin: Origin = DEFAULT_ORIGIN,
    ) -> None:
        self._items = items
        self._origin = origin
        self._connect = connect
        self._purge = purge
        self._purge_interval = purge_interval
        self._on_commit = on_commit
        self._backoff = backoff
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self.failing = False
        self.written = 0
        self.write_failures = 0
        self.rejected = 0
        self.last_error: str | None = None
        self.wakeups = 0  # loop turns: what an idle store must not spend
        self._urgent = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cti-call-store", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def wake(self) -> None:
        """End the current window now: call after queueing an item someone waits on (an
        :class:`Op`, ``STOP``); events just queued are written with it."""
        self._urgent.set()

    # ------------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        name_os_thread()
        conn = self._connect()
        # WAL + NORMAL: a crash of the process loses nothing committed; a power cut may lose
        # the last transactions, which is the usual trade for not fsyncing every event.
        conn.execute("PRAGMA synchronous=NORMAL")
        next_purge = self._monotonic() if self._purge is not None else None
        stopping = False
        try:
            while not stopping:
                self.wakeups += 1
                timeout: float | None = None  # no retention: sleep until there is work
                if next_purge is not None and self._purge is not None:
                    if self._monotonic() >= next_purge:
                        self.commit(conn, [Op(self._purge)])
                        next_purge = self._monotonic() + self._purge_interval
                    timeout = max(0.0, next_purge - self._monotonic())
                try:
                    first = self._items.get(timeout=timeout)
                except queue.Empty:
                    continue
                batch = self._gather(first)
                stopping = any(item is STOP for item in batch)
                self.commit(conn, [item for item in batch if item is not STOP])
                if len(batch) == DRAIN:
                    time.sleep(_YIELD)
        finally:
            conn.close()

    def _gather(self, first: object) -> list[object]:
        """Gather for up to WINDOW (see there). An op someone waits on (flush, the sink's
        marks) or a close ends the window at once."""
        self._urgent.clear()
        batch = [first]
        # Drain before waiting: an op queued before clear() above has lost its wake-up signal.
        if self._drain(batch):
            self._urgent.wait(WINDOW)
            self._drain(batch)
        return batch

    def _drain(self, batch: list[object]) -> bool:
        """Move what is queued into ``batch``; False once it is complete (an op or STOP ends a
        batch, and so does DRAIN items)."""
        while len(batch) < DRAIN:
            if not isinstance(batch[-1], CallEvent):
                return False
            try:
                batch.append(self._items.get_nowait())
            except queue.Empty:
                return True
        return False

    def commit(self, conn: sqlite3.Connection, batch: Sequence[object]) -> None:
        """Write ``batch`` in one transaction, retrying it until it commits; then resolve the
        ops' futures and tell the listeners."""
        while True:
            try:
                results, written, rejects = self._transaction(conn, batch)
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self.failing, self.last_error = True, f"{type(exc).__name__}: {exc}"
                self.write_failures += 1
                delay = self._backoff.next_delay()
                log.warning(
                    "store.write_retry",
                    items=len(batch),
                    attempt=self._backoff.attempts,
                    delay=round(delay, 3),
                    error=self.last_error,
                )
                self._sleep(delay)
                continue
            break
        if self.failing:
            log.info("store.write_recovered", after_attempts=self._backoff.attempts)
        self.failing = False
        self._backoff.reset()
        self.written += written
        self.rejected += len(rejects)
        for event, reason in rejects:
            log.error(
                "store.event_rejected",
                call_id=event.call_id,
                action=event.action,
                reason=reason,
                hint="kept in the store_rejects table",
            )
        for future, value in results:
            if isinstance(value, _ItemFailed):
                future.set_exception(value.cause)
            else:
                future.set_result(value)
        if written:
            self._on_commit()

    def _transaction(
        self, conn: sqlite3.Connection, batch: Sequence[object]
    ) -> tuple[list[tuple[Future[Any], Any]], int, list[tuple[CallEvent, str]]]:
        results: list[tuple[Future[Any], Any]] = []
        rejects: list[tuple[CallEvent, str]] = []
        written = 0
        run: list[CallEvent] = []
        conn.execute("BEGIN IMMEDIATE")
        for item in batch:
            if isinstance(item, CallEvent):
                run.append(item)
                continue
            written += self._events(conn, run, rejects)
            run = []
            if isinstance(item, Op):
                results.append((item.future, _isolated(conn, item.run)))
        written += self._events(conn, run, rejects)
        conn.execute("COMMIT")
        return results, written, rejects

    def _events(
        self,
        conn: sqlite3.Connection,
        run: Sequence[CallEvent],
        rejects: list[tuple[CallEvent, str]],
    ) -> int:
        """Write a run of events: all at once when SQLite takes them all, else one by one.

        The usual case costs one ``executemany`` and one summary upsert per call in the run,
        instead of a savepoint, an insert and an upsert per event (the writer thread's CPU per
        IVR call: bench/notes.md). An event SQLite refuses (or one already stored) sends the run
        through the careful path, where each event is undone alone.
        """
        if not run:
            return 0
        rows: list[tuple[CallEvent, tuple[Any, ...]]] = []
        for event in run:
            try:
                rows.append((event, _row(event, self._origin)))
            except Exception as exc:  # any failure to convert rejects only this event
                self._reject(conn, event, _ItemFailed(exc), rejects)
        at_once = _isolated(conn, functools.partial(_write_rows, rows=rows))
        if not isinstance(at_once, _ItemFailed):
            return len(rows)
        written = 0
        for event, row in rows:
            outcome = _isolated(conn, functools.partial(_write_rows, rows=[(event, row)]))
            if isinstance(outcome, _ItemFailed):
                if not isinstance(outcome.cause, _AlreadyStored):
                    self._reject(conn, event, outcome, rejects)
            else:
                written += 1
        return written

    def _reject(
        self,
        conn: sqlite3.Connection,
        event: CallEvent,
        failure: _ItemFailed,
        rejects: list[tuple[CallEvent, str]],
    ) -> None:
        """Keep ``event`` in ``store_rejects`` with the reason, and list it for the log."""
        reason = str(failure)
        rejects.append((event, reason))
        at = event.at if isinstance(event.at, (int, float)) else None
        conn.execute(
            "INSERT OR REPLACE INTO store_rejects VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                str(event.event_id),
                str(event.call_id),
                str(event.action),
                at,
                reason,
                _best_effort_json(event),
                self._clock(),
            ),
        )


def _isolated(conn: sqlite3.Connection, run: Callable[[sqlite3.Connection], Any]) -> Any:
    """``run(conn)`` inside a savepoint: a failure of this item alone undoes only this item and
    comes back as :class:`_ItemFailed`. A failure of the transaction (``OperationalError``: full,
    locked, I/O; or SQLite having rolled everything back) raises, and the batch is retried."""
    conn.execute("SAVEPOINT item")
    try:
        value = run(conn)
    except sqlite3.OperationalError:
        raise
    except Exception as exc:
        if isinstance(exc, sqlite3.Error) and not conn.in_transaction:
            raise
        conn.execute("ROLLBACK TO item")
        conn.execute("RELEASE item")
        return _ItemFailed(exc)
    conn.execute("RELEASE item")
    return value


_INSERT_EVENT: Final = "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, 0)"


def _row(event: CallEvent, origin: Origin) -> tuple[Any, ...]:
    """The ``events`` row of ``event``: its ECS document as JSON (raises if it cannot be one)."""
    doc = json.dumps(to_ecs(event, origin), separators=(",", ":"), default=str)
    return (event.event_id, event.call_id, event.at, event.action, doc)


class _AlreadyStored(Exception):
    """A row of the run was in the table already (a retried batch): not a failure, but the run
    must be written event by event to tell which one."""


def _write_rows(
    conn: sqlite3.Connection, rows: Sequence[tuple[CallEvent, tuple[Any, ...]]]
) -> None:
    cursor = conn.executemany(_INSERT_EVENT, [row for _, row in rows])
    if cursor.rowcount != len(rows):
        raise _AlreadyStored
    _summarise(conn, [event for event, _ in rows])


def _best_effort_json(event: CallEvent) -> str:
    record = {
        "event_id": event.event_id,
        "call_id": event.call_id,
        "action": event.action,
        "at": event.at,
        "caller": event.caller,
        "dialed": event.dialed,
        "data": event.data,
    }
    try:
        return json.dumps(record, default=repr)
    except (TypeError, ValueError):  # a circular structure: keep what repr() shows
        return json.dumps({key: repr(value) for key, value in record.items()})


def _summarise(conn: sqlite3.Connection, events: Sequence[CallEvent]) -> None:
    """Keep the calls' rows in step with their events (already inserted): every call of the run
    gets one upsert that makes sure its row exists, then each event's own update, in order."""
    firsts: dict[str, list[Any]] = {}
    for event in events:
        seen = firsts.get(event.call_id)
        if seen is None:
            firsts[event.call_id] = [event.call_id, event.at, event.caller, event.dialed]
            continue
        seen[1] = _earlier(seen[1], event.at)
        if seen[2] is None:
            seen[2] = event.caller
        if seen[3] is None:
            seen[3] = event.dialed
    conn.executemany(
        "INSERT INTO calls (call_id, started, caller, dialed) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(call_id) DO UPDATE SET started = min(started, excluded.started),"
        " caller = coalesce(caller, excluded.caller), dialed = coalesce(dialed, excluded.dialed)",
        firsts.values(),
    )
    for event in events:
        _update_summary(conn, event)


def _earlier(a: Any, b: Any) -> Any:
    """SQLite's min() of two ``at`` values: numbers before anything else (records are read back
    unchecked, so a time may be odd)."""
    a_num, b_num = isinstance(a, (int, float)), isinstance(b, (int, float))
    if a_num and b_num:
        return min(a, b)
    return a if a_num or not b_num else b


def _update_summary(conn: sqlite3.Connection, event: CallEvent) -> None:
    """What one event changes in its call's row beyond its existence (see :func:`_summarise`)."""
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


__all__ = ["DRAIN", "STOP", "WINDOW", "Op", "StoreWriter"]
