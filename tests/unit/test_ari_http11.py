"""Specification of :class:`Http11Transport` where HTTP itself is the subject: keep-alive, answers
framed in each way HTTP allows, servers that close, the connection limit, cancellation.

The ordinary ARI behaviour (paths, parameters, statuses, timeouts) is specified once for every
transport in test_ari_client.py. Here a raw asyncio server answers with bytes a test scripts,
and counts the connections it accepted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from stasis_app.ari.http11 import Http11Transport
from stasis_app.errors import AriConnectionError

# (connection number, request number on it, request head) -> bytes to send, or None to close.
Script = Callable[[int, int, bytes], bytes | None]

OK_JSON = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}'
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


@dataclass
class RawServer:
    script: Script = lambda _c, _r, _head: NO_CONTENT
    url: str = ""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    stall: asyncio.Event = field(default_factory=asyncio.Event)
    received: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number, served = self.connections, 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                self.received.set()
                served += 1
                answer = self.script(number, served, head)
                if answer is None:
                    break
                if answer == b"stall":
                    await self.stall.wait()
                    break
                writer.write(answer)
                await writer.drain()
                if answer.startswith(b"HTTP/1.0"):
                    break  # an HTTP/1.0 server closes after each answer
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest_asyncio.fixture
async def server() -> AsyncIterator[RawServer]:
    raw = RawServer()
    listening = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    raw.url = f"http://127.0.0.1:{port}"
    yield raw
    raw.stall.set()
    listening.close()
    await listening.wait_closed()


def transport(server: RawServer, **options: float) -> Http11Transport:
    return Http11Transport(server.url, "cti", "pw", **options)  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        (OK_JSON, 200, b'{"a":1}'),
        (NO_CONTENT, 204, b""),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'3\r\n{"a\r\n4;x=1\r\n":1}\r\n0\r\nX-Trailer: y\r\n\r\n',
            200,
            b'{"a":1}',
        ),
    ],
    ids=["content-length", "empty", "204-without-length", "chunked"],
)
async def test_every_framing_of_an_answer_is_read_and_the_connection_kept(
    server: RawServer, answer: bytes, status: int, body: bytes
) -> None:
    """Content-Length, an empty 204 and chunked bodies end where HTTP says; the connection is
    reused for the next request."""
    server.script = lambda _c, _r, _head: answer
    t = transport(server)
    try:
        first = await t.request("GET", "/x")
        second = await t.request("GET", "/y")
    finally:
        await t.aclose()

    assert (first.status, first.body) == (status, body)
    assert (second.status, second.body) == (status, body)
    assert server.connections == 1


@pytest.mark.asyncio
async def test_a_body_without_length_runs_to_the_end_of_the_connection(server: RawServer) -> None:
    """No Content-Length, not chunked: the body is what comes before the server closes."""
    server.script = lambda _c, _r, _head: b"HTTP/1.0 200 OK\r\n\r\nhello"
    t = transport(server)
    try:
        answer = await t.request("GET", "/x")
    finally:
        await t.aclose()

    assert (answer.status, answer.body) == (200, b"hello")


@pytest.mark.asyncio
async def test_connection_close_is_honoured(server: RawServer) -> None:
    """An answer with ``Connection: close`` ends that connection; the next request opens one."""
    server.script = lambda _c, _r, _head: (
        b"HTTP/1.1 204 No Content\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    t = transport(server)
    try:
        await t.request("POST", "/a")
        await t.request("POST", "/b")
        assert t.open_connections == 0
    finally:
        await t.aclose()

    assert server.connections == 2


@pytest.mark.asyncio
async def test_a_request_on_a_connection_the_server_closed_while_idle_is_sent_again(
    server: RawServer,
) -> None:
    """Asterisk ends idle sessions: the request that finds its reused connection closed, before
    any answer, goes out once more on a new connection and succeeds."""
    server.script = lambda conn, served, _head: NO_CONTENT if conn > 1 or served == 1 else None
    t = transport(server)
    try:
        await t.request("POST", "/first")
        answer = await t.request("POST", "/second")
    finally:
        await t.aclose()

    assert answer.status == 204
    assert server.connections == 2
    sent = [r.split(b" ")[1] for r in server.requests]
    assert sent == [b"/ari/first", b"/ari/second", b"/ari/second"]


@pytest.mark.asyncio
async def test_a_new_connection_closed_without_an_answer_is_an_error(server: RawServer) -> None:
    """On a fresh connection a close before the answer is a failure, never a silent resend."""
    server.script = lambda _c, _r, _head: None
    t = transport(server)
    try:
        with pytest.raises(AriConnectionError, match="POST /hangup"):
            await t.request("POST", "/hangup")
    finally:
        await t.aclose()

    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_a_malformed_answer_is_a_connection_error(server: RawServer) -> None:
    """Bytes that are not an HTTP answer fail the request and close the connection."""
    server.script = lambda _c, _r, _head: b"SIP/2.0 200 OK\r\n\r\n"
    t = transport(server)
    try:
        with pytest.raises(AriConnectionError, match="malformed"):
            await t.request("GET", "/x")
        assert t.open_connections == 0
    finally:
        await t.aclose()


@pytest.mark.asyncio
async def test_requests_beyond_the_limit_wait_for_a_connection(server: RawServer) -> None:
    """With ``limit`` connections busy, more requests queue for them instead of opening more
    (Asterisk's session limit counts every one)."""
    t = transport(server, limit=2)
    try:
        answers = await asyncio.gather(*(t.request("POST", f"/r{n}") for n in range(10)))
    finally:
        await t.aclose()

    assert [a.status for a in answers] == [204] * 10
    assert server.connections == 2


@pytest.mark.asyncio
async def test_a_cancelled_request_never_gives_its_connection_back(server: RawServer) -> None:
    """Cancelled while waiting for the answer, the connection's state is unknown: it is closed,
    and the next request opens a new one."""
    server.script = lambda conn, _r, _head: b"stall" if conn == 1 else NO_CONTENT
    t = transport(server)
    try:
        pending = asyncio.create_task(t.request("POST", "/slow"))
        await asyncio.wait_for(server.received.wait(), 5)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        answer = await t.request("POST", "/next")
    finally:
        await t.aclose()

    assert answer.status == 204
    assert server.connections == 2


@pytest.mark.asyncio
async def test_a_waiter_cancelled_in_the_queue_leaves_the_limit_intact(server: RawServer) -> None:
    """A request cancelled while queued for a connection neither leaks nor adds a slot."""
    server.script = lambda conn, served, _head: b"stall" if (conn, served) == (1, 1) else NO_CONTENT
    t = transport(server, limit=1)
    try:
        slow = asyncio.create_task(t.request("POST", "/slow"))
        await asyncio.wait_for(server.received.wait(), 5)
        queued = asyncio.create_task(t.request("POST", "/queued"))
        await asyncio.sleep(0)
        queued.cancel()
        slow.cancel()
        await asyncio.gather(slow, queued, return_exceptions=True)
        answer = await t.request("POST", "/after")
        assert t.open_connections == 1
    finally:
        await t.aclose()

    assert answer.status == 204


@pytest.mark.asyncio
async def test_json_bodies_and_parameters_are_sent_as_asterisk_reads_them(
    server: RawServer,
) -> None:
    """A JSON body has its type and length; parameters are percent-encoded (space as %20)."""
    t = transport(server)
    try:
        await t.request(
            "POST", "/channels", params={"endpoint": "PJSIP/2000", "x": "a b"}, json={"k": "v"}
        )
    finally:
        await t.aclose()

    request = server.requests[0]
    assert request.startswith(b"POST /ari/channels?endpoint=PJSIP%2F2000&x=a%20b HTTP/1.1\r\n")
    assert b"Content-Type: application/json\r\nContent-Length: 9\r\n\r\n" in request
    assert request.endswith(b'{"k":"v"}')


def test_the_pool_and_the_websockets_stay_below_asterisks_session_limit() -> None:
    """Our http.conf's sessionlimit is the one the code sizes the REST pool from, and the pool plus
    the two event websockets leave room for a CLI command beside the worker."""
    from pathlib import Path

    from stasis_app.ari import http11

    conf = Path(__file__).parents[2] / "asterisk/etc/http.conf"
    values = [
        line.split("=", 1)[1].strip()
        for line in conf.read_text().splitlines()
        if line.replace(" ", "").startswith("sessionlimit=")
    ]

    assert values == [str(http11.ASTERISK_SESSION_LIMIT)]
    used = http11.ARI_REST_CONNECTIONS + http11.EVENT_WEBSOCKETS
    assert used < http11.ASTERISK_SESSION_LIMIT
    assert Http11Transport("http://127.0.0.1:8088", "u", "p")._limit == http11.ARI_REST_CONNECTIONS
