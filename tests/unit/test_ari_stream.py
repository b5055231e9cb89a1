"""Specification of the ARI events websocket and its backoff, against a real websocket server.

Nothing here sleeps to wait: tests wait on conditions (with a timeout), and retry delays are
asserted from what the backoff handed out, not from wall time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus
from typing import Any

import pytest
import pytest_asyncio
import structlog
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from stasis_app.ari import (
    Backoff,
    ChannelDtmfReceived,
    Event,
    EventStream,
    StasisEnd,
    StasisStart,
    UnknownEvent,
)
from stasis_app.ari.stream import MAX_EVENT_DEPTH, events_url, too_deep
from stasis_app.errors import AriAuthError, AriConnectionError

USER, PASSWORD = "cti", "s3cret-pw"
TS = "2024-05-01T10:00:00.123+0000"
WAIT = 3.0  # upper bound for any condition; tests finish far sooner

CHANNEL = {
    "id": "1714557600.12",
    "name": "PJSIP/1000-00000004",
    "state": "Up",
    "caller": {"name": "", "number": "1000"},
    "connected": {"name": "", "number": ""},
    "accountcode": "",
    "dialplan": {"context": "in", "exten": "500", "priority": 2, "app_name": "", "app_data": ""},
    "creationtime": TS,
    "language": "en",
}


def event(event_type: str, **body: Any) -> str:
    return json.dumps({"type": event_type, "application": "cti", "timestamp": TS, **body})


START = event("StasisStart", args=["ivr"], channel=CHANNEL)
DTMF = event("ChannelDtmfReceived", digit="1", duration_ms=100, channel=CHANNEL)
END = event("StasisEnd", channel=CHANNEL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def hold_open(ws: ServerConnection, number: int) -> None:
    await ws.wait_closed()


class FakeAsterisk:
    """A websocket server standing in for /ari/events: records handshakes, runs a script."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Request] = []
        self.reject: HTTPStatus | None = None
        self.script: Callable[[ServerConnection, int], Awaitable[None]] = hold_open
        self.connections = 0

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.requests.append(request)
        if self.reject is not None:
            return connection.respond(self.reject, "Authentication required\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        await self.script(ws, self.connections)


class Recorder:
    """The worker's side: collects events and reconnects; tests wait on its conditions."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.connects = 0
        self._changed = asyncio.Event()

    def on_event(self, ev: Event) -> None:
        self.events.append(ev)
        self._changed.set()

    async def on_connected(self) -> None:
        self.connects += 1
        self._changed.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


class RecordingBackoff(Backoff):
    """A Backoff that remembers each delay it hands out and wakes up waiting tests."""

    def __init__(self, initial: float = 0.001, cap: float = 0.004) -> None:
        super().__init__(initial, 2.0, cap, random=lambda: 1.0)
        self.delays: list[float] = []
        self.handed_out = asyncio.Event()

    def next_delay(self) -> float:
        delay = super().next_delay()
        self.delays.append(delay)
        self.handed_out.set()
        return delay

    async def until_count(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.delays) < count:
                self.handed_out.clear()
                await self.handed_out.wait()


@pytest_asyncio.fixture
async def asterisk() -> AsyncIterator[FakeAsterisk]:
    fake = FakeAsterisk()
    async with serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        fake.url = f"http://127.0.0.1:{port}"
        yield fake


def make_stream(url: str, backoff: Backoff | None = None, **kwargs: Any) -> EventStream:
    return EventStream(url, USER, PASSWORD, "cti", backoff=backoff or RecordingBackoff(), **kwargs)


async def stop(stream: EventStream, task: asyncio.Task[None]) -> None:
    await stream.close()
    await asyncio.wait_for(task, WAIT)


def start(stream: EventStream, rec: Recorder) -> asyncio.Task[None]:
    return asyncio.create_task(stream.run(rec.on_event, rec.on_connected))


# -- connecting ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_credentials_are_sent_in_a_header_and_never_in_the_url(
    asterisk: FakeAsterisk,
) -> None:
    """The handshake asks /ari/events?app=cti&subscribeAll=false with Basic auth in a header."""
    stream, rec = make_stream(asterisk.url), Recorder()
    task = start(stream, rec)
    await rec.until(lambda: rec.connects == 1)
    await stop(stream, task)

    (request,) = asterisk.requests
    assert request.path == "/ari/events?app=cti&subscribeAll=false"
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == expected
    assert PASSWORD not in request.path
    assert PASSWORD not in stream.url
    assert PASSWORD not in repr(stream)


@pytest.mark.asyncio
async def test_events_are_delivered_in_arrival_order(asterisk: FakeAsterisk) -> None:
    """Each message becomes a typed event, handed to on_event in the order Asterisk sent it."""

    async def script(ws: ServerConnection, number: int) -> None:
        for message in (START, DTMF, END):
            await ws.send(message)
        await ws.wait_closed()

    asterisk.script = script
    stream, rec = make_stream(asterisk.url), Recorder()
    task = start(stream, rec)
    await rec.until(lambda: len(rec.events) == 3)

    assert [type(e) for e in rec.events] == [StasisStart, ChannelDtmfReceived, StasisEnd]
    assert stream.connected
    await stop(stream, task)
    assert not stream.connected


@pytest.mark.asyncio
async def test_events_are_read_while_on_connected_is_still_running(
    asterisk: FakeAsterisk,
) -> None:
    """Reconcile runs beside the reader: an event arriving meanwhile is delivered at once."""

    async def script(ws: ServerConnection, number: int) -> None:
        await ws.send(START)
        await ws.wait_closed()

    asterisk.script = script
    rec = Recorder()
    got_event = asyncio.Event()
    reconciled = asyncio.Event()

    def on_event(ev: Event) -> None:
        rec.on_event(ev)
        got_event.set()

    async def slow_reconcile() -> None:
        await got_event.wait()  # would never finish if reading waited for reconcile
        reconciled.set()

    stream = make_stream(asterisk.url)
    task = asyncio.create_task(stream.run(on_event, slow_reconcile))
    await asyncio.wait_for(reconciled.wait(), WAIT)
    await stop(stream, task)


@pytest.mark.asyncio
async def test_a_malformed_event_is_dropped_and_an_unknown_one_delivered(
    asterisk: FakeAsterisk,
) -> None:
    """Bad JSON and a known type missing fields are logged and dropped; the stream goes on."""

    async def script(ws: ServerConnection, number: int) -> None:
        await ws.send(event("StasisStart", args=[]))  # no channel
        await ws.send("not json")
        await ws.send(event("ChannelHold", channel=CHANNEL))
        await ws.send(END)
        await ws.wait_closed()

    asterisk.script = script
    stream, rec = make_stream(asterisk.url), Recorder()
    with structlog.testing.capture_logs() as logs:
        task = start(stream, rec)
        await rec.until(lambda: len(rec.events) == 2)
        await stop(stream, task)

    unknown, end = rec.events
    assert isinstance(unknown, UnknownEvent)
    assert unknown.type == "ChannelHold"
    assert isinstance(end, StasisEnd)
    malformed = [entry for entry in logs if entry["event"] == "ari.events.malformed"]
    assert [entry["type"] for entry in malformed] == ["StasisStart"]
    assert "channel" in malformed[0]["error"]


def nested(depth: int) -> str:
    """An event-shaped message whose ``value`` nests ``depth`` levels of arrays."""
    head = event("ChannelVarset", channel=CHANNEL)[:-1]
    return f'{head}, "value": {"[" * depth}{"]" * depth}}}'


@pytest.mark.asyncio
@pytest.mark.parametrize("depth", [40, 100_000], ids=["deeper-than-events", "past-recursion"])
async def test_a_deeply_nested_message_is_dropped_and_the_reader_goes_on(
    asterisk: FakeAsterisk, depth: int
) -> None:
    """Nesting past MAX_EVENT_DEPTH (or past json's own recursion limit) is logged and dropped;
    the next event still arrives on the same connection."""

    async def script(ws: ServerConnection, number: int) -> None:
        await ws.send(nested(depth))
        await ws.send(END)
        await ws.wait_closed()

    asterisk.script = script
    stream, rec = make_stream(asterisk.url), Recorder()
    with structlog.testing.capture_logs() as logs:
        task = start(stream, rec)
        await rec.until(lambda: len(rec.events) == 1)
        await stop(stream, task)

    assert [type(e) for e in rec.events] == [StasisEnd]
    assert asterisk.connections == 1
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["ari.events.too_deep"]


def test_events_as_deep_as_the_limit_are_accepted() -> None:
    """The depth check draws the line at MAX_EVENT_DEPTH, not below."""
    at_limit: object = []
    for _ in range(MAX_EVENT_DEPTH - 1):
        at_limit = [at_limit]

    assert not too_deep(at_limit)
    assert too_deep([at_limit])
    assert not too_deep(json.loads(START))


@pytest.mark.asyncio
async def test_a_message_over_the_size_limit_drops_the_connection_which_is_reopened(
    asterisk: FakeAsterisk,
) -> None:
    """Bigger than max_size: websockets closes with 1009 (never reading it whole), one WARNING,
    and the stream reconnects and goes on."""

    async def script(ws: ServerConnection, number: int) -> None:
        if number == 1:
            await ws.send(event("ChannelVarset", channel=CHANNEL, value="x" * 2048))
        else:
            await ws.send(END)
        await ws.wait_closed()

    asterisk.script = script
    stream, rec = make_stream(asterisk.url, max_size=1024), Recorder()
    with structlog.testing.capture_logs() as logs:
        task = start(stream, rec)
        await rec.until(lambda: len(rec.events) == 1)
        await stop(stream, task)

    assert [type(e) for e in rec.events] == [StasisEnd]
    assert asterisk.connections == 2
    assert stream.last_error is not None
    assert "1009" in stream.last_error
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["ari.events.too_big"]


@pytest.mark.asyncio
async def test_a_message_sent_in_fragments_arrives_whole(asterisk: FakeAsterisk) -> None:
    """A message split over several websocket frames is delivered once, whole, in its place
    between the messages around it."""

    async def script(ws: ServerConnection, number: int) -> None:
        await ws.send(START)
        await ws.send([DTMF[:10], DTMF[10:40], DTMF[40:]])  # three frames, one message
        await ws.send(END)
        await ws.wait_closed()

    asterisk.script = script
    stream, rec = make_stream(asterisk.url), Recorder()
    task = start(stream, rec)
    await rec.until(lambda: len(rec.events) == 3)
    await stop(stream, task)

    assert [type(e) for e in rec.events] == [StasisStart, ChannelDtmfReceived, StasisEnd]


@pytest.mark.asyncio
async def test_a_peer_that_stops_answering_pings_is_dropped_and_reconnected() -> None:
    """The peer completes the handshake, sends one event and then reads nothing more (a peer
    gone silent: its pongs never come). After ping_timeout the stream drops the connection,
    says why, and connects again."""
    writers: list[asyncio.StreamWriter] = []

    async def silent_after_handshake(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writers.append(writer)
        server = ServerProtocol()
        while (request := _handshake_request(server)) is None:
            server.receive_data(await reader.read(4096))
        server.send_response(server.accept(request))
        server.send_text(END.encode())
        for data in server.data_to_send():
            writer.write(data)
        await writer.drain()
        await asyncio.Event().wait()  # never read again: pings go unanswered

    tcp = await asyncio.start_server(silent_after_handshake, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    stream = make_stream(
        f"http://127.0.0.1:{port}", ping_interval=0.05, ping_timeout=0.1, close_timeout=0.1
    )
    rec = Recorder()
    async with tcp:
        task = start(stream, rec)
        await rec.until(lambda: rec.connects >= 2)
        await stop(stream, task)
        for writer in writers:
            writer.close()

    assert [type(e) for e in rec.events][:2] == [StasisEnd, StasisEnd]
    assert stream.last_error is not None
    assert "ping timeout" in stream.last_error


def _handshake_request(server: ServerProtocol) -> Request | None:
    return next((e for e in server.events_received() if isinstance(e, Request)), None)


@pytest.mark.asyncio
async def test_a_failing_event_handler_does_not_stop_the_stream(asterisk: FakeAsterisk) -> None:
    """A bug handling one event is logged; the next events still arrive on the same socket."""

    async def script(ws: ServerConnection, number: int) -> None:
        await ws.send(START)
        await ws.send(END)
        await ws.wait_closed()

    asterisk.script = script
    rec = Recorder()

    def on_event(ev: Event) -> None:
        rec.on_event(ev)
        if ev.type == "StasisStart":
            raise RuntimeError("handler bug")

    stream = make_stream(asterisk.url)
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(stream.run(on_event, rec.on_connected))
        await rec.until(lambda: len(rec.events) == 2)
        await stop(stream, task)

    assert asterisk.connections == 1
    assert any(entry["event"] == "ari.events.handler_failed" for entry in logs)


# -- losing the connection -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_closed_connection_is_reopened_and_reconciled_again(
    asterisk: FakeAsterisk,
) -> None:
    """When Asterisk closes the socket the stream reconnects and calls on_connected again."""

    async def script(ws: ServerConnection, number: int) -> None:
        await ws.send(START if number == 1 else END)
        if number == 1:
            await ws.close()
        else:
            await ws.wait_closed()

    asterisk.script = script
    stream, rec = make_stream(asterisk.url), Recorder()
    task = start(stream, rec)
    await rec.until(lambda: rec.connects == 2 and len(rec.events) == 2)

    assert [type(e) for e in rec.events] == [StasisStart, StasisEnd]
    assert stream.reconnects == 1
    assert stream.last_error is not None
    assert "closed" in stream.last_error
    await stop(stream, task)


@pytest.mark.asyncio
async def test_a_refused_connection_is_retried_with_growing_capped_delays() -> None:
    """Nobody listening: retries forever, delays doubling up to the cap, one INFO line each."""
    backoff = RecordingBackoff(initial=0.001, cap=0.004)
    stream, rec = make_stream(f"http://127.0.0.1:{free_port()}", backoff), Recorder()
    with structlog.testing.capture_logs() as logs:
        task = start(stream, rec)
        await backoff.until_count(5)
        await stop(stream, task)

    assert backoff.delays[:5] == [0.001, 0.002, 0.004, 0.004, 0.004]
    retries = [entry for entry in logs if entry["event"] == "ari.events.retry"]
    assert [entry["attempt"] for entry in retries] == list(range(1, len(backoff.delays) + 1))
    assert all(entry["log_level"] == "info" and entry["reason"] for entry in retries)
    assert PASSWORD not in repr(logs)
    assert (stream.connected, stream.reconnects, rec.connects) == (False, 0, 0)
    assert stream.last_error is not None


@pytest.mark.asyncio
async def test_a_non_auth_handshake_refusal_is_retried(asterisk: FakeAsterisk) -> None:
    """A 503 at the handshake (e.g. Asterisk still starting) is transient: it is retried."""
    asterisk.reject = HTTPStatus.SERVICE_UNAVAILABLE
    backoff = RecordingBackoff()
    stream = make_stream(asterisk.url, backoff)
    task = start(stream, Recorder())
    await backoff.until_count(2)
    await stop(stream, task)

    assert len(asterisk.requests) >= 2
    assert stream.last_error == "handshake answered HTTP 503"


@pytest.mark.asyncio
async def test_rejected_credentials_are_fatal_and_not_retried(asterisk: FakeAsterisk) -> None:
    """A 401 at the handshake raises AriAuthError naming user and URL, without retrying."""
    asterisk.reject = HTTPStatus.UNAUTHORIZED
    backoff = RecordingBackoff()
    stream, rec = make_stream(asterisk.url, backoff), Recorder()

    with pytest.raises(AriAuthError) as caught:
        await asyncio.wait_for(stream.run(rec.on_event, rec.on_connected), WAIT)

    assert str(caught.value) == f"ARI rejected the credentials for user 'cti' at {stream.url}"
    assert PASSWORD not in str(caught.value)
    assert len(asterisk.requests) == 1
    assert backoff.delays == []


@pytest.mark.asyncio
async def test_a_failed_reconcile_closes_and_retries_the_connection(
    asterisk: FakeAsterisk,
) -> None:
    """If on_connected fails the worker's picture is wrong: reconnect and reconcile again."""
    rec = Recorder()

    async def flaky_reconcile() -> None:
        await rec.on_connected()
        if rec.connects == 1:
            raise AriConnectionError("GET /applications/cti: refused")

    stream = make_stream(asterisk.url)
    task = asyncio.create_task(stream.run(rec.on_event, flaky_reconcile))
    await rec.until(lambda: rec.connects == 2)
    await stop(stream, task)

    assert asterisk.connections == 2
    assert stream.reconnects == 1


@pytest.mark.asyncio
async def test_an_auth_error_while_reconciling_is_fatal(asterisk: FakeAsterisk) -> None:
    """Rejected REST credentials during reconcile stop the stream like a 401 handshake."""

    async def reconcile() -> None:
        raise AriAuthError("ARI rejected the credentials")

    stream = make_stream(asterisk.url)
    with pytest.raises(AriAuthError):
        await asyncio.wait_for(stream.run(Recorder().on_event, reconcile), WAIT)

    assert asterisk.connections == 1
    assert not stream.connected


@pytest.mark.parametrize(("stable_after", "expected"), [(0.0, 0.001), (60.0, 0.004)])
@pytest.mark.asyncio
async def test_backoff_is_reset_only_after_a_connection_that_stayed_up(
    asterisk: FakeAsterisk, stable_after: float, expected: float
) -> None:
    """Connections dropped at once keep growing the delay; ones that stayed up reset it."""

    async def drop_at_once(ws: ServerConnection, number: int) -> None:
        await ws.close()

    asterisk.script = drop_at_once
    backoff = RecordingBackoff(initial=0.001, cap=0.004)
    stream = make_stream(asterisk.url, backoff, stable_after=stable_after)
    task = start(stream, Recorder())
    await backoff.until_count(4)
    await stop(stream, task)

    assert backoff.delays[3] == expected


# -- stopping --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_close_cuts_a_long_backoff_wait_short() -> None:
    """close() during a 60 s backoff wait ends run() at once."""
    backoff = RecordingBackoff(initial=60.0, cap=60.0)
    stream = make_stream(f"http://127.0.0.1:{free_port()}", backoff)
    task = start(stream, Recorder())
    await backoff.until_count(1)

    await stop(stream, task)  # fails by timeout if the wait were not interrupted

    assert task.done()


@pytest.mark.asyncio
async def test_cancelling_run_closes_the_socket(asterisk: FakeAsterisk) -> None:
    """Cancelling the run() task closes the websocket; the server sees the client leave."""
    left = asyncio.Event()

    async def script(ws: ServerConnection, number: int) -> None:
        await ws.wait_closed()
        left.set()

    asterisk.script = script
    stream, rec = make_stream(asterisk.url), Recorder()
    task = start(stream, rec)
    await rec.until(lambda: rec.connects == 1)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(left.wait(), WAIT)
    assert not stream.connected


@pytest.mark.asyncio
async def test_run_cannot_be_started_twice(asterisk: FakeAsterisk) -> None:
    """One stream, one reader: a second concurrent run() is a programming error."""
    stream, rec = make_stream(asterisk.url), Recorder()
    task = start(stream, rec)
    await rec.until(lambda: rec.connects == 1)

    with pytest.raises(RuntimeError, match="already running"):
        await stream.run(rec.on_event, rec.on_connected)
    await stop(stream, task)


def test_events_url_follows_the_http_base_url() -> None:
    """http -> ws, https -> wss, an http.conf prefix or a trailing /ari is kept once."""
    assert events_url("http://127.0.0.1:8088", "cti") == (
        "ws://127.0.0.1:8088/ari/events?app=cti&subscribeAll=false"
    )
    assert events_url("https://pbx.example:8089/asterisk/ari/", "cti") == (
        "wss://pbx.example:8089/asterisk/ari/events?app=cti&subscribeAll=false"
    )


# -- Backoff (pure) --------------------------------------------------------------------------


def test_backoff_doubles_from_half_a_second_up_to_thirty() -> None:
    """Default ceilings: 0.5, 1, 2, 4, 8, 16, then capped at 30 s."""
    backoff = Backoff(random=lambda: 1.0)

    assert [backoff.next_delay() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.attempts == 8


@given(st.lists(st.floats(min_value=0.0, max_value=1.0, exclude_max=True), min_size=1))
def test_backoff_jitter_stays_within_zero_and_the_ceiling(draws: list[float]) -> None:
    """Full jitter: each delay is the drawn fraction of the current ceiling, in [0, ceiling]."""
    values = iter(draws)
    backoff = Backoff(random=lambda: next(values))
    ceilings = Backoff(random=lambda: 1.0)

    for draw in draws:
        delay, ceiling = backoff.next_delay(), ceilings.next_delay()
        assert 0.0 <= delay <= ceiling <= 30.0
        assert delay == pytest.approx(draw * ceiling)


def test_backoff_reset_starts_over() -> None:
    """After reset() the next ceiling is the initial one again."""
    backoff = Backoff(random=lambda: 1.0)
    for _ in range(5):
        backoff.next_delay()

    backoff.reset()

    assert (backoff.attempts, backoff.next_delay()) == (0, 0.5)


def test_backoff_survives_retrying_forever() -> None:
    """Thousands of attempts (days of outage) neither overflow nor exceed the cap."""
    backoff = Backoff(random=lambda: 1.0)

    assert max(backoff.next_delay() for _ in range(5000)) == 30.0


@pytest.mark.parametrize(
    ("initial", "factor", "cap"), [(0.0, 2.0, 30.0), (1.0, 0.5, 30.0), (31.0, 2.0, 30.0)]
)
def test_backoff_rejects_nonsense_parameters(initial: float, factor: float, cap: float) -> None:
    """A zero initial delay, a shrinking factor or a cap below the initial delay are refused."""
    with pytest.raises(ValueError, match="Backoff"):
        Backoff(initial, factor, cap)
