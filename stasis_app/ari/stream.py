"""The ARI events websocket: connect, read, reconcile, reconnect forever.

Behaviour (house style habit 3), with the reasons:

* The URL is ``ws(s)://host:port/ari/events?app=<app>&subscribeAll=false`` (subscribeAll=true
  multiplied event volume in the lab). Credentials go only in an ``Authorization: Basic`` header,
  never in the URL, so neither the URL nor any log line can leak them.
* After every connect ``on_connected()`` runs *as a task, concurrently with the read loop*:
  Asterisk drops a consumer that stops reading for ~100 ms, and reconciling (``GET
  /applications/{app}``) takes longer than that. If the connection drops first, the reconcile task
  is cancelled (the next connect reconciles again). If it fails, the connection is closed and
  retried, because a worker that could not reconcile holds a wrong picture of its calls; an
  ``AriAuthError`` from it is fatal like one at the handshake.
* Events reach the synchronous ``on_event`` in arrival order. A malformed event is logged with its
  type and dropped; an unknown type arrives as ``UnknownEvent``. An exception from ``on_event`` is
  logged and the loop goes on: one event's bug must not disconnect every call of the app.
* Loss or refusal is retried forever with capped exponential backoff and full jitter, one INFO line
  per retry. The backoff is reset only after a connection that *stayed up* ``stable_after`` seconds
  (default 5): Asterisk can accept and then drop at once (the app taken over by another consumer,
  a reconcile failing straight away), and resetting on every handshake would then hammer it every
  ≤0.5 s forever.
* A 401 at the handshake raises ``AriAuthError`` and stops: retrying cannot fix credentials.
* ``close()`` or cancelling ``run()`` stops everything cleanly (socket closed, tasks awaited).
* websockets' keepalive pings (20 s) stay on: Asterisk answers them, and they are what notices a
  silently dead peer. ``max_size`` is 4 MiB (events are a few KB; a Bridge list can be larger):
  a bigger message closes the connection (1009) and is retried like any loss, with one WARNING.
  Compression is off: Asterisk does not negotiate it, and it would only cost CPU.
* A message nested deeper than ``MAX_EVENT_DEPTH`` is logged and dropped like a malformed one.
  ARI events are a handful of levels deep; a deep one is never an event, and left alone it could
  exhaust the stack of whatever walks it next (``json`` itself raises ``RecursionError`` past the
  interpreter's limit, which would otherwise end the reader and with it every call's events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random as _rnd
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlencode

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus, WebSocketException
from websockets.frames import CloseCode

from stasis_app.ari.events import Event, parse_event
from stasis_app.ari.models import AriProtocolError
from stasis_app.ari.transport import ari_root, basic_auth
from stasis_app.errors import AriAuthError

log = structlog.get_logger(__name__)

MAX_EVENT_BYTES = 4 * 1024 * 1024
MAX_EVENT_DEPTH = 32


def too_deep(data: object, limit: int = MAX_EVENT_DEPTH) -> bool:
    """Whether decoded JSON nests objects/arrays more than ``limit`` levels deep.

    Iterative, so the check itself cannot exhaust the stack it protects.
    """
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _openers(message: str | bytes) -> int:
    """An upper bound of the nesting depth, at C speed: most events never need the walk."""
    if isinstance(message, bytes):
        return message.count(b"{") + message.count(b"[")
    return message.count("{") + message.count("[")


class Backoff:
    """Capped exponential backoff with full jitter: delay n is uniform in [0, min(cap, initial *
    factor**n)]. Pure: no clock, no sleep; ``random`` is injectable for tests."""

    def __init__(
        self,
        initial: float = 0.5,
        factor: float = 2.0,
        cap: float = 30.0,
        *,
        random: Callable[[], float] = _rnd.random,
    ) -> None:
        if not 0 < initial <= cap or factor < 1:
            raise ValueError("Backoff needs 0 < initial <= cap and factor >= 1")
        self._initial, self._factor, self._cap = initial, factor, cap
        self._random = random
        self._ceiling = initial
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since the last reset."""
        return self._attempts

    def next_delay(self) -> float:
        ceiling = self._ceiling
        # Grow a running ceiling instead of computing factor**n: n is unbounded (we retry
        # forever) and 2.0**1024 overflows.
        self._ceiling = min(self._cap, self._ceiling * self._factor)
        self._attempts += 1
        return self._random() * ceiling

    def reset(self) -> None:
        self._ceiling = self._initial
        self._attempts = 0


def events_url(base_url: str, app: str) -> str:
    """``http://host:8088`` -> ``ws://host:8088/ari/events?app=<app>&subscribeAll=false``."""
    root = ari_root(base_url)
    scheme, rest = root.split("://", 1)
    ws_scheme = "wss" if scheme == "https" else "ws"
    return f"{ws_scheme}://{rest}/events?{urlencode({'app': app, 'subscribeAll': 'false'})}"


class EventStream:
    """One app's event websocket, kept up until :meth:`close` or cancellation."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        backoff: Backoff | None = None,
        stable_after: float = 5.0,
        open_timeout: float = 10.0,
        max_size: int = MAX_EVENT_BYTES,
        ping_interval: float = 20.0,
        ping_timeout: float = 20.0,
        close_timeout: float = 2.0,
    ) -> None:
        self.url = events_url(base_url, app)
        self._user = user
        self._headers = {"Authorization": basic_auth(user, password)}
        self._backoff = backoff if backoff is not None else Backoff()
        self._stable_after = stable_after
        self._open_timeout = open_timeout
        self._max_size = max_size
        self._ping_interval, self._ping_timeout = ping_interval, ping_timeout
        self._close_timeout = close_timeout
        self._stop = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._running = False
        self._connected = False
        self._reconnects = 0
        self._last_error: str | None = None

    def __repr__(self) -> str:
        return f"EventStream({self.url!r}, connected={self._connected})"

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def reconnects(self) -> int:
        """Connections established after the first one."""
        return self._reconnects

    @property
    def last_error(self) -> str | None:
        """Why the last connection ended or failed; None until something went wrong."""
        return self._last_error

    async def run(
        self, on_event: Callable[[Event], None], on_connected: Callable[[], Awaitable[None]]
    ) -> None:
        """Read events until :meth:`close`; raises ``AriAuthError`` on rejected credentials."""
        if self._running:
            raise RuntimeError("EventStream.run() is already running")
        self._running = True
        loop = asyncio.get_running_loop()
        failures = 0
        ever_connected = False
        try:
            while not self._stop.is_set():
                opened = await self._open()
                if isinstance(opened, str):
                    reason = opened
                else:
                    if ever_connected:
                        self._reconnects += 1
                    ever_connected = True
                    since = loop.time()
                    reason = await self._serve(opened, on_event, on_connected)
                    if loop.time() - since >= self._stable_after:
                        self._backoff.reset()
                        failures = 0
                if self._stop.is_set():
                    break
                self._last_error = reason
                failures += 1
                delay = self._backoff.next_delay()
                log.info(
                    "ari.events.retry",
                    attempt=failures,
                    delay=round(delay, 3),
                    reason=reason,
                    url=self.url,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
        finally:
            self._running = False
            self._connected = False

    async def close(self) -> None:
        """Stop :meth:`run`: closes the socket or cuts a backoff wait short. Idempotent."""
        self._stop.set()
        if self._ws is not None:
            await self._ws.close()

    async def _open(self) -> ClientConnection | str:
        """A connection, or the reason there is none (retryable). A 401 raises."""
        try:
            return await connect(
                self.url,
                additional_headers=self._headers,
                open_timeout=self._open_timeout,
                close_timeout=self._close_timeout,
                max_size=self._max_size,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                compression=None,
                proxy=None,  # ARI is reached directly, like the REST transport (no env proxy)
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 401:
                raise AriAuthError(
                    f"ARI rejected the credentials for user {self._user!r} at {self.url}"
                ) from None
            return f"handshake answered HTTP {status}"
        except (OSError, TimeoutError, WebSocketException) as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    async def _serve(
        self,
        ws: ClientConnection,
        on_event: Callable[[Event], None],
        on_connected: Callable[[], Awaitable[None]],
    ) -> str:
        """Read from ``ws`` while reconciling; returns why the connection ended."""
        self._ws = ws
        if self._stop.is_set():  # close() raced with the handshake
            await ws.close()
            return "closed"
        self._connected = True
        log.info("ari.events.connected", url=self.url, reconnects=self._reconnects)
        reader = asyncio.create_task(self._read(ws, on_event), name="ari-events-read")
        reconcile = asyncio.ensure_future(on_connected())
        try:
            done, _ = await asyncio.wait({reader, reconcile}, return_when=asyncio.FIRST_COMPLETED)
            if reconcile in done:
                error = reconcile.exception()
                if isinstance(error, AriAuthError):
                    raise error
                if error is not None:
                    log.warning("ari.events.reconcile_failed", error=str(error), url=self.url)
                    return f"reconcile failed: {type(error).__name__}: {error}"
                return await reader
            return reader.result()
        finally:
            self._connected = False
            self._ws = None
            reader.cancel()
            reconcile.cancel()
            await asyncio.gather(reader, reconcile, return_exceptions=True)
            await ws.close()

    async def _read(self, ws: ClientConnection, on_event: Callable[[Event], None]) -> str:
        try:
            async for message in ws:
                self._deliver(message, on_event)
        except ConnectionClosedError as exc:
            if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                log.warning("ari.events.too_big", max_size=self._max_size, url=self.url)
            return f"connection lost: {exc}"
        return f"connection closed (code {ws.close_code})"

    def _deliver(self, message: str | bytes, on_event: Callable[[Event], None]) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            log.warning("ari.events.not_json", size=len(message))
            return
        except RecursionError:
            log.warning("ari.events.too_deep", size=len(message), max_depth=MAX_EVENT_DEPTH)
            return
        if not isinstance(data, dict):
            log.warning("ari.events.not_an_object", kind=type(data).__name__)
            return
        if _openers(message) > MAX_EVENT_DEPTH and too_deep(data):
            log.warning("ari.events.too_deep", size=len(message), max_depth=MAX_EVENT_DEPTH)
            return
        try:
            event = parse_event(data)
        except AriProtocolError as exc:
            log.warning("ari.events.malformed", type=data.get("type"), error=str(exc))
            return
        try:
            on_event(event)
        except Exception:
            log.exception("ari.events.handler_failed", type=event.type, channel_id=event.channel_id)


__all__ = ["Backoff", "EventStream", "events_url"]
