"""A bound on request bodies, enforced before anything parses them.

:class:`BodyLimit` is an ASGI middleware just inside :class:`~stasis_app.http.auth.AuthGate` (an
unauthenticated client still gets 401 and nothing else). A body larger than ``max_bytes`` is
refused with ``413 payload-too-large``:

- at once when ``Content-Length`` declares more (nothing is read);
- while it streams in otherwise (chunked, or a ``Content-Length`` that lies, which the server
  would catch too late): the counting ``receive`` stops handing chunks to the app as soon as the
  count passes the limit, so at most ``max_bytes`` plus one chunk is ever held.

When the count passes mid-read the app is already running. Whatever it answers after its body
read failed (FastAPI turns any failure to read into a 400) is dropped, and the 413 is sent
instead. Every 413 says ``Connection: close``, so the server stops reading the rest of the body
instead of draining it on the event loop.
"""

from __future__ import annotations

import contextlib

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stasis_app.errors import PayloadTooLarge
from stasis_app.http.errors import error_response

DEFAULT_MAX_BODY_BYTES = 64 * 1024  # our JSON bodies are well under 1 KiB


class _Exceeded(HTTPException):
    """Raised into the app by the counting ``receive``; never leaves :class:`BodyLimit`. An
    HTTPException, so FastAPI re-raises it as it is and no layer logs it as a bug."""

    def __init__(self) -> None:
        super().__init__(413)


class BodyLimit:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _Exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _Exceeded
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to a body it could not read: the 413 replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_Exceeded):
            await self.app(scope, counting_receive, guarded_send)
        if exceeded:
            if started:  # too late for a 413 (no route of ours reads its body after answering)
                raise RuntimeError("request body over the limit after the response started")
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = PayloadTooLarge(self.max_bytes)
        response = error_response(
            problem.status, problem.code, problem.message, problem.details, {"Connection": "close"}
        )
        await response(scope, receive, send)


__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodyLimit"]
