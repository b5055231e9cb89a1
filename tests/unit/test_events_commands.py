"""cti calls dead-letters reads the store in the data directory (list and show go through the
API: test_history_commands.py); cti es setup checks its flags and variables before any request.
Invoked through the top-level app: a typer group with one command would collapse into it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stasis_app.cli import app
from stasis_app.events import CallEvent
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
    result = runner.invoke(app, ["calls", "dead-letters", "--data-dir", str(data_dir), "--retry"])
    assert "mapper_parsing_exception" in result.stdout
    assert "requeued 1" in result.stderr
    again = runner.invoke(app, ["calls", "dead-letters", "--data-dir", str(data_dir), "--json"])
    assert json.loads(again.stdout) == []


def test_a_missing_store_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["calls", "dead-letters", "--data-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 1
    assert "no call store" in result.stderr


def test_dead_letters_find_the_store_through_cti_data_dir(data_dir: Path) -> None:
    """Without --data-dir the store is where CTI_DATA_DIR says (read through settings)."""
    result = CliRunner().invoke(app, ["calls", "dead-letters"], env={"CTI_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.stderr
    assert "mapper_parsing_exception" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        ([], {"CTI_ELASTICSEARCH_URL": ""}, "CTI_ELASTICSEARCH_URL: is required and not set"),
        ([], {"CTI_ELASTICSEARCH_URL": "es:9200"}, "CTI_ELASTICSEARCH_URL: must be an http"),
        (["--es-url", "es:9200"], {}, "--es-url: must be an http"),
        (
            ["--es-url", "http://127.0.0.1:9"],
            {"CTI_RETENTION_DAYS": "-1"},
            "CTI_RETENTION_DAYS: must not be negative",
        ),
        (
            ["--es-url", "http://127.0.0.1:9", "--retention-days", "-1"],
            {},
            "--retention-days: must not be negative",
        ),
        (["--es-url", "http://127.0.0.1:9", "--kibana-url", "kibana"], {}, "--kibana-url: must"),
    ],
)
def test_es_setup_names_the_flag_or_variable_that_is_wrong(
    args: list[str], env: dict[str, str], named: str
) -> None:
    """Checked before any request: a flag and its variable go through the same parser."""
    result = CliRunner().invoke(app, ["es", "setup", *args], env=env)
    assert result.exit_code == 1
    assert named in result.stderr
