"""Run the REST app inside the worker's event loop, with a graceful stop.

``uvicorn.Server.serve()`` runs as a task of the running loop, so routes share the loop (and the
live objects) with the ARI reader and the call tasks. Two uvicorn behaviours are unwanted inside a
worker and are switched off here: it installs its own SIGINT/SIGTERM handlers (the worker owns
shutdown), and it calls ``sys.exit`` when the port is taken (the worker must report a named error
instead), so the socket is bound here, before uvicorn starts.

Anyone who can reach the port can open connections before any credential is checked, so the
server bounds what an unauthenticated client can hold: connections and tasks
(``limit_concurrency``: beyond it, 503), the size of a request head (``h11``'s incomplete event
size: beyond it, 400), idle keep-alive time, and the time to send a request head
(:class:`HeaderDeadline`; uvicorn 0.55 has no such timeout of its own, so a slowloris client
sending one header byte at a time would otherwise hold its connection for ever). Bodies are
bounded by :class:`~stasis_app.http.limits.BodyLimit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import h11
import structlog
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from stasis_app.errors import ConfigError

log = structlog.get_logger("cti.http")
GRACE_SECONDS = 5
MAX_CONNECTIONS = 256  # open connections + requests in flight (SSE streams count)
HEADER_SECONDS = 10.0  # from connection (or previous response) to a complete request head
KEEP_ALIVE_SECONDS = 5
MAX_HEAD_BYTES = 16 * 1024  # request line + headers (a session cookie and a token fit easily)


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is not complete
    ``HEADER_SECONDS`` after it opened or after its previous response."""

    header_seconds = HEADER_SECONDS
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the head is in: the app has the request
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets its own deadline

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the worker's own handlers stay in charge of SIGINT/SIGTERM


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; ConfigError naming CTI_HTTP_PORT if that is impossible."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError("CTI_HTTP_HOST", f"cannot use {host!r}: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError("CTI_HTTP_PORT", f"cannot listen on {host}:{port}: {exc}") from exc
    sock.setblocking(False)
    return sock


class ApiServer:
    """``await start()`` binds and serves in the background; ``await stop()`` drains and ends."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,  # logging is structlog's (stasis_app.logs), not uvicorn's dictConfig
            access_log=False,
            timeout_graceful_shutdown=GRACE_SECONDS,
            ws="websockets-sansio",
            http=HeaderDeadline,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
        self._server = _Server(self._config)
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (differs from ``port`` when that was 0)."""
        if self._socket is None:
            raise RuntimeError("the server is not started")
        port: int = self._socket.getsockname()[1]
        return port

    async def start(self) -> None:
        self._socket = bind(self.host, self.port)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]), name="http")
        while not self._server.started:
            if self._task.done():  # failed during startup: surface its error
                await self._task
                return
            await asyncio.sleep(0.01)
        log.info("http.listening", host=self.host, port=self.bound_port)

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to GRACE_SECONDS), then end."""
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), GRACE_SECONDS + 2)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        finally:
            if self._socket is not None:
                self._socket.close()
            self._task = None
            log.info("http.stopped")


__all__ = ["ApiServer", "HeaderDeadline", "bind"]
