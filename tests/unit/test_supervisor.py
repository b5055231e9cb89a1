"""Specification of the background-task supervisor (stasis_app.supervisor)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from stasis_app.ari.stream import Backoff
from stasis_app.health import DeadTask, HealthFacts, problems, verdict
from stasis_app.supervisor import Supervisor

GOOD = HealthFacts(
    ari_connected=True,
    endpoints_connected=True,
    store_writer_alive=True,
    store_failing=False,
    store_error=None,
)


class _Sleeps:
    """The supervisor's sleep: records each backoff delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.mark.asyncio
async def test_a_crash_is_restarted_with_growing_backoff_and_counted() -> None:
    """Each crash is counted and followed by a backoff that grows; the task runs again."""
    runs = 0
    done = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise RuntimeError(f"crash {runs}")
        await done.wait()

    sleeps = _Sleeps()
    tasks = Supervisor(backoff=lambda: Backoff(1.0, cap=60.0, random=lambda: 1.0), sleep=sleeps)
    tasks.start("shipping", flaky, essential=False)
    for _ in range(20):
        await asyncio.sleep(0)
    [state] = tasks.states()
    assert (state.phase, state.restarts, runs) == ("running", 3, 4)
    assert state.last_error == "RuntimeError: crash 3"
    assert sleeps.delays == [1.0, 2.0, 4.0]
    done.set()
    await tasks.stop()


@pytest.mark.asyncio
async def test_a_restarting_task_makes_health_degraded() -> None:
    """While a crashed task waits for its restart, /health says so (not blocking)."""
    never = asyncio.Event()

    async def crashes() -> None:
        raise RuntimeError("boom")

    tasks = Supervisor(sleep=lambda _delay: never.wait())
    tasks.start("loop-lag-monitor", crashes, essential=False)
    await asyncio.sleep(0)
    [state] = tasks.states()
    assert state.phase == "restarting"
    facts = dataclasses.replace(
        GOOD, restarting_tasks=(DeadTask(state.name, state.last_error, False, state.restarts),)
    )
    [problem] = problems(facts)
    assert (problem.code, problem.blocking, verdict([problem])) == (
        "task-restarting",
        False,
        "degraded",
    )
    assert "RuntimeError: boom" in problem.message
    await tasks.stop()


@pytest.mark.asyncio
async def test_a_fatal_error_ends_the_task_with_it() -> None:
    """Bad credentials are not retried: the supervising task fails with the error."""

    class Refused(Exception):
        pass

    async def refused() -> None:
        raise Refused("401")

    tasks = Supervisor(sleep=_Sleeps())
    task = tasks.start("ari-events", refused, essential=True, fatal=(Refused,))
    with pytest.raises(Refused):
        await task
    [state] = tasks.states()
    assert (state.phase, state.restarts) == ("failed", 0)


@pytest.mark.asyncio
async def test_a_clean_return_is_not_restarted() -> None:
    """A task that returns meant to stop (the sink after refused credentials)."""
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1

    tasks = Supervisor(sleep=_Sleeps())
    await tasks.start("elasticsearch-shipping", once, essential=False)
    assert runs == 1
    assert tasks.states()[0].phase == "ended"


@pytest.mark.asyncio
async def test_stop_never_raises_whatever_a_task_died_of() -> None:
    """Shutdown goes on (to close the store) even when a task failed with an error."""

    class Refused(Exception):
        pass

    async def refused() -> None:
        raise Refused("401")

    forever = asyncio.Event()
    tasks = Supervisor(sleep=_Sleeps())
    failed = tasks.start("ari-events", refused, essential=True, fatal=(Refused,))
    tasks.start("loop-lag-monitor", forever.wait, essential=False)
    await asyncio.sleep(0)
    assert failed.done()
    await tasks.stop()  # must not raise Refused
    assert all(s.phase in ("failed", "running") for s in tasks.states())
