"""The REST seam: :class:`RestTransport` and its implementations.

The client speaks to Asterisk only through ``request(method, path, params, json)``, so the HTTP
library is a replaceable detail (docs/decisions/0002-ari-rest-transport.md):

* :class:`AiohttpTransport`, the production one: ~0.2 ms client CPU per request in the lab, where
  httpx cost 1.2-2.3 ms, and the worker's call rate is bound by that CPU;
* :class:`HttpxTransport`, kept for the benchmark and for tests that like ``httpx.MockTransport``.
  httpx is a dev-only dependency, so it is imported only when this class is instantiated.

Both take the server root (``http://127.0.0.1:8088``, as in ``CTI_ARI_URL``) and add ``/ari``;
paths are relative to it (``/channels/1.2/answer``). Credentials travel only in an
``Authorization: Basic`` header: never in a URL, hence never in an error message or a log line.
A transport failure (refused, reset, timeout) raises ``AriConnectionError`` naming method and path.
After ``aclose()`` every request fails the same way, so a call task still finishing during shutdown
takes its ordinary "Asterisk unreachable" path.
"""

from __future__ import annotations

import base64
import json as jsonlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from stasis_app.errors import AriConnectionError

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class RestResponse:
    """One HTTP answer: status and raw body. ``json()`` raises ``ValueError`` on a non-JSON body."""

    status: int
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class RestTransport(Protocol):
    """What :class:`~stasis_app.ari.client.AriClient` needs from an HTTP library."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object | None = None,
    ) -> RestResponse: ...

    async def aclose(self) -> None: ...


def ari_root(base_url: str) -> str:
    """``http://host:8088`` (or ``.../ari``, or behind an http.conf ``prefix``) -> ``.../ari``."""
    parts = urlsplit(base_url)
    if parts.username is not None or parts.password is not None:
        # The URL is deliberately not echoed: it holds a secret.
        raise ValueError("ARI credentials belong in user/password, not in the base URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"ARI base URL must look like http://127.0.0.1:8088, got {base_url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/ari"):
        path += "/ari"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic authentication."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"timed out after {timeout:g} s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class AiohttpTransport:
    """:class:`RestTransport` over one pooled ``aiohttp.ClientSession``.

    The session is created at the first request, inside the running loop (aiohttp binds its
    connector to the loop that creates it, so creating it in ``__init__`` would tie the transport to
    whatever loop happened to exist at construction time).
    """

    def __init__(
        self, base_url: str, user: str, password: str, *, timeout: float = 10.0, limit: int = 100
    ) -> None:
        self._root = ari_root(base_url)
        self._auth = basic_auth(user, password)
        self._timeout = timeout
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"AiohttpTransport({self._root!r})"

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"Authorization": self._auth},
            )
        return self._session

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
        session = self._get_session()
        try:
            async with session.request(
                method, self._root + path, params=params, json=json
            ) as response:
                return RestResponse(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AriConnectionError(f"{method} {path}: {_describe(exc, self._timeout)}") from exc

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


class HttpxTransport:
    """:class:`RestTransport` over ``httpx.AsyncClient`` (dev only: benchmark and tests).

    ``transport`` lets a test inject ``httpx.MockTransport``.
    """

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        timeout: float = 10.0,
        limit: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        import httpx  # noqa: PLC0415  -- dev-only dependency: importing the package must not need it

        self._httpx = httpx
        self._root = ari_root(base_url)
        self._timeout = timeout
        self._closed = False
        self._client = httpx.AsyncClient(
            headers={"Authorization": basic_auth(user, password)},
            timeout=timeout,
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
            transport=transport,
            trust_env=False,  # same as aiohttp's default: no proxy from the environment
        )

    def __repr__(self) -> str:
        return f"HttpxTransport({self._root!r})"

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
        try:
            response = await self._client.request(
                method, self._root + path, params=params, json=json
            )
        except self._httpx.TransportError as exc:
            raise AriConnectionError(f"{method} {path}: {_describe(exc, self._timeout)}") from exc
        return RestResponse(response.status_code, response.content)

    async def aclose(self) -> None:
        self._closed = True
        await self._client.aclose()


class TimedTransport:
    """:class:`RestTransport` that hands each request's duration to ``observe(method, seconds)``.

    For the ARI latency histogram of ``/metrics``. Failures are timed too (a timeout is the
    latency that matters most). ``observe`` runs on the request's stack, so it must be O(1).
    """

    def __init__(
        self,
        inner: RestTransport,
        observe: Callable[[str, float], None],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._inner = inner
        self._observe = observe
        self._clock = clock

    def __repr__(self) -> str:
        return f"TimedTransport({self._inner!r})"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object | None = None,
    ) -> RestResponse:
        start = self._clock()
        try:
            return await self._inner.request(method, path, params=params, json=json)
        finally:
            self._observe(method, self._clock() - start)

    async def aclose(self) -> None:
        await self._inner.aclose()


__all__ = [
    "AiohttpTransport",
    "HttpxTransport",
    "RestResponse",
    "RestTransport",
    "TimedTransport",
    "ari_root",
]
