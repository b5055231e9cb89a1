"""ARI REST over HTTP against REST over a websocket, on the lab Asterisk: CPU per request.

Issue #14 asks for REST over the events websocket (Asterisk 22's ``RESTRequest`` /
``RESTResponse``) to be measured, not assumed. This sends the same request, ``GET
/endpoints/PJSIP/1000`` (authenticated, routed and answered with an Endpoint JSON document like
any ARI request, and with no side effect), N times down each path, one at a time and with C in
flight, and prints per request:

- the client's CPU (this process: ``time.process_time()``), including parsing the answer into
  the same :class:`~stasis_app.ari.models.Endpoint`;
- Asterisk's CPU (all its threads, from /proc), which is what a second core would be spent on;
- requests per second.

The HTTP path is the worker's own (``Http11Transport`` through ``AriClient``). The websocket
path is a minimal client written here on the ``websockets`` library: K connections to
``/ari/events`` for an application of its own that no channel enters, each request a JSON
``RESTRequest`` and each answer matched by its ``request_id``. It needs the lab up
(``python -m stasis_app lab up``)::

    .venv/bin/python -m bench.ari_rest_paths [-n 3000] [-c 20] [-k 4] [-r 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.metrics import cpu_seconds
from stasis_app.ari import AriClient, Http11Transport
from stasis_app.ari.models import Endpoint
from stasis_app.ari.transport import basic_auth
from stasis_app.lab import Lab, LabPaths
from stasis_app.lab.credentials import LAB_ARI_PASSWORD, LAB_ARI_USER

URL = "http://127.0.0.1:8088"
WS_URL = "ws://127.0.0.1:8088/ari/events?app=cti-bench-rest&subscribeAll=false"
URI = "endpoints/PJSIP/1000"


class WebsocketRest:
    """REST requests over K websockets to Asterisk, answers matched by ``request_id``."""

    def __init__(self, connections: int) -> None:
        self._count = connections
        self._sockets: list[ClientConnection] = []
        self._readers: list[asyncio.Task[None]] = []
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count()
        self._turn = itertools.cycle(range(connections))

    async def open(self) -> None:
        header = {"Authorization": basic_auth(LAB_ARI_USER, LAB_ARI_PASSWORD)}
        for _ in range(self._count):
            ws = await connect(WS_URL, additional_headers=header, compression=None, proxy=None)
            self._sockets.append(ws)
            self._readers.append(asyncio.create_task(self._read(ws)))

    async def close(self) -> None:
        for ws in self._sockets:
            await ws.close()
        await asyncio.gather(*self._readers, return_exceptions=True)

    async def get(self, uri: str) -> Any:
        request_id = str(next(self._ids))
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        message = {"type": "RESTRequest", "request_id": request_id, "method": "GET", "uri": uri}
        await self._sockets[next(self._turn)].send(json.dumps(message))
        response = await answer
        if response["status_code"] != 200:
            raise RuntimeError(f"{uri}: {response['status_code']} {response['reason_phrase']}")
        return json.loads(response["message_body"])

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "RESTResponse":
                waiter = self._waiting.pop(message["request_id"], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)


async def timed(
    asterisk: int, op: Callable[[], Awaitable[None]], n: int, concurrency: int
) -> tuple[float, float, float]:
    """(client CPU ms, Asterisk CPU ms, requests/s) per request for ``n`` requests."""
    for _ in range(100):  # warm up: connections, caches
        await op()

    async def worker(count: int) -> None:
        for _ in range(count):
            await op()

    share = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]
    cpu0, ast0, wall0 = time.process_time(), cpu_seconds(asterisk), time.perf_counter()
    await asyncio.gather(*(worker(count) for count in share))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    ast = cpu_seconds(asterisk) - ast0
    return cpu / n * 1000, ast / n * 1000, n / wall


async def measure(asterisk: int, n: int, concurrency: int, sockets: int, rounds: int) -> None:
    http = Http11Transport(URL, LAB_ARI_USER, LAB_ARI_PASSWORD)
    client = AriClient(http, "cti-bench-rest")
    ws = WebsocketRest(sockets)
    await ws.open()

    async def over_http() -> None:
        await client.get_endpoint("PJSIP", "1000")

    async def over_websocket() -> None:
        Endpoint.from_json(await ws.get(URI))

    print(f"GET /ari/{URI}, N={n}, median of {rounds} rounds (CPU in ms per request)")
    print(f"{'path':<22} {'in flight':>9} {'client CPU':>11} {'Asterisk CPU':>13} {'req/s':>7}")
    try:
        for label, op in (
            ("HTTP keep-alive", over_http),
            (f"websocket x{sockets}", over_websocket),
        ):
            for flight in (1, concurrency):
                results = [await timed(asterisk, op, n, flight) for _ in range(rounds)]
                mine, theirs, rate = (statistics.median(r[i] for r in results) for i in range(3))
                print(f"{label:<22} {flight:>9} {mine:>11.3f} {theirs:>13.3f} {rate:>7.0f}")
    finally:
        await ws.close()
        await http.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ari_rest_paths", description=__doc__)
    parser.add_argument("-n", type=int, default=3000, help="requests per round")
    parser.add_argument("-c", type=int, default=20, help="requests in flight (second row)")
    parser.add_argument("-k", type=int, default=4, help="websockets for the websocket path")
    parser.add_argument("-r", type=int, default=3, help="rounds (median reported)")
    args = parser.parse_args()
    asterisk = Lab(LabPaths.from_environ()).pid()
    if asterisk is None:
        print("the lab Asterisk is not running: python -m stasis_app lab up", file=sys.stderr)
        return 1
    asyncio.run(measure(asterisk, args.n, args.c, args.k, args.r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
