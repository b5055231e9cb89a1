"""``cti calls backup``: a checked, consistent copy of the history, taken while the store is open
and writing (on real SQLite files in a temporary folder)."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stasis_app.cli import app
from stasis_app.errors import BackupError
from stasis_app.events import CallEvent
from stasis_app.events.backup import backup_store
from stasis_app.events.schema import SCHEMA_VERSION
from stasis_app.events.store import CallStore

T0 = 1_700_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    store = CallStore(tmp_path / "data" / "calls.sqlite3", retention_days=0)
    for n in range(3):
        call = f"call-{n}"
        store.emit(CallEvent(call, "call-started", {}, caller="1000", dialed="500", at=T0 + n))
        ended = {"disposition": "answered", "cause": 16, "duration": 1.0}
        store.emit(CallEvent(call, "call-ended", ended, caller="1000", dialed="500", at=T0 + n))
    assert store.flush()
    yield store
    store.close()


def test_the_copy_has_every_call_and_is_private(store: CallStore, tmp_path: Path) -> None:
    """While the store is open (its writer running), the copy holds all 3 calls and 6 events,
    at the current schema version, readable by its owner only."""
    dest = tmp_path / "backup.sqlite3"
    made = backup_store(tmp_path / "data" / "calls.sqlite3", dest)
    assert (made.calls, made.events, made.schema_version) == (3, 6, SCHEMA_VERSION)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert made.size == dest.stat().st_size
    conn = sqlite3.connect(dest)
    try:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 6
    finally:
        conn.close()
    assert not dest.with_name("backup.sqlite3.partial").exists()


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("dest exists", "already exists"),
        ("no store", "no call store"),
        ("no parent", "is not a directory"),
        ("not sqlite", "file is not a database"),
    ],
)
def test_a_backup_that_cannot_be_made_names_why_and_leaves_nothing(
    store: CallStore, tmp_path: Path, case: str, said: str
) -> None:
    source, dest = tmp_path / "data" / "calls.sqlite3", tmp_path / "backup.sqlite3"
    if case == "dest exists":
        dest.write_text("an older backup")
    elif case == "no store":
        source = tmp_path / "elsewhere" / "calls.sqlite3"
    elif case == "no parent":
        dest = tmp_path / "missing" / "backup.sqlite3"
    elif case == "not sqlite":
        source = tmp_path / "junk.sqlite3"
        source.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match=said):
        backup_store(source, dest)
    assert case == "dest exists" or not dest.exists()
    assert not dest.with_name(dest.name + ".partial").exists()


def test_the_command_prints_what_it_copied(store: CallStore, tmp_path: Path) -> None:
    dest = tmp_path / "b.sqlite3"
    data = str(tmp_path / "data")
    done = CliRunner().invoke(app, ["calls", "backup", str(dest), "--data-dir", data])
    assert done.exit_code == 0, done.output
    assert "3 call(s), 6 event(s)" in done.output
    again = CliRunner().invoke(app, ["calls", "backup", str(dest), "--data-dir", data])
    assert again.exit_code == 1
    assert "already exists" in again.output
