"""Whether the worker can serve calls, decided from facts read at request time (sans-I/O).

``GET /health`` answers 503 when any problem below is *blocking* and 200 otherwise; a *degraded*
worker still serves calls but something an operator should see is wrong. The rules:

=========================  ========  ======================================================
code                       blocking  when
=========================  ========  ======================================================
ari-disconnected           yes       the call app's events websocket is not connected
store-failing              yes       the history writer thread died
task-dead                  yes       a background task the calls need ended (ARI readers)
endpoints-disconnected     no        the endpoint events websocket is down: phone
                                     registrations and agents' reachability may be stale
task-dead                  no        a background task calls do not need ended (shipping,
                                     the loop-lag monitor)
shipping-stopped           no        the Elasticsearch sink stopped (bad credentials, no
                                     index template and no right to install it, or ended):
                                     events wait in the store
shipping-backing-off       no        the sink is retrying after a failure: events wait
task-restarting            no        a background task crashed and is restarted after a
                                     backoff (an ARI reader's outage shows as ari-disconnected)
store-retrying             no        the history's last write failed (disk full, locked,
                                     I/O error); it is retried, events wait in memory
=========================  ========  ======================================================

Why ARI down is blocking but Elasticsearch down is not: the store is the outbox, so shipping can
catch up later without loss, while a call arriving without ARI is not answered by anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "degraded", "unavailable"]


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    blocking: bool


@dataclass(frozen=True, slots=True)
class DeadTask:
    """A background task that ended (or crashed and waits to restart) while the worker runs;
    ``essential``: calls need it."""

    name: str
    error: str | None
    essential: bool
    restarts: int = 0


@dataclass(frozen=True, slots=True)
class HealthFacts:
    ari_connected: bool
    endpoints_connected: bool
    store_writer_alive: bool
    store_failing: bool
    store_error: str | None
    dead_tasks: Sequence[DeadTask] = ()
    restarting_tasks: Sequence[DeadTask] = ()
    # None: no Elasticsearch sink is configured.
    sink_state: str | None = None


def problems(facts: HealthFacts) -> list[Problem]:
    """Every problem ``facts`` show, blocking ones first (the order of the table above)."""
    found: list[Problem] = []
    if not facts.ari_connected:
        found.append(Problem("ari-disconnected", "the ARI events websocket is not connected", True))
    if not facts.store_writer_alive:
        found.append(Problem("store-failing", "the call store's writer thread has died", True))
    found += [_dead(task) for task in facts.dead_tasks if task.essential]
    if not facts.endpoints_connected:
        found.append(
            Problem(
                "endpoints-disconnected",
                "the endpoint events websocket is not connected (registrations may be stale)",
                False,
            )
        )
    found += [_dead(task) for task in facts.dead_tasks if not task.essential]
    if facts.sink_state in ("stopped-auth", "stopped-no-template", "stopped"):
        found.append(
            Problem(
                "shipping-stopped",
                f"Elasticsearch shipping is {facts.sink_state}; events wait in the store",
                False,
            )
        )
    elif facts.sink_state == "backing-off":
        found.append(
            Problem(
                "shipping-backing-off",
                "Elasticsearch shipping is retrying after a failure; events wait in the store",
                False,
            )
        )
    for task in facts.restarting_tasks:
        why = f": {task.error}" if task.error else ""
        found.append(
            Problem(
                "task-restarting",
                f"background task {task.name} crashed{why}; restart {task.restarts} pending",
                False,
            )
        )
    if facts.store_writer_alive and facts.store_failing:
        why = f": {facts.store_error}" if facts.store_error else ""
        found.append(
            Problem(
                "store-retrying",
                f"the call store's last write failed{why}; it is retried, events wait in memory",
                False,
            )
        )
    return found


def verdict(found: Sequence[Problem]) -> Status:
    if any(p.blocking for p in found):
        return "unavailable"
    return "degraded" if found else "ok"


def _dead(task: DeadTask) -> Problem:
    why = f": {task.error}" if task.error else ""
    return Problem("task-dead", f"background task {task.name} ended{why}", task.essential)


__all__ = ["DeadTask", "HealthFacts", "Problem", "Status", "problems", "verdict"]
