"""Call events through CallStore + ElasticSink into a local ``_bulk`` server (not a test).

The fake server (tests/fakes/bulk_server.py) runs in a *child process*, so its JSON parsing does
not compete with the measured process for the GIL. Two phases:

- burst: N events emitted at once; events/s from the first emit until the server holds all N;
- steady: events at R/s for S seconds (calls arriving), the loop's lag measured throughout.

The loop's lag is sampled by a task that sleeps 5 ms and records how late it wakes.

    .venv/bin/python bench/es_sink.py [-n 20000] [-r 1000] [-s 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from stasis_app.events import CallEvent
from stasis_app.events.elastic import ElasticSink
from stasis_app.events.store import CallStore

ACTIONS = ("call-started", "answered", "menu-entered", "digit", "option-chosen", "transferred",
           "dialing", "bridged", "callee-hangup", "call-ended")  # fmt: skip


def serve(port: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.fakes
    from tests.fakes.bulk_server import BulkServer  # noqa: PLC0415 - only in the child

    async def main() -> None:
        await BulkServer(port=port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


def events(count: int, prefix: str) -> list[CallEvent]:
    out = []
    for n in range(count):
        action = ACTIONS[n % len(ACTIONS)]
        data = {"menu": "main", "digit": "1", "extension": "2000", "disposition": "answered",
                "cause": 16, "duration": 4.5, "ivr_path": ["main"]}  # fmt: skip
        out.append(CallEvent(f"{prefix}{n // 10}", action, data, caller="1000", dialed="500"))
    return out


class Lag:
    def __init__(self) -> None:
        self.samples: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.005
            await asyncio.sleep(0.005)
            self.samples.append(loop.time() - due)

    def figures(self) -> str:
        ms = sorted(s * 1000 for s in self.samples)
        p99 = ms[int(len(ms) * 0.99) - 1]
        return f"lag worst {ms[-1]:.1f} ms, p99 {p99:.1f} ms, median {statistics.median(ms):.2f} ms"


async def run(n: int, rate: int, seconds: float, url: str) -> None:
    gc.collect()
    gc.freeze()  # as the worker should after start-up (docs/call-events.md)
    with tempfile.TemporaryDirectory() as tmp:
        store = CallStore(Path(tmp) / "calls.sqlite3", retention_days=0)
        sink = ElasticSink(url, store, idle_poll=1.0)
        sink_task = asyncio.create_task(sink.run())

        async def shipped(total: int) -> None:
            while sink.status.shipped < total:  # noqa: ASYNC110 - polling a counter
                await asyncio.sleep(0.01)

        # Both event lists are built before the lag probe starts: making thousands of events is
        # the bench's own work on this loop, not the sink's.
        burst = events(n, "burst")
        steady = events(int(rate * seconds), "steady")
        lag = Lag()
        lag_task = asyncio.create_task(lag.run())
        started = time.perf_counter()
        for event in burst:
            store.emit(event)
        emitted = time.perf_counter() - started
        await shipped(n)
        elapsed = time.perf_counter() - started
        print(f"burst: {n} events emitted in {emitted * 1000:.1f} ms "
              f"({emitted / n * 1e6:.1f} us/emit), stored+shipped in {elapsed:.2f} s "
              f"= {n / elapsed:,.0f} events/s; {lag.figures()}")  # fmt: skip

        lag.samples.clear()
        tick = 0.01
        per_tick = max(1, int(rate * tick))
        started = time.perf_counter()
        for index in range(0, len(steady), per_tick):
            for event in steady[index : index + per_tick]:
                store.emit(event)
            await asyncio.sleep(max(0.0, started + (index // per_tick + 1) * tick
                                    - time.perf_counter()))  # fmt: skip
        await shipped(n + len(steady))
        print(f"steady: {rate} events/s for {seconds:.0f} s, all shipped; {lag.figures()}")
        for task in (sink_task, lag_task):
            task.cancel()
        await asyncio.gather(sink_task, lag_task, return_exceptions=True)
        await asyncio.to_thread(store.close)
    gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=20000, help="events in the burst")
    parser.add_argument("-r", type=int, default=1000, help="steady events per second")
    parser.add_argument("-s", type=float, default=5.0, help="steady seconds")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        print(f"$ .venv/bin/python bench/es_sink.py -n {args.n} -r {args.r} -s {args.s:g}")
        versions = f"python {platform.python_version()}, aiohttp {aiohttp.__version__}"
        print(f"{versions}, sqlite {sqlite3.sqlite_version}, fake _bulk server in a child")
        asyncio.run(run(args.n, args.r, args.s, f"http://127.0.0.1:{port}"))
    finally:
        child.terminate()
        child.wait(5)


if __name__ == "__main__":
    main()
