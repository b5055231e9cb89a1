"""Specification of the embedded server, the REST client and the `cti` commands, end to end
over a real socket (uvicorn on an ephemeral port, the CLI run in a thread)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stasis_app.calls.registry import LiveRegistry
from stasis_app.calls.views import TransferState
from stasis_app.errors import ConfigError
from stasis_app.events.bus import EventBus
from stasis_app.http import ApiServer, commands
from stasis_app.http.client import ApiClient, ApiRejected, ApiUnreachable, read_token
from stasis_app.http.models import TransferOut
from stasis_app.http.server import bind
from tests.unit.http_support import (
    AGENT,
    CALLER,
    EPOCH0,
    TOKEN,
    Clock,
    FakeControl,
    call_event,
    channel_json,
    contact_event,
    event,
    make_app,
    registry_of_a_bridged_call,
)


@contextlib.asynccontextmanager
async def serving(
    control: FakeControl | None = None,
    bus: EventBus | None = None,
    registry: LiveRegistry | None = None,
) -> AsyncIterator[str]:
    if registry is None:
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


# ------------------------------------------------------------------ live calls, hold, transfers
@contextlib.asynccontextmanager
async def serving_a_bridged_call() -> AsyncIterator[tuple[str, FakeControl]]:
    """The API over a call from 1000 (CALLER) answered by 2000 (AGENT)."""
    control = FakeControl()
    control.bridged(CALLER, AGENT)
    async with serving(control, registry=registry_of_a_bridged_call()) as url:
        yield url, control


@pytest.mark.asyncio
async def test_cti_live_prints_one_line_per_party(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti live`: the call's columns on its first line, then each party (extension, role,
    state) on a line of its own."""
    async with serving_a_bridged_call() as (url, _):
        code, output = await run_cli(monkeypatch, url, "live")
    assert code == 0
    header, first, second = output.splitlines()
    assert header.split() == [
        "CALL", "STAGE", "CALLER", "DIALED", "DURATION", "CHANNEL", "EXT", "ROLE", "STATE",
        "TRANSFER",
    ]  # fmt: skip
    assert first.split() == [
        CALLER, "bridged", "Alice", "<1000>", "2000", "100s", CALLER, "1000", "caller", "talking",
        "-",
    ]  # fmt: skip
    assert second.split() == [AGENT, "2000", "callee", "talking"]
    assert second.index(AGENT) == first.index(CALLER, len(CALLER))  # under CHANNEL


@pytest.mark.asyncio
async def test_cti_live_shows_the_transfer_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """An attended transfer shows in the TRANSFER column, its target as a party."""
    async with serving_a_bridged_call() as (url, control):
        await control.start_transfer(CALLER, "2001", "attended")
        code, output = await run_cli(monkeypatch, url, "live")
    assert code == 0
    lines = output.splitlines()
    assert lines[1].endswith(f"{CALLER}-t1 ringing -> 2001")
    assert lines[3].split() == [f"{CALLER}-leg2", "2001", "target", "ringing"]


@pytest.mark.asyncio
async def test_cti_live_json_is_the_api_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti live --json` prints the calls as the API gives them."""
    async with serving_a_bridged_call() as (url, _):
        code, output = await run_cli(monkeypatch, url, "live", "--json")
    assert code == 0
    [call] = json.loads(output)
    assert call["id"] == CALLER
    assert [p["channel_id"] for p in call["parties"]] == [CALLER, AGENT]


@pytest.mark.asyncio
async def test_cti_live_without_calls_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """No live call: one plain sentence, exit 0."""
    async with serving() as url:
        assert await run_cli(monkeypatch, url, "live") == (0, "no live calls\n")


@pytest.mark.asyncio
async def test_cti_hold_and_unhold_reach_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti hold ID` then `cti unhold ID` hold the party ID talks to and take it back."""
    async with serving_a_bridged_call() as (url, control):
        held = await run_cli(monkeypatch, url, "hold", AGENT)
        back = await run_cli(monkeypatch, url, "unhold", AGENT)
    assert (held[0], back[0]) == (0, 0)
    assert "hears music" in held[1]
    assert control.calls == [("hold", AGENT), ("unhold", AGENT)]


@pytest.mark.asyncio
async def test_cti_hold_twice_says_why_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused hold exits 1 with the API's code and reason."""
    async with serving_a_bridged_call() as (url, _):
        await run_cli(monkeypatch, url, "hold", AGENT)
        code, output = await run_cli(monkeypatch, url, "hold", AGENT)
    assert code == 1
    assert "409 call-state-conflict" in output
    assert "already holds" in output


@pytest.mark.asyncio
async def test_cti_transfer_blind_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti transfer ID EXT --json` (blind, the old route) prints what was done as JSON."""
    async with serving_a_bridged_call() as (url, control):
        code, output = await run_cli(monkeypatch, url, "transfer", AGENT, "2001", "--json")
    assert code == 0
    assert json.loads(output) == {"channel_id": AGENT, "extension": "2001", "mode": "blind"}
    assert control.calls == [("transfer", AGENT, "2001")]


@pytest.mark.asyncio
async def test_cti_transfer_attended_prints_the_transfer_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`cti transfer ID EXT --attended` starts an attended transfer of ID and names it."""
    async with serving_a_bridged_call() as (url, control):
        code, output = await run_cli(monkeypatch, url, "transfer", CALLER, "2001", "--attended")
    assert (code, output) == (0, f"transferring: transfer {CALLER}-t1\n")
    assert control.calls == [("start_transfer", CALLER, "2001", "attended")]


@pytest.mark.asyncio
async def test_cti_transfer_attended_json_with_options_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Options may come first (`cti transfer --attended --json ID EXT`); --json prints the
    transfer object."""
    async with serving_a_bridged_call() as (url, _):
        code, output = await run_cli(
            monkeypatch, url, "transfer", "--attended", "--json", CALLER, "2001"
        )
    assert code == 0
    transfer = json.loads(output)
    assert (transfer["id"], transfer["state"], transfer["initiator"]) == (
        f"{CALLER}-t1",
        "ringing",
        AGENT,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("as_json", [False, True])
async def test_cti_transfer_show(monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    """`cti transfer show TID`: one row (or the JSON object) with state, parties and target."""
    async with serving_a_bridged_call() as (url, control):
        started = await control.start_transfer(CALLER, "2001", "attended")
        code, output = await run_cli(
            monkeypatch, url, "transfer", "show", started.id, *(["--json"] if as_json else [])
        )
    assert code == 0
    if as_json:
        assert json.loads(output)["target"] == f"{CALLER}-leg2"
        return
    header, row = output.splitlines()
    assert header.split()[:3] == ["ID", "MODE", "STATE"]
    assert row.split() == [
        started.id, "attended", "ringing", CALLER, AGENT, "2001", f"{CALLER}-leg2", "-",
    ]  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize("as_json", [False, True])
async def test_cti_transfer_complete(monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    """`cti transfer complete TID` completes an answered transfer."""
    async with serving_a_bridged_call() as (url, control):
        started = await control.start_transfer(CALLER, "2001", "attended")
        control.target_answers(started.id)
        code, output = await run_cli(
            monkeypatch, url, "transfer", "complete", started.id, *(["--json"] if as_json else [])
        )
    assert code == 0
    if as_json:
        assert json.loads(output)["state"] == "completed"
    else:
        assert output == f"completed transfer {started.id} to 2001\n"
    assert control.calls[-1] == ("complete_transfer", started.id)


@pytest.mark.asyncio
@pytest.mark.parametrize("as_json", [False, True])
async def test_cti_transfer_cancel(monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    """`cti transfer cancel TID` cancels a ringing transfer."""
    async with serving_a_bridged_call() as (url, control):
        started = await control.start_transfer(CALLER, "2001", "attended")
        code, output = await run_cli(
            monkeypatch, url, "transfer", "cancel", started.id, *(["--json"] if as_json else [])
        )
    assert code == 0
    if as_json:
        assert json.loads(output)["reason"] == "cancelled"
    else:
        assert output == f"cancelled transfer {started.id}\n"
    assert control.calls[-1] == ("cancel_transfer", started.id)


@pytest.mark.asyncio
async def test_cti_transfer_complete_of_an_unknown_id_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unknown transfer id exits 1 with transfer-not-found."""
    async with serving_a_bridged_call() as (url, _):
        code, output = await run_cli(monkeypatch, url, "transfer", "complete", "nope-t9")
    assert code == 1
    assert "404 transfer-not-found" in output


def test_cti_transfer_help_shows_both_forms() -> None:
    """`cti transfer --help` shows the CHANNEL_ID EXTENSION form and the three subcommands."""
    result = CliRunner().invoke(cli(), ["transfer", "--help"])
    words = " ".join(result.output.split())  # as wrapped for any terminal width
    assert result.exit_code == 0
    assert "CHANNEL_ID EXTENSION [--attended] | complete|cancel|show TRANSFER_ID" in words
    for command in ("start", "complete", "cancel", "show"):
        assert f"│ {command} " in words


@pytest.mark.parametrize(
    ("call", "request_"),
    [
        (lambda c: c.live_calls(), ("GET", "/calls/live", None)),
        (lambda c: c.hangup("a.1"), ("DELETE", "/channels/a.1", None)),
        (lambda c: c.hold("a.1"), ("POST", "/channels/a.1/hold", None)),
        (lambda c: c.unhold("a.1"), ("DELETE", "/channels/a.1/hold", None)),
        (
            lambda c: c.transfer("a.1", "2001"),
            ("POST", "/channels/a.1/transfer", {"extension": "2001"}),
        ),
        (
            lambda c: c.start_transfer("a.1", "2001", "attended"),
            ("POST", "/transfers", {"call": "a.1", "to": "2001", "mode": "attended"}),
        ),
        (lambda c: c.get_transfer("t/1"), ("GET", "/transfers/t%2F1", None)),
        (lambda c: c.complete_transfer("t1"), ("POST", "/transfers/t1/complete", None)),
        (lambda c: c.cancel_transfer("t1"), ("DELETE", "/transfers/t1", None)),
    ],
)
def test_client_operations_use_the_documented_routes(
    monkeypatch: pytest.MonkeyPatch,
    call: Callable[[ApiClient], object],
    request_: tuple[str, str, dict[str, str] | None],
) -> None:
    """Each client operation sends its method, path (ids quoted) and body; `cti hangup` uses
    DELETE /channels/{id}, not the old POST alias."""
    sent: list[tuple[str, str, object]] = []
    transfer = TransferOut(
        id="t1", call_id="c", mode="attended", state=TransferState.RINGING, moved="a.1",
        initiator=None, extension="2001", target=None, reason=None,
    )  # fmt: skip

    def fake_request(
        self: ApiClient, method: str, path: str, body: dict[str, str] | None = None
    ) -> bytes:
        sent.append((method, path, body))
        return b'{"calls": []}' if path == "/calls/live" else transfer.model_dump_json().encode()

    monkeypatch.setattr(ApiClient, "_request", fake_request)
    call(ApiClient("http://cti.test", TOKEN))
    assert sent == [request_]
