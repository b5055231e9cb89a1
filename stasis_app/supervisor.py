"""Background tasks kept running: a crash is logged, counted and restarted after a backoff.

Rules, per task:

- an exception (not a cancellation) is a crash: ERROR log with the traceback, ``restarts`` + 1,
  state ``restarting`` during a capped, jittered backoff, then the task runs again; the backoff
  resets after a run that lasted ``stable_after`` seconds;
- an exception listed as ``fatal`` (bad credentials) is not retried: state ``failed``, and the
  task ends with it, so whoever awaits it sees it;
- a clean return is on purpose (the Elasticsearch sink stops itself on refused credentials):
  state ``ended``, not restarted;
- :meth:`Supervisor.stop` cancels every task and waits for them, and never raises: shutdown
  must go on to close the store whatever the tasks died of.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import structlog

from stasis_app.ari.stream import Backoff

log = structlog.get_logger("cti.tasks")

TaskPhase = Literal["running", "restarting", "ended", "failed"]


@dataclass(frozen=True, slots=True)
class TaskState:
    name: str
    essential: bool  # calls need it (the ARI readers)
    phase: TaskPhase
    restarts: int
    last_error: str | None


@dataclass(slots=True)
class _Entry:
    name: str
    essential: bool
    run: Callable[[], Awaitable[object]]
    fatal: tuple[type[BaseException], ...]
    phase: TaskPhase = "running"
    restarts: int = 0
    last_error: str | None = None
    task: asyncio.Task[None] | None = None


class Supervisor:
    def __init__(
        self,
        *,
        backoff: Callable[[], Backoff] = lambda: Backoff(initial=1.0, cap=60.0),
        stable_after: float = 60.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._backoff = backoff
        self._stable_after = stable_after
        self._sleep = sleep
        self._entries: dict[str, _Entry] = {}

    def start(
        self,
        name: str,
        run: Callable[[], Awaitable[object]],
        *,
        essential: bool,
        fatal: tuple[type[BaseException], ...] = (),
    ) -> asyncio.Task[None]:
        """Run ``run()`` as task ``name``, again after each crash. Returns the supervising task
        (it ends only with a fatal error, a clean return or a cancellation)."""
        entry = _Entry(name, essential, run, fatal)
        self._entries[name] = entry
        entry.task = asyncio.create_task(self._keep(entry), name=name)
        return entry.task

    def states(self) -> tuple[TaskState, ...]:
        return tuple(
            TaskState(e.name, e.essential, e.phase, e.restarts, e.last_error)
            for e in self._entries.values()
        )

    async def stop(self) -> None:
        tasks = [e.task for e in self._entries.values() if e.task is not None]
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for entry, result in zip(self._entries.values(), results, strict=False):
            if isinstance(result, Exception):
                log.warning("task.ended_with_error", task=entry.name, error=repr(result))

    async def _keep(self, entry: _Entry) -> None:
        loop = asyncio.get_running_loop()
        backoff = self._backoff()
        while True:
            entry.phase = "running"
            started = loop.time()
            try:
                await entry.run()
            except asyncio.CancelledError:
                raise
            except entry.fatal as exc:
                entry.phase, entry.last_error = "failed", f"{type(exc).__name__}: {exc}"
                raise
            except Exception as exc:
                if loop.time() - started >= self._stable_after:
                    backoff.reset()
                entry.phase, entry.last_error = "restarting", f"{type(exc).__name__}: {exc}"
                entry.restarts += 1
                delay = backoff.next_delay()
                log.exception(
                    "task.crashed", task=entry.name, restarts=entry.restarts, delay=round(delay, 3)
                )
                with contextlib.suppress(TimeoutError):
                    await self._sleep(delay)
                continue
            entry.phase = "ended"
            return


__all__ = ["Supervisor", "TaskPhase", "TaskState"]
