""":class:`Http11Transport`: the production ARI REST transport, a small HTTP/1.1 client we own.

Why not aiohttp (decision 0013): the worker is bound by its CPU per call, and a call makes four
REST requests to one local server. aiohttp builds a URL object, a request, a response, header
multidicts, a cookie jar pass and a timer context per request: 0.085 ms of client CPU per request
against 0.028 ms here (``bench/ari_transport.py``), and in the worker's profile aiohttp was the
largest single share (17 % of its Python time). ARI needs little of HTTP: one host, keep-alive,
``Content-Length`` bodies (Asterisk sends no others; chunked and read-to-close are understood
anyway), no redirects, no cookies, no compression.

Rules:

* Connections are kept alive and reused, at most ``limit`` open at once (Asterisk's
  ``http.conf`` ``sessionlimit`` counts them, with the event websockets); a request that finds
  none free waits for one.
* A request on a *reused* connection that the server had closed meanwhile (Asterisk ends idle
  sessions after ``session_keep_alive``) is sent once more on a new connection, but only when not
  a byte of an answer came back: then the server never acted on it.
* ``timeout`` bounds the whole request, connecting included. A timed-out, cancelled or broken
  request closes its connection: its state is unknown, so it is never reused.
* Failures raise ``AriConnectionError`` naming method and path, as every transport does.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
from collections import deque
from collections.abc import Mapping
from urllib.parse import quote, urlencode, urlsplit

from stasis_app.ari.transport import RestResponse, ari_root, basic_auth
from stasis_app.errors import AriConnectionError

# Asterisk's http.conf sessionlimit (ours sets it to 100, its default) counts every connection: the
# REST pool, the worker's two event websockets, and a CLI command or bench probe run beside it.
ASTERISK_SESSION_LIMIT = 100
EVENT_WEBSOCKETS = 2
ARI_REST_CONNECTIONS = ASTERISK_SESSION_LIMIT - EVENT_WEBSOCKETS - 8
_HEAD_END = b"\r\n\r\n"
_MAX_HEAD = 64 * 1024


class _Broken(Exception):
    """The connection failed; ``answered`` tells whether any byte of an answer had arrived."""

    def __init__(self, reason: str, *, answered: bool) -> None:
        super().__init__(reason)
        self.answered = answered


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight (no pipelining)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = True
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._head: tuple[int, int | None, bool] | None = None  # status, length, chunked

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport, always

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            self.close()  # an answer to nothing: the stream is out of step
            return
        self._buffer += data
        try:
            answer = self._parse(eof=False)
        except ValueError as exc:
            self._fail(f"malformed answer: {exc}")
            return
        if answer is not None:
            self._finish(answer)

    def eof_received(self) -> bool:
        self.reusable = False
        if self._waiter is not None and self._head is not None:
            try:
                answer = self._parse(eof=True)
            except ValueError as exc:
                self._fail(f"malformed answer: {exc}")
                return False
            if answer is not None:
                self._finish(answer)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(f"connection lost: {exc}" if exc else "connection closed by the server")

    # -- requests -----------------------------------------------------------------------------
    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        if self.transport is None or self._waiter is not None:
            raise RuntimeError("one request at a time, on an open connection")
        self._waiter = asyncio.get_running_loop().create_future()
        self._buffer.clear()
        self._head = None
        self.transport.write(request)
        return self._waiter

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()
        self.closed = True

    def _finish(self, answer: tuple[int, bytes]) -> None:
        waiter, self._waiter = self._waiter, None
        if self._buffer:  # bytes past the answer: never ours to read
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _fail(self, reason: str) -> None:
        self.reusable = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(_Broken(reason, answered=bool(self._buffer)))

    def _parse(self, *, eof: bool) -> tuple[int, bytes] | None:
        """The complete answer in the buffer (consumed), or None while more is to come."""
        if self._head is None:
            end = self._buffer.find(_HEAD_END)
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    raise ValueError("header block too large")
                return None
            self._head = self._read_head(bytes(self._buffer[:end]))
            del self._buffer[: end + len(_HEAD_END)]
        status, length, chunked = self._head
        if chunked:
            body = _dechunk(self._buffer)
            if body is None:
                return None
        elif length is not None:
            if len(self._buffer) < length:
                return None
            body = bytes(self._buffer[:length])
            del self._buffer[:length]
            return status, body
        elif status in (204, 304):
            body = b""
        elif not eof:
            return None  # no length: the body runs to the end of the connection
        else:
            body = bytes(self._buffer)
        self._buffer.clear()
        return status, body

    def _read_head(self, head: bytes) -> tuple[int, int | None, bool]:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(rest) < 3 or not rest[:3].isdigit():
            raise ValueError(f"status line {lines[0][:80]!r}")
        if version == b"HTTP/1.0":
            self.reusable = False
        length: int | None = None
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
                if length < 0:
                    raise ValueError("negative Content-Length")
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection" and b"close" in value.lower():
                self.reusable = False
        if chunked:
            length = None
        return int(rest[:3]), length, chunked


def _dechunk(buffer: bytearray) -> bytes | None:
    """A chunked body, consumed from ``buffer`` once its last chunk (and trailers) arrived."""
    body = bytearray()
    at = 0
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0].strip() or b"x", 16)
        at = line_end + 2
        if size == 0:
            end = buffer.find(b"\r\n", at)
            while end > at:  # trailer lines, ignored
                at = end + 2
                end = buffer.find(b"\r\n", at)
            if end < 0:
                return None
            del buffer[: end + 2]
            return bytes(body)
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at : at + size]
        at += size + 2


class Http11Transport:
    """:class:`~stasis_app.ari.transport.RestTransport` over pooled HTTP/1.1 connections."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        timeout: float = 10.0,
        limit: int = ARI_REST_CONNECTIONS,
    ) -> None:
        if limit < 1:
            raise ValueError("Http11Transport needs limit >= 1")
        root = urlsplit(ari_root(base_url))
        self._root = root.geturl()
        self._prefix = root.path
        self._host = root.hostname or "127.0.0.1"
        self._tls = root.scheme == "https"
        self._port = root.port or (443 if self._tls else 80)
        self._fixed = (
            f"Host: {root.netloc}\r\nAuthorization: {basic_auth(user, password)}\r\n"
            "User-Agent: cti\r\nAccept: application/json\r\n"
        )
        self._timeout = timeout
        self._limit = limit
        self._idle: list[_Connection] = []
        self._open = 0
        self._waiting: deque[asyncio.Future[_Connection | None]] = deque()
        self._closed = False

    def __repr__(self) -> str:
        return f"Http11Transport({self._root!r})"

    @property
    def open_connections(self) -> int:
        return self._open

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object | None = None,
    ) -> RestResponse:
        if self._closed:
            raise AriConnectionError(f"{method} {path}: the ARI transport is closed")
        target = self._prefix + path
        if params:
            target += "?" + urlencode(params, quote_via=quote, safe="")
        if json is None:
            request = f"{method} {target} HTTP/1.1\r\n{self._fixed}Content-Length: 0\r\n\r\n"
            data = request.encode()
        else:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            data = (
                f"{method} {target} HTTP/1.1\r\n{self._fixed}Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
        try:
            async with asyncio.timeout(self._timeout):
                return await self._exchange(data)
        except TimeoutError:
            raise AriConnectionError(
                f"{method} {path}: timed out after {self._timeout:g} s"
            ) from None
        except (_Broken, OSError) as exc:
            raise AriConnectionError(f"{method} {path}: {exc}") from exc

    async def _exchange(self, data: bytes) -> RestResponse:
        for _attempt in range(2):
            conn, reused = await self._acquire()
            try:
                status, body = await conn.send(data)
            except _Broken as exc:
                self._release(conn)
                if reused and not exc.answered:
                    continue  # the server closed it while idle and never read this request
                raise
            except BaseException:
                conn.close()  # cancelled or timed out mid-answer: its state is unknown
                self._release(conn)
                raise
            self._release(conn)
            return RestResponse(status, body)
        raise _Broken("connection closed by the server", answered=False)

    async def _acquire(self) -> tuple[_Connection, bool]:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn, True
            self._open -= 1
        if self._open >= self._limit:
            waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    handed_late = waiter.result()
                    if handed_late is not None:
                        self._release(handed_late)  # handed over as we were cancelled
                    else:
                        self._wake_next()  # a free slot was ours: pass it on
                raise
            if handed is not None and not handed.closed:
                return handed, True
            if handed is not None:
                self._open -= 1
        if self._closed:
            raise _Broken("the ARI transport is closed", answered=False)
        self._open += 1
        try:
            conn = await self._connect()
        except BaseException:
            self._open -= 1
            self._wake_next()
            raise
        return conn, False

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if self._tls:
            _, conn = await loop.create_connection(
                _Connection,
                self._host,
                self._port,
                ssl=ssl.create_default_context(),
                server_hostname=self._host,
            )
        else:
            _, conn = await loop.create_connection(_Connection, self._host, self._port)
        return conn

    def _release(self, conn: _Connection) -> None:
        """A connection is done with its request: to the next waiter, the idle pool, or closed."""
        if conn.closed or not conn.reusable or self._closed:
            conn.close()
            self._open -= 1
            self._wake_next()
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _wake_next(self) -> None:
        """A slot opened (a connection closed): the first waiter may connect a new one."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
            self._open -= 1
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)


__all__ = ["Http11Transport"]
