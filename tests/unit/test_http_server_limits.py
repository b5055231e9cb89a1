"""Specification of what an unauthenticated client can hold on the real server (uvicorn on an
ephemeral port of 127.0.0.1): a request head must arrive in time and stay small."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from stasis_app.http import ApiServer
from stasis_app.http import server as http_server
from tests.unit.http_support import make_app


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[int]:
    server = ApiServer(make_app(), "127.0.0.1", 0)
    await server.start()
    try:
        yield server.bound_port
    finally:
        await server.stop()


async def read_all(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(3):
        return await reader.read()


@pytest.mark.asyncio
async def test_a_request_head_that_dribbles_in_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slowloris: a client that never finishes its headers is disconnected at the deadline,
    without an answer (uvicorn alone would keep it open for ever)."""
    monkeypatch.setattr(http_server.HeaderDeadline, "header_seconds", 0.2)
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        assert await read_all(reader) == b""
        writer.close()


@pytest.mark.asyncio
async def test_a_prompt_request_is_served_and_the_deadline_rearms_for_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A complete head in time is answered; the same connection then gets a new deadline."""
    monkeypatch.setattr(http_server.HeaderDeadline, "header_seconds", 0.3)
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(3):
            status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 200")
        writer.write(b"GET /livez HTTP/1.1\r\n")  # the second head never ends
        await writer.drain()
        rest = await read_all(reader)
        assert b"HTTP/1.1" not in rest.split(b"\r\n\r\n", 1)[-1]  # no second answer
        writer.close()


@pytest.mark.asyncio
async def test_an_oversized_request_head_is_refused() -> None:
    """A head that grows past MAX_HEAD_BYTES before it ends is answered 400 and the connection
    closed, before the app (and the credential check) ever sees it: nobody can make the server
    buffer an unbounded head."""
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        filler = b"X-Pad: " + b"a" * (http_server.MAX_HEAD_BYTES + 1024) + b"\r\n"
        writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\n" + filler)  # not ended
        await writer.drain()
        assert (await read_all(reader)).startswith(b"HTTP/1.1 400")
        writer.close()


def test_the_server_is_configured_with_connection_and_keep_alive_limits() -> None:
    """Concurrency, keep-alive and head size are bounded (uvicorn's defaults are not)."""
    config = ApiServer(make_app(), "127.0.0.1", 0)._config
    assert config.limit_concurrency == http_server.MAX_CONNECTIONS
    assert config.timeout_keep_alive == http_server.KEEP_ALIVE_SECONDS
    assert config.h11_max_incomplete_event_size == http_server.MAX_HEAD_BYTES
    assert config.http is http_server.HeaderDeadline
