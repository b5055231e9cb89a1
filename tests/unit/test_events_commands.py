"""cti calls dead-letters reads the store in the data directory (list and show go through the
API: test_history_commands.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stasis_app.events import CallEvent
from stasis_app.events.commands import app
from stasis_app.events.store import CallStore

T0 = 1_700_000_000.0


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    store = CallStore.in_dir(tmp_path, retention_days=0)
    try:
        store.emit(CallEvent("c1", "call-started", {}, caller="1000", dialed="500", at=T0))
        store.emit(CallEvent("c1", "menu-entered", {"menu": "main"}, "1000", "500", T0 + 1))
        store.emit(
            CallEvent(
                "c1",
                "call-ended",
                {"disposition": "ivr-hangup", "cause": 16, "duration": 3.0, "ivr_path": ["main"]},
                "1000",
                "500",
                T0 + 3,
                event_id="ended",
            )
        )
        store.emit(CallEvent("c2", "call-started", {}, caller="1001", dialed="2000", at=T0 + 9))
        assert store.flush()
        store.dead_letter([("ended", "400 mapper_parsing_exception: x")]).result(5)
    finally:
        store.close()
    return tmp_path


def test_dead_letters_are_listed_and_requeued(data_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["dead-letters", "--data-dir", str(data_dir), "--retry"])
    assert "mapper_parsing_exception" in result.stdout
    assert "requeued 1" in result.stderr
    again = runner.invoke(app, ["dead-letters", "--data-dir", str(data_dir), "--json"])
    assert json.loads(again.stdout) == []


def test_a_missing_store_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dead-letters", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "no call store" in result.stderr
