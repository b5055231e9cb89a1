"""Client CPU per ARI REST request: Http11Transport vs AiohttpTransport vs HttpxTransport.

A small aiohttp server answering like ARI (POST .../answer -> 204, POST .../play -> 201 + Playback
JSON) runs in a *child process*, so ``time.process_time()`` in this process counts the client only.
Each transport sends N requests through ``AriClient`` (answer and play alternating, so status
mapping and model parsing are included), sequentially and with C concurrent workers; the median
of R rounds is printed.

    .venv/bin/python bench/ari_transport.py [-n 2000] [-c 50] [-r 3]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version

from aiohttp import web

from stasis_app.ari import AiohttpTransport, AriClient, ChannelId, Http11Transport, RestTransport
from stasis_app.ari.transport import HttpxTransport

CHANNEL = ChannelId("1714557600.12")
PLAYBACK = {
    "id": "pb-1",
    "media_uri": "sound:hello-world",
    "target_uri": f"channel:{CHANNEL}",
    "language": "en",
    "state": "queued",
}


def serve(port: int) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def play(request: web.Request) -> web.Response:
        return web.json_response(PLAYBACK, status=201)

    app = web.Application()
    app.router.add_post("/ari/channels/{id}/answer", answer)
    app.router.add_post("/ari/channels/{id}/play", play)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_ready(port: int, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)  # polling for readiness of a child process
        else:
            writer.close()
            await writer.wait_closed()
            return


def make(kind: str, url: str) -> RestTransport:
    if kind == "aiohttp":
        return AiohttpTransport(url, "cti", "bench")
    if kind == "http11":
        return Http11Transport(url, "cti", "bench")
    return HttpxTransport(url, "cti", "bench")


def operation(client: AriClient) -> Callable[[int], Awaitable[None]]:
    async def op(i: int) -> None:
        if i % 2:
            await client.answer(CHANNEL)
        else:
            await client.play(CHANNEL, ["sound:hello-world"])

    return op


async def run_once(kind: str, url: str, n: int, concurrency: int) -> tuple[float, float]:
    """(client CPU ms per request, requests per second) for one round."""
    transport = make(kind, url)
    op = operation(AriClient(transport, "bench"))
    try:
        for i in range(100):  # warm up: connections, imports, caches
            await op(i)

        async def worker(start: int) -> None:
            for i in range(start, n, concurrency):
                await op(i)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await transport.aclose()
    return cpu / n * 1000, n / wall


async def main(port: int, n: int, concurrency: int, rounds: int) -> None:
    await wait_ready(port)
    url = f"http://127.0.0.1:{port}"
    print(
        f"python {platform.python_version()}, aiohttp {version('aiohttp')}, "
        f"httpx {version('httpx')}, N={n}, concurrency={concurrency}, median of {rounds} rounds"
    )
    print(f"{'transport':<10} {'mode':<12} {'CPU ms/request':>15} {'requests/s':>11}")
    for kind in ("http11", "aiohttp", "httpx"):
        for mode, workers in (("sequential", 1), (f"concurrent{concurrency}", concurrency)):
            results = [await run_once(kind, url, n, workers) for _ in range(rounds)]
            cpu = statistics.median(r[0] for r in results)
            rate = statistics.median(r[1] for r in results)
            print(f"{kind:<10} {mode:<12} {cpu:>15.3f} {rate:>11.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per round")
    parser.add_argument("-c", type=int, default=50, help="concurrent workers")
    parser.add_argument("-r", type=int, default=3, help="rounds (median reported)")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    else:
        # The server is a child process so that process_time() here counts the client only.
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
        try:
            asyncio.run(main(port, args.n, args.c, args.r))
        finally:
            server.terminate()
            server.wait()
