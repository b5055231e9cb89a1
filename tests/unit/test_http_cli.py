"""Specification of the embedded server, the REST client and the `cti` commands, end to end
over a real socket (uvicorn on an ephemeral port, the CLI run in a thread); and of
`cti ivr validate` with its queues file (real loaders, files in a temporary folder)."""

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

from stasis_app import cli as cti
from stasis_app.calls.registry import LiveRegistry
from stasis_app.calls.views import TransferState
from stasis_app.errors import ConfigError
from stasis_app.events.bus import EventBus
from stasis_app.http import ApiServer, commands, queue_commands
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
    FakeQueues,
    a_busy_morning,
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
    queues: FakeQueues | None = None,
) -> AsyncIterator[str]:
    if registry is None:
        registry = LiveRegistry(now=Clock(EPOCH0 + 30))
        registry.apply(event("StasisStart", channel=channel_json(CALLER), args=["2000"]))
    registry.apply(contact_event("2000"))
    app = make_app(registry, bus=bus or EventBus(), control=control, queues=queues)
    server = ApiServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()


def cli() -> typer.Typer:
    app = typer.Typer()
    commands.register(app)
    queue_commands.register(app)
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


def test_describe_names_the_queue_of_a_queue_pop() -> None:
    """A queue pop says which queue; the caller-side ones fall back to the dialed number."""
    line = commands.describe(
        {"type": "queue-joined", "extension": "", "dialed": "500", "caller_number": "1000",
         "call_id": "c1", "queue": "sales", "position": 2}
    )  # fmt: skip
    assert line.split()[:2] == ["queue-joined", "500"]
    assert line.endswith("call c1  queue sales")


def test_describe_an_agent_state_item() -> None:
    """An agent's state change: the extension, the state, the reason and its queues."""
    line = commands.describe(
        {"type": "agent-state", "extension": "2001", "state": "paused", "reason": "lunch",
         "queues": ["sales", "support"], "call_id": None, "at": 1714557700.0}
    )  # fmt: skip
    assert line.split() == ["agent-state", "2001", "paused", "(lunch)", "in", "sales,", "support"]


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


# ------------------------------------------------------------------------------ queues, agents
@contextlib.asynccontextmanager
async def serving_queues() -> AsyncIterator[tuple[str, FakeQueues]]:
    """The API over a busy morning in sales; 2001 logged in to sales, but paused for lunch."""
    queues = a_busy_morning()
    queues.login("2001", ["sales"])
    queues.pause("2001", "lunch")
    queues.now += 125
    async with serving(queues=queues) as url:
        yield url, queues


SALES = """\
queue sales (longest-idle): 2 waiting, 0 of 3 agents available
today 2024-05-01: offered 12, answered 10, abandoned 1, overflowed 1, SL 75.0% (within 20s), \
ASA 7.5s, longest wait 42.0s

POS  CALLER        WAITED  RINGING
1    Bob <1000>    42s     2000
2    Carol <1001>  12s     -

AGENT  STATE       FOR    REASON
2000   ringing     2m05s  -
2001   paused      2m05s  lunch
2002   logged-out  3m45s  -"""

SUPPORT = """\
queue support (round-robin): 0 waiting, 0 of 1 agents available
today 2024-05-01: offered 0, answered 0, abandoned 0, overflowed 0, SL - (within 30s), ASA -, \
longest wait 0.0s

no callers waiting

AGENT  STATE   FOR    REASON
2001   paused  2m05s  lunch"""


@pytest.mark.asyncio
async def test_cti_queues_prints_each_queue_with_its_callers_agents_and_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`cti queues`: per queue, a title, today's figures on one line, the waiting callers
    (position, caller, waited, phones ringing) and the agents (state, for how long, reason)."""
    async with serving_queues() as (url, _):
        code, output = await run_cli(monkeypatch, url, "queues")
    assert (code, output) == (0, f"{SALES}\n\n{SUPPORT}\n")


@pytest.mark.asyncio
async def test_cti_queues_name_prints_that_queue_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti queues support`: the one block."""
    async with serving_queues() as (url, _):
        assert await run_cli(monkeypatch, url, "queues", "support") == (0, f"{SUPPORT}\n")


@pytest.mark.asyncio
async def test_cti_queues_json_is_the_api_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--json` prints the list of queues, or the one queue asked for, as the API gives them."""
    async with serving_queues() as (url, _):
        every = await run_cli(monkeypatch, url, "queues", "--json")
        one = await run_cli(monkeypatch, url, "queues", "sales", "--json")
    assert [q["name"] for q in json.loads(every[1])] == ["sales", "support"]
    sales = json.loads(one[1])
    assert (sales["name"], sales["today"]["service_level_pct"]) == ("sales", 75.0)
    assert [w["call_id"] for w in sales["waiting"]] == ["c7", "c8"]


@pytest.mark.asyncio
async def test_cti_queues_of_an_unknown_queue_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown queue exits 1 with the API's code and message."""
    async with serving_queues() as (url, _):
        code, output = await run_cli(monkeypatch, url, "queues", "billing")
    assert code == 1
    assert "404 queue-not-found: no queue 'billing'" in output


@pytest.mark.asyncio
async def test_cti_agents_prints_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti agents`: extension, state, for how long, queues, reason, calls today, reachable."""
    async with serving_queues() as (url, queues):
        queues.agents_["2002"].reachable = False
        code, output = await run_cli(monkeypatch, url, "agents")
    assert code == 0
    assert output.splitlines() == [
        "AGENT  STATE       FOR    QUEUES  REASON  CALLS  REACHABLE",
        "2000   ringing     2m05s  sales   -       0      yes",
        "2001   paused      2m05s  sales   lunch   0      yes",
        "2002   logged-out  3m45s  -       -       0      no",
    ]


@pytest.mark.asyncio
async def test_cti_agents_json_is_the_api_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti agents --json` prints the agents as the API gives them."""
    async with serving_queues() as (url, _):
        code, output = await run_cli(monkeypatch, url, "agents", "--json")
    assert code == 0
    agents = json.loads(output)
    assert [(a["extension"], a["pause_reason"]) for a in agents] == [
        ("2000", None),
        ("2001", "lunch"),
        ("2002", None),
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("args", "said", "done"),
    [
        (["2002"], "2002 is available in sales", ("login", "2002", ("sales",))),
        (
            ["2001", "support"],
            "2001 is paused in sales, support (lunch)",
            ("login", "2001", ("support",)),
        ),
    ],
)
async def test_cti_agent_login(
    monkeypatch: pytest.MonkeyPatch, args: list[str], said: str, done: tuple[object, ...]
) -> None:
    """`cti agent login EXT [QUEUE ...]`: every queue listing it by default, or those named;
    it says what the agent is now."""
    async with serving_queues() as (url, queues):
        assert await run_cli(monkeypatch, url, "agent", "login", *args) == (0, f"{said}\n")
    assert queues.calls[-1] == done


@pytest.mark.asyncio
async def test_cti_agent_logout(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti agent logout EXT QUEUE` leaves that queue; without QUEUE, every queue. A pause
    outlasts the logout, and the line says so."""
    async with serving_queues() as (url, queues):
        queues.login("2001", ["support"])
        one = await run_cli(monkeypatch, url, "agent", "logout", "2001", "sales")
        rest = await run_cli(monkeypatch, url, "agent", "logout", "2001")
    assert one == (0, "2001 is paused in support (lunch)\n")
    assert rest == (0, "2001 is logged out (paused: lunch)\n")
    assert queues.calls[-2:] == [("logout", "2001", ("sales",)), ("logout", "2001", ("support",))]


@pytest.mark.asyncio
async def test_cti_agent_pause_and_unpause(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cti agent unpause EXT`, then `cti agent pause EXT --reason TEXT`."""
    async with serving_queues() as (url, queues):
        back = await run_cli(monkeypatch, url, "agent", "unpause", "2001")
        paused = await run_cli(monkeypatch, url, "agent", "pause", "2001", "--reason", "training")
    assert back == (0, "2001 is available in sales\n")
    assert paused == (0, "2001 is paused in sales (training)\n")
    assert queues.calls[-2:] == [("unpause", "2001"), ("pause", "2001", "training")]


@pytest.mark.asyncio
async def test_cti_agent_pause_json_without_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--json` prints the agent as the API answers it; the reason is optional."""
    async with serving_queues() as (url, queues):
        code, output = await run_cli(monkeypatch, url, "agent", "pause", "2001", "--json")
    assert code == 0
    agent = json.loads(output)
    assert (agent["extension"], agent["state"], agent["pause_reason"]) == ("2001", "paused", None)
    assert queues.calls[-1] == ("pause", "2001", None)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["logout", "2000"], "409 agent-state-conflict: agent 2000: is not logged in"),
        (["logout", "2000", "sales"], "is a static member of queue 'sales': pause it instead"),
        (["unpause", "2002"], "409 agent-state-conflict: agent 2002: is not paused"),
        (["login", "2999"], "404 agent-not-found"),
        (["login", "2001", "billing"], "404 queue-not-found: no queue 'billing'"),
        (["pause", "2000", "--reason", "a\tb"], "400 invalid-request: body.reason"),
    ],
)
async def test_a_refused_agent_command_says_why(
    monkeypatch: pytest.MonkeyPatch, args: list[str], said: str
) -> None:
    """A refusal exits 1 with the API's code and message, and changes nothing."""
    async with serving_queues() as (url, queues):
        before = list(queues.calls)
        code, output = await run_cli(monkeypatch, url, "agent", *args)
    assert code == 1
    assert said in " ".join(output.split())
    assert queues.calls == before


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (3599, "59m59s"), (3600, "1h00m"), (90061, "1d01h")],
)
def test_elapsed_is_short(seconds: float, shown: str) -> None:
    """Times in state and waits are whole seconds, then minutes, hours, days."""
    assert queue_commands.elapsed(seconds) == shown


AGENT_JSON = {
    "extension": "2000", "state": "available", "since": "2024-05-01T10:00:00Z",
    "seconds_in_state": 1.0, "queues": ["sales"], "pause_reason": None, "reachable": True,
    "calls_today": 0, "call_id": None,
}  # fmt: skip


@pytest.mark.parametrize(
    ("call", "request_"),
    [
        (lambda c: c.queues(), ("GET", "/queues", None)),
        (lambda c: c.queue("sa/les"), ("GET", "/queues/sa%2Fles", None)),
        (lambda c: c.agents(), ("GET", "/agents", None)),
        (lambda c: c.login_agent("2000"), ("POST", "/agents/2000/login", None)),
        (
            lambda c: c.login_agent("2000", ["sales"]),
            ("POST", "/agents/2000/login", {"queues": ["sales"]}),
        ),
        (lambda c: c.logout_agent("2000"), ("POST", "/agents/2000/logout", None)),
        (
            lambda c: c.logout_agent("2000", ("sales", "support")),
            ("POST", "/agents/2000/logout", {"queues": ["sales", "support"]}),
        ),
        (lambda c: c.pause_agent("2000"), ("POST", "/agents/2000/pause", None)),
        (
            lambda c: c.pause_agent("2000", "lunch"),
            ("POST", "/agents/2000/pause", {"reason": "lunch"}),
        ),
        (lambda c: c.unpause_agent("2000"), ("DELETE", "/agents/2000/pause", None)),
    ],
)
def test_client_queue_operations_use_the_documented_routes(
    monkeypatch: pytest.MonkeyPatch,
    call: Callable[[ApiClient], object],
    request_: tuple[str, str, dict[str, object] | None],
) -> None:
    """Each queue and agent operation sends its method, path (names quoted) and body; without
    queues or a reason, no body at all."""
    sent: list[tuple[str, str, object]] = []
    answers: dict[str, object] = {"/queues": {"queues": []}, "/agents": {"agents": []}}

    def fake_request(
        self: ApiClient, method: str, path: str, body: dict[str, object] | None = None
    ) -> bytes:
        sent.append((method, path, body))
        if path.startswith("/queues/"):
            return TODAY_QUEUE.encode()
        return json.dumps(answers.get(path, AGENT_JSON)).encode()

    monkeypatch.setattr(ApiClient, "_request", fake_request)
    call(ApiClient("http://cti.test", TOKEN))
    assert sent == [request_]


TODAY_QUEUE = json.dumps(
    {
        "name": "sa/les", "strategy": "ring-all", "waiting": [], "agents": [AGENT_JSON],
        "today": {
            "date": "2024-05-01", "offered": 0, "answered": 0, "abandoned": 0, "overflowed": 0,
            "answered_within_sl": 0, "service_level_pct": None, "service_level_threshold": 20.0,
            "average_speed_of_answer": None, "longest_wait": 0.0, "average_handle_time": None,
        },
    }
)  # fmt: skip


# ------------------------------------------------------------------ cti ivr validate, with queues
IVR_TO_SALES = """\
language = "ko"
start = "main"
[menus.main]
prompts = ["welcome"]
[menus.main.options]
"1" = { queue = "sales" }
"""
TWO_QUEUES = """\
[queues.sales]
members = ["2000"]
agents = ["2001"]
[queues.support]
agents = ["2001"]
"""


def validate(
    monkeypatch: pytest.MonkeyPatch, *args: str, missing: frozenset[str] = frozenset()
) -> tuple[int, str, set[tuple[str, str]]]:
    """`cti ivr validate ARGS` where every prompt has a sound file except ``missing``; also
    answers which (language, prompt) pairs were looked for."""
    asked: set[tuple[str, str]] = set()

    def exists(language: str, prompt: str) -> bool:
        asked.add((language, prompt))
        return prompt not in missing

    monkeypatch.setattr(cti, "sound_files", lambda _root: exists)
    result = CliRunner().invoke(cti.app, ["ivr", "validate", *args])
    return result.exit_code, result.output, asked


def test_ivr_validate_reads_the_queues_file_beside_the_ivr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """queues.toml beside FILE is validated too, its prompts in the IVR's language, and the
    IVR's queue options are checked against its queues; the OK line counts them."""
    (tmp_path / "main.toml").write_text(IVR_TO_SALES)
    (tmp_path / "queues.toml").write_text(TWO_QUEUES)
    code, output, asked = validate(monkeypatch, str(tmp_path / "main.toml"))
    assert (code, output) == (
        0,
        f"{tmp_path / 'main.toml'}: OK (1 menus, language ko, start 'main'; "
        f"2 queues in {tmp_path / 'queues.toml'})\n",
    )
    assert ("ko", "queue-hold") in asked


def test_ivr_validate_names_a_queue_the_queues_file_lacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A queue option naming no queue of the queues file is a problem with its path."""
    (tmp_path / "main.toml").write_text(IVR_TO_SALES.replace('"sales"', '"billing"'))
    (tmp_path / "queues.toml").write_text(TWO_QUEUES)
    code, output, _ = validate(monkeypatch, str(tmp_path / "main.toml"))
    assert code == 1
    assert "menus.main.options.1.queue: unknown queue 'billing'" in output


def test_ivr_validate_without_a_queues_file_allows_no_queue_option(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No queues.toml beside FILE: an IVR without queue options is OK ("no queues file"), one
    with a queue option is refused."""
    plain = tmp_path / "plain.toml"
    plain.write_text(IVR_TO_SALES.replace('{ queue = "sales" }', '"repeat"'))
    (tmp_path / "main.toml").write_text(IVR_TO_SALES)
    ok = validate(monkeypatch, str(plain))
    refused = validate(monkeypatch, str(tmp_path / "main.toml"))
    assert ok[:2] == (0, f"{plain}: OK (1 menus, language ko, start 'main'; no queues file)\n")
    assert refused[0] == 1
    assert "unknown queue 'sales' (no queues are defined)" in refused[1]


def test_ivr_validate_with_a_missing_queues_file_given_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--queues names a file that is not there: an error naming it, exit 1."""
    (tmp_path / "main.toml").write_text(IVR_TO_SALES)
    missing = tmp_path / "elsewhere.toml"
    code, output, _ = validate(monkeypatch, str(tmp_path / "main.toml"), "--queues", str(missing))
    assert code == 1
    assert f"{missing}: 1 problem(s)" in output
    assert "cannot read the file" in output


def test_ivr_validate_uses_the_queues_file_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--queues overrides the file beside FILE."""
    (tmp_path / "main.toml").write_text(IVR_TO_SALES)
    (tmp_path / "queues.toml").write_text("[queues.support]\n")
    (tmp_path / "other.toml").write_text(TWO_QUEUES)
    code, output, _ = validate(
        monkeypatch, str(tmp_path / "main.toml"), "--queues", str(tmp_path / "other.toml")
    )
    assert code == 0
    assert f"2 queues in {tmp_path / 'other.toml'}" in output


def test_ivr_validate_reports_both_files_problems(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both files broken: every problem of each is listed, exit 1. While the queues file cannot
    be read, the IVR's queue options are not judged (their names are unknown)."""
    (tmp_path / "main.toml").write_text(IVR_TO_SALES.replace('start = "main"', 'start = "mian"'))
    (tmp_path / "queues.toml").write_text(TWO_QUEUES + "ring_timeout = -1\nretry = -1\n")
    code, output, _ = validate(monkeypatch, str(tmp_path / "main.toml"))
    assert code == 1
    assert "start: unknown menu 'mian'" in output
    assert "queues.support.ring_timeout" in output
    assert "queues.support.retry" in output
    assert "unknown queue" not in output


def test_ivr_validate_checks_queue_prompts_in_the_ivr_language(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The queues' prompts must exist in the language of the IVR that sends callers there."""
    (tmp_path / "main.toml").write_text(IVR_TO_SALES.replace('"ko"', '"en"'))
    (tmp_path / "queues.toml").write_text(TWO_QUEUES)
    code, output, asked = validate(
        monkeypatch, str(tmp_path / "main.toml"), missing=frozenset({"queue-hold"})
    )
    assert code == 1
    assert "queues.sales.greeting: prompt 'queue-hold' has no sound file for language 'en'" in (
        output
    )
    assert {language for language, _ in asked} == {"en"}
