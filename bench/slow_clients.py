"""``python -m bench.slow_clients``: event-loop lag while hostile HTTP clients hit the API.

The REST app runs in this process on 127.0.0.1:0 (never the worker's port), over the same fakes
as the unit tests, in two set-ups:

- ``before``: plain uvicorn with its defaults and no body limit (what the worker ran before #15);
- ``after``: :class:`stasis_app.http.ApiServer` (header deadline, head size, concurrency and
  keep-alive limits) and the app's :class:`~stasis_app.http.limits.BodyLimit`.

A second process attacks for ``--seconds``: ``--slow`` connections send a request head one byte
every 100 ms (slowloris), and ``--huge`` clients each POST a ``--mb`` MB JSON body to ``/calls``
with a valid token (a leaked token or a broken integration: the case the gate cannot stop), one
after another. Meanwhile a ticker on the server's loop sleeps 10 ms and records how late it wakes:
that lateness is what the ARI reader would suffer (Asterisk drops an app after 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import time
from collections.abc import AsyncIterator

import uvicorn

from stasis_app.http import ApiServer
from stasis_app.http.server import bind
from tests.unit.http_support import TOKEN, make_app

TICK = 0.010


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(TICK)
        lags.append(time.perf_counter() - started - TICK)


@contextlib.asynccontextmanager
async def serve(setup: str) -> AsyncIterator[tuple[int, uvicorn.Server]]:
    if setup == "after":
        api = ApiServer(make_app(), "127.0.0.1", 0)
        await api.start()
        try:
            yield api.bound_port, api._server  # its connections are counted
        finally:
            await api.stop()
        return
    config = uvicorn.Config(
        make_app(max_body_bytes=2**40), lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    sock = bind("127.0.0.1", 0)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn has no event for this)
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1], server
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


async def slowloris(port: int, until: float) -> None:
    head = b"GET /calls/live HTTP/1.1\r\nHost: x\r\n" + b"X-A: " + b"b" * 10_000
    with contextlib.suppress(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for byte in head:
            if time.monotonic() > until or writer.is_closing():
                break
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)
        writer.close()


async def huge_body(port: int, until: float, megabytes: int) -> int:
    """POSTs of a ``megabytes`` MB body in a row; returns how many the server answered."""
    pad = " " * (megabytes * 1024 * 1024)
    body = json.dumps({"from_extension": "1000", "to_extension": "2000", "pad": pad}).encode()
    answered = 0
    while time.monotonic() < until:
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            )
            for start in range(0, len(body), 65536):
                if writer.is_closing():
                    break
                writer.write(body[start : start + 65536])
                await writer.drain()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    if (await reader.readline()).startswith(b"HTTP/1.1"):
                        answered += 1
            writer.close()
    return answered


def attack(port: int, seconds: float, slow: int, huge: int, megabytes: int) -> None:
    async def main() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(slowloris(port, until) for _ in range(slow)),
            *(huge_body(port, until, megabytes) for _ in range(huge)),
        )

    asyncio.run(main())


async def measure(setup: str, args: argparse.Namespace) -> dict[str, float]:
    lags: list[float] = []
    stop = asyncio.Event()
    async with serve(setup) as (port, server):
        tick = asyncio.create_task(ticker(lags, stop))
        attacker = multiprocessing.Process(
            target=attack, args=(port, args.seconds, args.slow, args.huge, args.mb)
        )
        attacker.start()
        held = late = 0
        while attacker.is_alive():
            await asyncio.sleep(0.25)
            late = len(server.server_state.connections)  # the last sample: attack still on
            held = max(held, late)
        stop.set()
        await tick
    lags.sort()
    return {
        "lag_p50_ms": 1000 * lags[len(lags) // 2],
        "lag_p99_ms": 1000 * lags[int(len(lags) * 0.99)],
        "lag_max_ms": 1000 * lags[-1],
        "connections_max": held,
        "connections_late": late,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--slow", type=int, default=200, help="slowloris connections")
    parser.add_argument("--huge", type=int, default=2, help="clients posting huge bodies")
    parser.add_argument("--mb", type=int, default=50, help="size of each huge body (MB)")
    args = parser.parse_args()
    print(
        f"{args.slow} slowloris connections + {args.huge} x {args.mb} MB bodies, "
        f"{args.seconds:.0f} s, ticker every {TICK * 1000:.0f} ms"
    )
    print("| set-up | lag p50 | lag p99 | lag max | connections held (max) | at the attack's end |")
    print("|---|---|---|---|---|---|")
    for setup in ("before", "after"):
        r = asyncio.run(measure(setup, args))
        print(
            f"| {setup} | {r['lag_p50_ms']:.1f} ms | {r['lag_p99_ms']:.1f} ms | "
            f"{r['lag_max_ms']:.1f} ms | {r['connections_max']:.0f} | "
            f"{r['connections_late']:.0f} |"
        )


if __name__ == "__main__":
    main()
