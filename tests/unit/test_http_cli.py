"""Specification of the embedded server, the REST client and the `cti` commands, end to end
over a real socket (uvicorn on an ephemeral port, the CLI run in a thread)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stasis_app.calls.registry import LiveRegistry
from stasis_app.errors import ConfigError
from stasis_app.events.bus import EventBus
from stasis_app.http import ApiServer, commands
from stasis_app.http.client import ApiClient, ApiRejected, ApiUnreachable, read_token
from stasis_app.http.server import bind
from tests.unit.http_support import (
    EPOCH0,
    TOKEN,
    Clock,
    FakeControl,
    call_event,
    channel_json,
    contact_event,
    event,
    make_app,
)

CALLER = "1714557600.12"


@contextlib.asynccontextmanager
async def serving(
    control: FakeControl | None = None, bus: EventBus | None = None
) -> AsyncIterator[str]:
    registry = LiveRegistry(now=Clock(EPOCH0 + 30))
    registry.apply(event("StasisStart", channel=channel_json(CALLER), args=["2000"]))
    registry.apply(contact_event("2000"))
    server = ApiServer(make_app(registry, bus=bus or EventBus(), control=control), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()


def cli() -> typer.Typer:
    app = typer.Typer()
    commands.register(app)
    return app


async def run_cli(
    monkeypatch: pytest.MonkeyPatch, url: str, *args: str, token: str = TOKEN
) -> tuple[int, str]:
    monkeypatch.setattr(commands, "make_client", lambda: ApiClient(url, token, timeout=5))
    result = await asyncio.to_thread(CliRunner().invoke, cli(), list(args))
    return result.exit_code, result.output


@pytest.mark.asyncio
async def test_client_reads_health_over_a_real_socket() -> None:
    """The embedded server answers on its port; the client parses the answer."""
    async with serving() as url:
        health = await asyncio.to_thread(ApiClient(url, TOKEN).health)
    assert health.ari_connected


@pytest.mark.asyncio
async def test_cti_channels_prints_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti channels` shows aligned columns with the caller and dialed extension."""
    async with serving() as url:
        code, output = await run_cli(monkeypatch, url, "channels")
    assert code == 0
    header, row = output.splitlines()
    assert header.split()[:4] == ["ID", "STATE", "CALLER", "DIALED"]
    assert row.startswith(CALLER)
    assert "Alice <1000>" in row


@pytest.mark.asyncio
async def test_cti_endpoints_json_is_parseable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti endpoints --json` prints the endpoints as JSON for scripts."""
    async with serving() as url:
        code, output = await run_cli(monkeypatch, url, "endpoints", "--json")
    assert code == 0
    assert [e["id"] for e in json.loads(output)] == ["PJSIP/2000"]


@pytest.mark.asyncio
async def test_cti_call_hangup_transfer_reach_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti call`, `cti hangup` and `cti transfer` go through the API to the call control."""
    control = FakeControl(channels={CALLER})
    async with serving(control) as url:
        assert (await run_cli(monkeypatch, url, "call", "1000", "2000"))[0] == 0
        assert (await run_cli(monkeypatch, url, "hangup", CALLER))[0] == 0
        assert (await run_cli(monkeypatch, url, "transfer", CALLER, "1000"))[0] == 0
    assert control.calls == [
        ("call", "1000", "2000"),
        ("hangup", CALLER),
        ("transfer", CALLER, "1000"),
    ]


@pytest.mark.asyncio
async def test_cti_with_a_wrong_token_says_401(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong token is a clear error naming CTI_API_TOKEN, exit code 1."""
    async with serving() as url:
        code, output = await run_cli(monkeypatch, url, "channels", token="wrong")
    assert code == 1
    assert "401 unauthorized" in output
    assert "CTI_API_TOKEN" in output


@pytest.mark.asyncio
async def test_cti_hangup_of_an_unknown_channel_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's error code and message reach the terminal."""
    async with serving() as url:
        code, output = await run_cli(monkeypatch, url, "hangup", "1714557600.99")
    assert code == 1
    assert "channel-not-found" in output


@pytest.mark.asyncio
async def test_client_follows_the_event_stream() -> None:
    """The client (and so `cti watch`) reads screen pops from /events/sse as they come."""
    bus = EventBus()
    async with serving(bus=bus) as url:
        reader = asyncio.create_task(
            asyncio.to_thread(lambda: list(ApiClient(url, TOKEN).events("2000")))
        )
        async with asyncio.timeout(5):
            while bus.subscribers == 0:  # noqa: ASYNC110 (the bus has no hook for this)
                await asyncio.sleep(0.005)
        bus.emit(call_event("dialing", extension="2000"))
        bus.close()
        pops = await asyncio.wait_for(reader, 5)
    assert [p["type"] for p in pops] == ["ringing"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_connection_refused_asks_whether_the_worker_runs() -> None:
    """Nothing listening: the error says `cti run` is probably not running."""
    client = ApiClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=2)
    with pytest.raises(ApiUnreachable, match="is `cti run` running"):
        client.channels()


def test_a_taken_port_is_a_config_error_naming_the_variable() -> None:
    """uvicorn would sys.exit; the worker gets a ConfigError naming CTI_HTTP_PORT instead."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigError, match="CTI_HTTP_PORT"):
            bind("127.0.0.1", taken.getsockname()[1])


def test_token_falls_back_to_the_lab_token_file(tmp_path: Path) -> None:
    """Without CTI_API_TOKEN the CLI reads $CTI_DATA_DIR/api-token."""
    (tmp_path / "api-token").write_text("from-file\n")
    assert read_token({"CTI_DATA_DIR": str(tmp_path)}) == "from-file"


def test_no_token_anywhere_names_both_places(tmp_path: Path) -> None:
    """Neither variable nor file: the error names CTI_API_TOKEN and the file path."""
    with pytest.raises(ConfigError, match=r"CTI_API_TOKEN.*api-token"):
        read_token({"CTI_DATA_DIR": str(tmp_path)})


def test_api_rejected_keeps_the_error_code() -> None:
    """Scripts can branch on the stable code."""
    assert ApiRejected(404, "channel-not-found", "no live channel").code == "channel-not-found"


def test_describe_is_one_line_per_screen_pop() -> None:
    """`cti watch` prints what happened, where and from whom."""
    line = commands.describe(
        {
            "type": "ringing",
            "extension": "2000",
            "caller_name": "Alice",
            "caller_number": "1000",
            "call_id": "c1",
        }
    )
    assert line.split()[:2] == ["ringing", "2000"]
    assert "Alice <1000>" in line
