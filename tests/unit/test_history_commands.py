"""Specification of `cti calls list` and `cti calls show`: the call history through the REST API
(a real CallStore behind the app on an ephemeral port, the CLI run in a thread), so they work
wherever the worker runs; `--json` is the API's own answer."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from stasis_app import cli as cti
from stasis_app.events import CallEvent
from stasis_app.events.store import CallStore
from stasis_app.http import ApiServer, commands, history_commands
from stasis_app.http.client import ApiClient
from tests.unit.http_support import AUTH, TOKEN, make_app

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    """Two calls: c1 from 1000 to the IVR (500), ended; c2 from 1001 to 2000, in progress."""
    calls = CallStore.in_dir(tmp_path, retention_days=0)
    calls.emit(CallEvent("c1", "call-started", {}, caller="1000", dialed="500", at=T0))
    calls.emit(CallEvent("c1", "menu-entered", {"menu": "main"}, "1000", "500", T0 + 1))
    ended = {"disposition": "ivr-hangup", "cause": 16, "duration": 3.0, "ivr_path": ["main"]}
    calls.emit(CallEvent("c1", "call-ended", ended, "1000", "500", T0 + 3))
    calls.emit(CallEvent("c2", "call-started", {}, caller="1001", dialed="2000", at=T0 + 9))
    assert calls.flush()
    yield calls
    calls.close()


@contextlib.asynccontextmanager
async def serving(store: CallStore | None) -> AsyncIterator[str]:
    server = ApiServer(make_app(history=store), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()


def calls_app() -> typer.Typer:
    app = typer.Typer()
    group = typer.Typer()
    history_commands.register(group)
    app.add_typer(group, name="calls")
    return app


async def run_cli(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> tuple[int, str, str]:
    """`cti calls ARGS` against the worker at ``url``: exit code, stdout, stderr."""
    monkeypatch.setattr(commands, "make_client", lambda: ApiClient(url, TOKEN, timeout=5))
    result = await asyncio.to_thread(CliRunner().invoke, calls_app(), ["calls", *args])
    return result.exit_code, result.stdout, result.stderr


async def api(url: str, path: str, **params: str) -> object:
    async with httpx.AsyncClient(base_url=url, headers=AUTH) as http:
        response = await http.get(path, params=params)
    response.raise_for_status()
    return response.json()


@pytest.mark.asyncio
async def test_list_prints_a_table_newest_first(
    monkeypatch: pytest.MonkeyPatch, store: CallStore
) -> None:
    """One row per call under aligned headers; an unfinished call is in-progress."""
    async with serving(store) as url:
        code, out, err = await run_cli(monkeypatch, url, "list")
    assert code == 0, err
    header, newest, oldest = out.splitlines()
    assert header.split()[:4] == ["STARTED", "(UTC)", "CALL", "CALLER"]
    assert newest.split()[2:] == ["c2", "1001", "2000", "-", "in-progress", "-", "-", "-"]
    assert oldest.split()[2:] == ["c1", "1000", "500", "-", "ivr-hangup", "16", "3.0s", "main"]
    assert oldest.startswith("2023-11-14 22:13:20")
    assert newest.index("c2") == header.index("CALL")  # aligned under its header
    assert err == "calls 1-2\n"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["c2", "c1"]),
        (["--caller", "1000"], ["c1"]),
        (["--extension", "2000"], ["c2"]),
        (["--disposition", "in-progress"], ["c2"]),
        (["--since", "2023-11-14T22:13:25"], ["c2"]),
        (["--until", "2023-11-14T22:13:25"], ["c1"]),
        (["--since", "2h"], []),  # relative to now: these calls are from 2023
        (["--limit", "1", "--offset", "1"], ["c1"]),
    ],
)
async def test_list_filters_reach_the_api(
    monkeypatch: pytest.MonkeyPatch, store: CallStore, args: list[str], expected: list[str]
) -> None:
    """Each option becomes the API's query parameter (times as Unix seconds)."""
    async with serving(store) as url:
        code, out, err = await run_cli(monkeypatch, url, "list", "--json", *args)
    assert code == 0, err
    assert [c["call_id"] for c in json.loads(out)["calls"]] == expected


@pytest.mark.asyncio
async def test_list_json_is_the_api_answer(
    monkeypatch: pytest.MonkeyPatch, store: CallStore
) -> None:
    """`cti calls list --json` prints what `GET /calls` answers, field for field."""
    async with serving(store) as url:
        code, out, _ = await run_cli(monkeypatch, url, "list", "--caller", "1000", "--json")
        answer = await api(url, "/calls", caller="1000")
    assert code == 0
    assert json.loads(out) == answer


@pytest.mark.asyncio
async def test_list_without_calls_says_so(
    monkeypatch: pytest.MonkeyPatch, store: CallStore
) -> None:
    async with serving(store) as url:
        assert (await run_cli(monkeypatch, url, "list", "--caller", "999"))[:2] == (0, "no calls\n")


@pytest.mark.asyncio
async def test_show_prints_the_summary_and_the_timeline(
    monkeypatch: pytest.MonkeyPatch, store: CallStore
) -> None:
    """The call's row, then one row per event with its offset from the start."""
    async with serving(store) as url:
        code, out, err = await run_cli(monkeypatch, url, "show", "c1")
    assert code == 0, err
    summary_header, summary, blank, timeline_header, *events = out.splitlines()
    assert summary_header.split()[2] == "CALL"
    assert summary.split()[2] == "c1"
    assert blank == ""
    assert timeline_header.split() == ["AT", "EVENT", "STATE", "DETAILS"]
    assert [e.split()[:2] for e in events] == [
        ["+0.000s", "call-started"],
        ["+1.000s", "menu-entered"],
        ["+3.000s", "call-ended"],
    ]
    assert "menu=main" in events[1]


@pytest.mark.asyncio
async def test_show_json_is_the_api_answer(
    monkeypatch: pytest.MonkeyPatch, store: CallStore
) -> None:
    """`cti calls show ID --json` prints what `GET /calls/{id}` answers."""
    async with serving(store) as url:
        code, out, _ = await run_cli(monkeypatch, url, "show", "c1", "--json")
        answer = await api(url, "/calls/c1")
    assert code == 0
    assert json.loads(out) == answer


@pytest.mark.asyncio
async def test_show_an_unknown_call_gives_the_api_error(
    monkeypatch: pytest.MonkeyPatch, store: CallStore
) -> None:
    """Exit 1 with the API's code and message."""
    async with serving(store) as url:
        code, _, err = await run_cli(monkeypatch, url, "show", "nope")
    assert code == 1
    assert "404 call-not-found" in err


@pytest.mark.asyncio
async def test_a_worker_without_history_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that keeps no history answers 503; the command prints it and exits 1."""
    async with serving(None) as url:
        code, _, err = await run_cli(monkeypatch, url, "list")
    assert code == 1
    assert "503 history-unavailable" in err


def test_a_bad_time_is_a_usage_error_before_any_request() -> None:
    """Neither relative nor ISO: exit 2, naming the option and the accepted forms."""
    result = CliRunner().invoke(calls_app(), ["calls", "list", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "--since" in result.stderr
    assert "2025-01-31T08:00" in result.stderr


def test_cti_calls_has_list_show_and_dead_letters() -> None:
    """The real `cti calls` group: list and show (API) beside dead-letters (local store)."""
    result = CliRunner().invoke(cti.app, ["calls", "--help"])
    assert result.exit_code == 0
    for command in ("list", "show", "dead-letters"):
        assert command in result.stdout
