"""bench.profile: py-spy's folded stacks filed under what the worker was doing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.profile import summarise_py_spy

LOOP = "run (stasis_app/cli.py:170);BaseEventLoop._run_once (asyncio/base_events.py:1922)"
WRITER = "Thread.run (threading.py:975);StoreWriter._loop (stasis_app/events/writer.py:159)"


@pytest.mark.parametrize(
    ("stack", "category"),
    [
        (f"{WRITER};StoreWriter._events (stasis_app/events/writer.py:270)", "store writer thread"),
        ("Thread.run (threading.py:975);QueuedWriter._write (stasis_app/logs.py:52)",
         "log writer thread"),
        (f"{LOOP};Handle._run (asyncio/events.py:80);Call.run (call.py:238)",
         "call tasks (IVR, routing, events emitted)"),
        (f"{LOOP};EventStream._read (stasis_app/ari/stream.py:290)",
         "ARI events: websocket read and parse"),
        (f"{LOOP};Call._ari (call.py:400);Http11Transport.request (stasis_app/ari/http11.py:90)",
         "ARI REST (HTTP client)"),
        (f"{LOOP};EpollSelector.select (selectors.py:468)", "event loop itself"),
        ("Thread.run (threading.py:975);something_else (x.py:1)", "other"),
    ],
)  # fmt: skip
def test_a_stack_is_filed_under_the_first_category_it_marks(
    tmp_path: Path, stack: str, category: str
) -> None:
    raw = tmp_path / "py-spy.txt"
    raw.write_text(f"{stack} 3\n")
    assert summarise_py_spy(raw) == [(f"{category} (3 samples)", 100.0)]


def test_shares_are_of_all_samples(tmp_path: Path) -> None:
    raw = tmp_path / "py-spy.txt"
    raw.write_text(f"{WRITER} 1\n{LOOP};Call.run (call.py:238) 3\n")
    assert summarise_py_spy(raw) == [
        ("call tasks (IVR, routing, events emitted) (3 samples)", 75.0),
        ("store writer thread (1 samples)", 25.0),
    ]
