"""Specification of /health (readiness, 200 or 503 with the problems), /livez (liveness), and the
CLI client and `cti health` facing a 503. In process through httpx.ASGITransport, except the
client tests, which need a real socket (uvicorn on an ephemeral port)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stasis_app.events.elastic import SinkStatus
from stasis_app.health import DeadTask
from stasis_app.http import ApiServer, commands
from stasis_app.http.client import ApiClient
from tests.unit.http_support import TOKEN, FakeStatus, client, healthy_store, make_app

SINK = SinkStatus("running", None, shipped=40, pending=5, dead_letters=2)

# (what the worker reports, HTTP status, health status, problem codes)
CASES: list[tuple[dict[str, Any], int, str, list[str]]] = [
    ({}, 200, "ok", []),
    ({"ari_connected": False}, 503, "unavailable", ["ari-disconnected"]),
    (
        {"store_status": healthy_store(writer_alive=False)},
        503,
        "unavailable",
        ["store-failing"],
    ),
    (
        {"store_status": healthy_store(failing=True, last_error="OperationalError: disk full")},
        200,
        "degraded",
        ["store-retrying"],
    ),
    (
        {"dead_tasks": (DeadTask("endpoint-events", "AriAuthError", essential=True),)},
        503,
        "unavailable",
        ["task-dead"],
    ),
    (
        {"dead_tasks": (DeadTask("loop-lag-monitor", None, essential=False),)},
        200,
        "degraded",
        ["task-dead"],
    ),
    ({"endpoints_connected": False}, 200, "degraded", ["endpoints-disconnected"]),
    (
        {"sink_status": SinkStatus("stopped-auth", "403", 0, 9, 0)},
        200,
        "degraded",
        ["shipping-stopped"],
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("reported", "http_status", "status", "codes"), CASES)
async def test_health_answers_503_only_when_calls_cannot_be_served(
    reported: dict[str, Any], http_status: int, status: str, codes: list[str]
) -> None:
    """Each failure reason gives its problem; only blocking ones turn the answer into 503, and
    the body keeps every field either way."""
    async with client(make_app(status=FakeStatus(**reported)), auth=False) as http:
        answer = await http.get("/health")
    body = answer.json()
    assert answer.status_code == http_status
    assert body["status"] == status
    assert [p["code"] for p in body["problems"]] == codes
    assert (body["ari_connected"], body["version"]) == (
        reported.get("ari_connected", True),
        "0.1.0",
    )


@pytest.mark.asyncio
async def test_health_reports_shipping_and_store_counts() -> None:
    """The Elasticsearch sink's pending, dead-lettered and shipped counts, and the writer's
    backlog; shipping is null when no sink is configured."""
    async with client(make_app(status=FakeStatus(sink_status=SINK)), auth=False) as http:
        body = (await http.get("/health")).json()
    assert body["shipping"] == {"state": "running", "shipped": 40, "pending": 5, "dead_letters": 2}
    assert body["store"] == {"writer_alive": True, "backlog": 3, "write_failures": 0}
    async with client(make_app(), auth=False) as http:
        assert (await http.get("/health")).json()["shipping"] is None


@pytest.mark.asyncio
async def test_health_is_read_at_request_time() -> None:
    """A worker that loses ARI after the app was built is reported at the next probe."""
    status = FakeStatus()
    async with client(make_app(status=status), auth=False) as http:
        assert (await http.get("/health")).status_code == 200
        status.ari_connected = False
        assert (await http.get("/health")).status_code == 503


@pytest.mark.asyncio
async def test_livez_answers_without_token_whatever_the_worker_state() -> None:
    """/livez says the process answers; ARI, the store or a dead task do not change it."""
    broken = FakeStatus(ari_connected=False, store_status=healthy_store(writer_alive=False))
    async with client(make_app(status=broken), auth=False) as http:
        answer = await http.get("/livez")
    assert (answer.status_code, answer.json()) == (200, {"status": "alive"})


@contextlib.asynccontextmanager
async def serving(status: FakeStatus) -> AsyncIterator[str]:
    server = ApiServer(make_app(status=status), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_client_reads_an_unavailable_health() -> None:
    """ApiClient.health() parses the 503 body instead of raising: the reasons reach the user."""
    async with serving(FakeStatus(ari_connected=False)) as url:
        health = await asyncio.to_thread(ApiClient(url, TOKEN, timeout=5).health)
    assert health.status == "unavailable"
    assert [p.code for p in health.problems] == ["ari-disconnected"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "exit_code", "shown"),
    [
        (FakeStatus(sink_status=SINK), 0, "5 pending, 2 dead letters"),
        (FakeStatus(endpoints_connected=False), 0, "warning   endpoints-disconnected"),
        (FakeStatus(ari_connected=False), 1, "blocking  ari-disconnected"),
    ],
)
async def test_cti_health_shows_problems_and_exits_1_when_unavailable(
    monkeypatch: pytest.MonkeyPatch, status: FakeStatus, exit_code: int, shown: str
) -> None:
    """`cti health` prints the status and each problem; exit code 1 only when unavailable."""
    app = typer.Typer()
    commands.register(app)
    async with serving(status) as url:
        monkeypatch.setattr(commands, "make_client", lambda: ApiClient(url, TOKEN, timeout=5))
        result = await asyncio.to_thread(CliRunner().invoke, app, ["health"])
    assert result.exit_code == exit_code, result.output
    assert shown in result.output
