"""CallStore: the embedded call history (SQLite WAL, one writer thread) and the sink's outbox."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from stasis_app.errors import CallNotFound
from stasis_app.events import CallEvent
from stasis_app.events import catalogue as ev
from stasis_app.events.store import CallStore

T0 = 1_700_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    store = CallStore(tmp_path / "data" / "calls.sqlite3", retention_days=0)
    yield store
    store.close()


def _ev(
    call: str, action: str, at: float, data: dict[str, Any] | None = None, **kw: Any
) -> CallEvent:
    caller = kw.pop("caller", "1000")
    dialed = kw.pop("dialed", "500")
    return CallEvent(call, action, data or {}, caller=caller, dialed=dialed, at=at, **kw)


def _record_call(store: CallStore, call: str, at: float, **kw: Any) -> None:
    """A whole IVR call transferred to 2000 and answered."""
    disposition = kw.pop("disposition", "answered")
    store.emit(_ev(call, "call-started", at, {"caller": "1000", "channel": "PJSIP/1000-1"}, **kw))
    store.emit(_ev(call, "menu-entered", at + 1, {"menu": "main"}, **kw))
    store.emit(_ev(call, "digit", at + 2, {"digit": "2", "menu": "main"}, **kw))
    store.emit(_ev(call, "transferred", at + 3, {"extension": "2000", "by": "ivr"}, **kw))
    store.emit(_ev(call, "bridged", at + 4, {"extension": "2000", "bridge": "b"}, **kw))
    ended = {"disposition": disposition, "cause": 16, "duration": 10.0, "ivr_path": ["main"],
             "callee": "2000"}  # fmt: skip
    store.emit(_ev(call, "call-ended", at + 10, ended, **kw))


def test_the_file_is_in_wal_mode(store: CallStore) -> None:
    """WAL lets the REST API and the CLI read while the worker writes."""
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_emit_only_queues_even_while_the_writer_is_stuck(store: CallStore) -> None:
    """emit() returns at once and never writes on the caller's thread."""
    release = threading.Event()
    store._submit(lambda _conn: release.wait(5))  # occupy the writer thread
    started = time.perf_counter()
    for n in range(1000):
        store.emit(_ev(f"c{n}", "call-started", T0))
    elapsed = time.perf_counter() - started
    assert store.flush(timeout=0.05) is False  # nothing could be written yet
    release.set()
    assert store.flush(timeout=10)
    assert elapsed < 0.5
    assert store.count_calls() == 1000


def test_a_call_summary_follows_its_events(store: CallStore) -> None:
    """call-started creates the row, bridged names the callee, call-ended completes it."""
    store.emit(_ev("c1", "call-started", T0, {"caller": "1000"}))
    assert store.flush()
    (live,) = store.list_calls()
    assert (live.caller, live.dialed, live.disposition, live.ended) == ("1000", "500", None, None)
    _record_call(store, "c1", T0)
    assert store.flush()
    summary = store.get_call("c1").summary
    assert summary.started == T0
    assert summary.ended == T0 + 10
    assert (summary.callee, summary.disposition, summary.cause) == ("2000", "answered", 16)
    assert summary.duration == 10.0
    assert summary.ivr_path == ("main",)
    assert summary.to_dict()["ivr_path"] == ["main"]


def test_get_call_returns_the_ordered_timeline_with_ecs_documents(store: CallStore) -> None:
    _record_call(store, "c1", T0)
    assert store.flush()
    detail = store.get_call("c1")
    assert [e.action for e in detail.events] == [
        "call-started", "menu-entered", "digit", "transferred", "bridged", "call-ended",
    ]  # fmt: skip
    assert all(e.state == "pending" for e in detail.events)
    assert detail.events[2].doc["cti"]["digit"] == "2"
    assert detail.events[-1].doc["event"]["duration"] == 10_000_000_000


def test_an_unknown_call_raises_call_not_found(store: CallStore) -> None:
    with pytest.raises(CallNotFound) as caught:
        store.get_call("nope")
    assert caught.value.call_id == "nope"


def _fact(store: CallStore, fact: ev.Fact, at: float, call: str = "c1") -> None:
    store.emit(CallEvent.of(call, fact, caller="1000", dialed="500", at=at))


def test_a_completed_attended_transfer_makes_the_target_the_callee(store: CallStore) -> None:
    """Like a bridge: the call is now the target's (a started or cancelled one changes nothing)."""
    _fact(store, ev.CallStarted("1000", "Alice", "500", "PJSIP/1000-1"), T0)
    _fact(store, ev.Bridged(extension="2000", bridge="b"), T0 + 1)
    _fact(store, ev.TransferStarted(transfer="t1", extension="3000", moved="c1", by="api"), T0 + 2)
    _fact(store, ev.TransferCancelled(transfer="t1", extension="3000", reason="busy"), T0 + 3)
    assert store.flush()
    assert store.get_call("c1").summary.callee == "2000"
    _fact(store, ev.TransferStarted(transfer="t2", extension="3001", moved="c1", by="api"), T0 + 4)
    _fact(store, ev.TransferCompleted(transfer="t2", extension="3001"), T0 + 5)
    assert store.flush()
    assert store.get_call("c1").summary.callee == "3001"
    assert [c.call_id for c in store.list_calls(extension="3001")] == ["c1"]


def test_a_call_ended_fact_completes_the_summary(store: CallStore) -> None:
    """The summary reads call-ended's fields as the catalogue defines them."""
    ended = ev.CallEnded(disposition="answered", cause=16, duration=4.5, ivr_path=("main",))
    _fact(store, ended, T0 + 5)
    assert store.flush()
    summary = store.get_call("c1").summary
    assert (summary.disposition, summary.cause, summary.duration) == ("answered", 16, 4.5)
    assert (summary.ivr_path, summary.ended) == (("main",), T0 + 5)


def test_the_same_event_twice_is_recorded_once(store: CallStore) -> None:
    """Event ids are the primary key: a duplicate emit changes nothing."""
    event = _ev("c1", "call-started", T0, event_id="e1")
    store.emit(event)
    store.emit(event)
    assert store.flush()
    assert len(store.get_call("c1").events) == 1


def test_list_filters_and_pages(store: CallStore) -> None:
    """Filters: time range, caller, extension (dialed or callee), disposition; newest first."""
    _record_call(store, "a", T0, caller="1000", dialed="500")
    _record_call(store, "b", T0 + 100, caller="1001", dialed="2000", disposition="busy")
    _record_call(store, "c", T0 + 200, caller="1000", dialed="7777", disposition="echo")
    store.emit(_ev("d", "call-started", T0 + 300, caller="1002", dialed="500"))
    assert store.flush()

    def ids(**filters: Any) -> list[str]:
        return [c.call_id for c in store.list_calls(**filters)]

    assert ids() == ["d", "c", "b", "a"]
    assert ids(since=T0 + 100) == ["d", "c", "b"]
    assert ids(until=T0 + 100) == ["a"]
    assert ids(caller="1000") == ["c", "a"]
    assert ids(extension="2000") == ["c", "b", "a"]  # every _record_call ends at 2000
    assert ids(extension="500") == ["d", "a"]
    assert ids(disposition="busy") == ["b"]
    assert ids(disposition="in-progress") == ["d"]
    assert ids(limit=2) == ["d", "c"]
    assert ids(limit=2, offset=2) == ["b", "a"]
    assert store.count_calls(caller="1000") == 2


def test_reads_work_from_other_threads_while_writing(store: CallStore) -> None:
    """Each thread gets its own read connection (the REST layer uses asyncio.to_thread)."""
    for n in range(200):
        store.emit(_ev(f"c{n}", "call-started", T0 + n))
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: len(store.list_calls(limit=1000)), range(8)))
    assert all(0 <= c <= 200 for c in counts)
    assert store.flush()
    assert store.count_calls() == 200


def test_the_outbox_gives_pending_events_oldest_first(store: CallStore) -> None:
    store.emit(_ev("c1", "digit", T0 + 2, event_id="late"))
    store.emit(_ev("c1", "call-started", T0, event_id="early"))
    assert store.flush()
    assert [item.event_id for item in store.pending(10)] == ["early", "late"]
    assert store.pending(10)[0].doc.startswith("{")
    assert store.outbox_counts() == (2, 0)


def test_shipped_events_leave_the_outbox(store: CallStore) -> None:
    store.emit(_ev("c1", "call-started", T0, event_id="e1"))
    store.emit(_ev("c1", "answered", T0 + 1, event_id="e2"))
    assert store.flush()
    store.mark_shipped(["e1"]).result(5)
    assert [item.event_id for item in store.pending(10)] == ["e2"]
    assert store.get_call("c1").events[0].state == "shipped"


def test_dead_letters_are_listed_and_can_be_requeued(store: CallStore) -> None:
    """A rejected event keeps its reason, is never pending, and can be put back on purpose."""
    store.emit(_ev("c1", "digit", T0, event_id="bad"))
    assert store.flush()
    store.dead_letter([("bad", "400 mapper_parsing_exception: failed to parse")]).result(5)
    (letter,) = store.dead_letters()
    assert (letter.event_id, letter.call_id, letter.action) == ("bad", "c1", "digit")
    assert "mapper_parsing_exception" in letter.reason
    assert store.pending(10) == []
    assert store.outbox_counts() == (0, 1)
    assert store.retry_dead_letters().result(5) == 1
    assert [item.event_id for item in store.pending(10)] == ["bad"]
    assert store.dead_letters() == []


def test_retention_purges_old_calls_events_and_dead_letters(tmp_path: Path) -> None:
    """purge_older_than removes everything older than the cutoff and keeps the rest."""
    now = T0 + 100 * 86400
    store = CallStore(tmp_path / "c.sqlite3", retention_days=0, clock=lambda: now)
    try:
        _record_call(store, "old", T0)
        _record_call(store, "new", now - 86400)
        assert store.flush()
        assert store.purge_older_than(90).result(5) == 1
        assert [c.call_id for c in store.list_calls()] == ["new"]
        assert {i.event_id for i in store.pending(100)} == {
            e.event_id for e in store.get_call("new").events
        }
    finally:
        store.close()


def test_retention_never_deletes_what_elasticsearch_has_not_taken(tmp_path: Path) -> None:
    """As the sink's outbox (keep_unshipped), retention deletes delivered and dead-lettered
    events, and keeps undelivered ones with their call, however old, saying so in the log."""
    now = T0 + 100 * 86400
    store = CallStore(
        tmp_path / "c.sqlite3", retention_days=0, keep_unshipped=True, clock=lambda: now
    )
    try:
        _record_call(store, "delivered", T0)
        _record_call(store, "undelivered", T0 + 60)
        assert store.flush()
        delivered = [e.event_id for e in store.get_call("delivered").events]
        store.mark_shipped(delivered).result(5)
        with capture_logs() as logs:
            assert store.purge_older_than(90).result(5) == 1
        assert [c.call_id for c in store.list_calls()] == ["undelivered"]
        assert len(store.pending(100)) == 6
        [warning] = [e for e in logs if e["event"] == "store.kept_unshipped"]
        assert warning["events"] == 6
    finally:
        store.close()


def test_without_a_sink_retention_deletes_by_age_alone(tmp_path: Path) -> None:
    """No Elasticsearch: nothing will ever ship, so pending is no reason to keep an event."""
    now = T0 + 100 * 86400
    store = CallStore(tmp_path / "c.sqlite3", retention_days=0, clock=lambda: now)
    try:
        _record_call(store, "old", T0)
        assert store.flush()
        assert store.purge_older_than(90).result(5) == 1
        assert (store.count_calls(), store.pending(100)) == (0, [])
    finally:
        store.close()


def test_the_writer_applies_retention_on_its_own(tmp_path: Path) -> None:
    """With retention_days set, the writer purges at start and then periodically."""
    path = tmp_path / "c.sqlite3"
    first = CallStore(path, retention_days=0)
    _record_call(first, "ancient", time.time() - 400 * 86400)
    first.close()
    second = CallStore(path, retention_days=90, purge_interval=3600)
    try:
        assert second.flush()
        assert second.count_calls() == 0
    finally:
        second.close()


def test_events_survive_a_restart(tmp_path: Path) -> None:
    """close() writes what was queued; a new store on the same file sees it, still pending."""
    path = tmp_path / "c.sqlite3"
    first = CallStore(path, retention_days=0)
    _record_call(first, "c1", T0)
    first.close()
    second = CallStore(path, retention_days=0)
    try:
        assert len(second.pending(100)) == 6
    finally:
        second.close()


def test_emit_after_close_is_dropped_without_error(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "c.sqlite3", retention_days=0)
    store.close()
    store.close()
    store.emit(_ev("c1", "call-started", T0))
    assert store.flush()
    with pytest.raises(RuntimeError):
        store.mark_shipped(["x"]).result(1)


def test_listeners_hear_about_new_events(store: CallStore) -> None:
    heard = threading.Event()
    store.subscribe(heard.set)
    store.emit(_ev("c1", "call-started", T0))
    assert heard.wait(5)
    store.unsubscribe(heard.set)


# -- queues: agents kept across restarts, today's figures rebuilt -------------------------------


def test_agent_state_is_kept_across_a_restart(tmp_path: Path) -> None:
    """save_agent queues the write; the next store on the file loads the latest doc per agent."""
    path = tmp_path / "c.sqlite3"
    first = CallStore(path, retention_days=0)
    first.save_agent("1004", {"dynamic": ["sales"], "paused": False})
    done = first.save_agent("1004", {"dynamic": ["sales"], "paused": True, "reason": "lunch"})
    first.save_agent("1000", {"paused": False, "calls": 3})
    assert done.result(5) is None
    first.close()
    second = CallStore(path, retention_days=0)
    try:
        assert second.load_agents() == {
            "1000": {"paused": False, "calls": 3},
            "1004": {"dynamic": ["sales"], "paused": True, "reason": "lunch"},
        }
    finally:
        second.close()


def test_save_agent_only_queues_even_while_the_writer_is_stuck(store: CallStore) -> None:
    """Like emit(): nothing is written on the caller's thread, and the doc is copied at once."""
    release = threading.Event()
    store._submit(lambda _conn: release.wait(5))  # occupy the writer thread
    doc: dict[str, Any] = {"paused": False}
    saved = store.save_agent("1004", doc)
    doc["paused"] = True  # the caller's later changes are not what was saved
    assert not saved.done()
    release.set()
    saved.result(5)
    assert store.load_agents() == {"1004": {"paused": False}}


def test_a_doc_that_is_not_json_fails_its_future_not_the_caller(store: CallStore) -> None:
    """save_agent runs on the event loop: a bad document is logged, never raised there."""
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with capture_logs() as logs:
        saved = store.save_agent("1004", loop)
    with pytest.raises(ValueError, match="Circular"):
        saved.result(1)
    assert [e["event"] for e in logs] == ["store.agent_rejected"]
    assert store.load_agents() == {}


def test_an_unreadable_agent_row_is_skipped(store: CallStore) -> None:
    """A row that is not a JSON object cannot stop the worker from starting."""
    store.save_agent("1004", {"paused": True}).result(5)
    store._submit(
        lambda conn: conn.execute("INSERT INTO agents VALUES ('1005', '[1, 2]', 0)")
    ).result(5)
    store._submit(lambda conn: conn.execute("INSERT INTO agents VALUES ('1006', '{', 0)")).result(5)
    with capture_logs() as logs:
        assert store.load_agents() == {"1004": {"paused": True}}
    assert sorted(e["extension"] for e in logs if e["event"] == "store.agent_unreadable") == [
        "1005", "1006",
    ]  # fmt: skip


def test_retention_never_deletes_agents(tmp_path: Path) -> None:
    """An agent's state is not history: however old, purging leaves it."""
    now = T0 + 400 * 86400
    store = CallStore(tmp_path / "c.sqlite3", retention_days=0, clock=lambda: T0)
    try:
        store.save_agent("1004", {"paused": True}).result(5)
        _record_call(store, "old", T0)
        assert store.flush()
        store._clock = lambda: now
        assert store.purge_older_than(90).result(5) == 1
        assert store.load_agents() == {"1004": {"paused": True}}
    finally:
        store.close()


def test_agents_can_be_kept_in_a_file_made_before_queues(tmp_path: Path) -> None:
    """The agents table is added to an existing call history without touching its calls."""
    path = tmp_path / "c.sqlite3"
    first = CallStore(path, retention_days=0)
    _record_call(first, "c1", T0)
    first.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE agents")  # as an earlier version left it (before versioning)
    conn.execute("DROP TABLE store_rejects")
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.close()
    second = CallStore(path, retention_days=0)
    try:
        second.save_agent("1004", {"paused": False}).result(5)
        assert second.load_agents() == {"1004": {"paused": False}}
        assert second.count_calls() == 1
    finally:
        second.close()


QUEUE_FACTS: list[ev.Fact] = [
    ev.QueueJoined(queue="sales", position=1),
    ev.AgentOffered(queue="sales", agent="1001", leg="leg-1"),
    ev.AgentMissed(queue="sales", agent="1001", reason="no-answer"),
    ev.AgentAnswered(queue="sales", agent="1002", wait=12.5, within_sl=1),
    ev.QueueAbandoned(queue="support", wait=40.0, position=2),
    ev.QueueOverflowed(queue="support", wait=180.0, reason="max-wait", to="extension 1000"),
]


def test_queue_outcomes_since_gives_joins_and_outcomes_in_order(store: CallStore) -> None:
    """Only queue-joined and the three outcomes, from ``at`` on, oldest first, as (at, action,
    data) whose data reads back (catalogue.read) as the fact that was emitted."""
    _fact(store, ev.QueueJoined(queue="sales", position=3), T0 - 1, call="yesterday")
    for n, fact in enumerate(QUEUE_FACTS):
        _fact(store, fact, T0 + 10 - n, call=f"c{n}")  # emitted newest first
    _fact(store, ev.CallEnded(disposition="answered"), T0 + 20)
    assert store.flush()
    outcomes = store.queue_outcomes_since(T0)
    wanted = [f for f in QUEUE_FACTS if not isinstance(f, ev.AgentOffered | ev.AgentMissed)]
    assert [action for _, action, _ in outcomes] == [f.ACTION for f in reversed(wanted)]
    assert [at for at, _, _ in outcomes] == sorted(at for at, _, _ in outcomes)
    assert [ev.read(action, data) for _, action, data in outcomes] == list(reversed(wanted))
    assert outcomes[0][2] == {
        "queue": "support", "wait": 180.0, "reason": "max-wait", "to": "extension 1000",
        "within_sl": 0, "outcome": "overflowed",
    }  # fmt: skip


def test_queue_outcomes_survive_a_restart(tmp_path: Path) -> None:
    """Today's figures can be rebuilt by the next worker from the file alone."""
    path = tmp_path / "c.sqlite3"
    first = CallStore(path, retention_days=0)
    _fact(first, ev.QueueJoined(queue="sales", position=1), T0)
    _fact(first, ev.AgentAnswered(queue="sales", agent="1000", wait=3.0, within_sl=1), T0 + 3)
    first.close()
    second = CallStore(path, retention_days=0)
    try:
        assert [(at, action) for at, action, _ in second.queue_outcomes_since(T0)] == [
            (T0, "queue-joined"), (T0 + 3, "agent-answered"),
        ]  # fmt: skip
    finally:
        second.close()


def test_queue_event_data_keeps_fields_the_catalogue_does_not_know(store: CallStore) -> None:
    """A field a newer version added (stored under cti.extra) comes back in data too."""
    store.emit(_ev("c1", "queue-joined", T0, {"queue": "sales", "position": 1, "vip": True}))
    assert store.flush()
    [(_, _, data)] = store.queue_outcomes_since(T0)
    assert data == {"queue": "sales", "position": 1, "vip": True}


@pytest.mark.parametrize("fact", [ev.QueueJoined, *ev.QUEUE_OUTCOMES])
def test_queue_facts_can_be_read_back_from_their_documents(fact: type[ev.Fact]) -> None:
    """The store rebuilds queue data from document paths: no field may be SPECIAL (derived)."""
    assert all(place != ev.SPECIAL for _, place in ev.placements(fact))


RUNS = [
    # (why, events as (call, action, at, data, caller, dialed))
    ("in order", [("c1", "call-started", T0, {}, "1000", "500"),
                  ("c1", "transferred", T0 + 1, {"extension": "2000", "by": "ivr"}, "1000", "500"),
                  ("c1", "call-ended", T0 + 5, {"disposition": "answered", "duration": 5.0,
                                                 "ivr_path": []}, "1000", "500")]),
    ("out of order, caller known late", [
        ("c1", "menu-entered", T0 + 2, {"menu": "main"}, None, None),
        ("c1", "call-started", T0, {}, "1000", None),
        ("c1", "digit", T0 + 3, {"digit": "1", "menu": "main"}, "1001", "500"),
        ("c1", "call-ended", T0 + 4, {"disposition": "ivr-hangup", "duration": 4.0,
                                       "ivr_path": []}, None, None)]),
    ("two calls interleaved", [
        ("c1", "call-started", T0, {}, "1000", "500"),
        ("c2", "call-started", T0 + 1, {}, "1001", "500"),
        ("c2", "dialing", T0 + 2, {"extension": "2000"}, "1001", "500"),
        ("c1", "call-ended", T0 + 3, {"disposition": "caller-hangup", "duration": 3.0,
                                       "ivr_path": ["main"]}, "1000", "500")]),
]  # fmt: skip


@pytest.mark.parametrize(("why", "run"), RUNS, ids=[why for why, _ in RUNS])
def test_a_run_written_at_once_summarises_as_one_event_at_a_time(
    tmp_path: Path, why: str, run: list[tuple[Any, ...]]
) -> None:
    """The writer inserts a window's events together and upserts each call once: the calls'
    rows must come out as when every event is its own transaction."""
    rows = []
    for name, flush_each in (("together", False), ("apart", True)):
        store = CallStore(tmp_path / name / "calls.sqlite3", retention_days=0)
        for call, action, at, data, caller, dialed in run:
            store.emit(
                CallEvent(
                    call, action, data, caller=caller, dialed=dialed, at=at, event_id=f"{call}-{at}"
                )
            )
            if flush_each:
                assert store.flush()
        assert store.flush()
        rows.append(sorted(s.to_dict().items() for s in store.list_calls()))
        assert store.status().events_written == len(run), why
        store.close()
    assert rows[0] == rows[1], why
