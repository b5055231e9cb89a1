"""Frozen snapshots of queues and agents for the REST API and the CLI (pure data).

The ACD builds them on request (:meth:`stasis_app.queues.acd.Acd.queue_view` ...). Times are
seconds; ``since`` values are Unix times. Definitions of today's figures: docs/queues.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class AgentState(enum.Enum):
    LOGGED_OUT = "logged-out"  # in no queue (a dynamic agent not logged in)
    AVAILABLE = "available"  # may be offered a call
    RINGING = "ringing"  # offered a queue call, its phone rings
    ON_CALL = "on-call"  # talking on a queue call
    WRAP_UP = "wrap-up"  # after a queue call, not offered another for the queue's wrap-up time
    PAUSED = "paused"  # logged in, but not offered calls (``reason`` says why)


@dataclass(frozen=True, slots=True)
class AgentView:
    extension: str
    state: AgentState
    since: float  # when it entered ``state``
    seconds_in_state: float
    queues: tuple[str, ...]  # the queues it is logged in to (static and dynamic)
    pause_reason: str | None
    # False: its phone is not registered, or it is on a call outside the queues: not offered.
    reachable: bool
    calls_today: int  # queue calls it answered today
    call_id: str | None  # the call it is ringing for or talking on


@dataclass(frozen=True, slots=True)
class WaitingView:
    call_id: str
    caller_number: str
    caller_name: str
    position: int  # 1 = next to be served
    joined: float
    waiting_seconds: float
    offered_to: tuple[str, ...]  # agents whose phones ring for this caller now


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Today's figures (since local midnight); formulas in docs/queues.md."""

    date: str  # YYYY-MM-DD, local
    offered: int  # callers who joined
    answered: int
    abandoned: int  # hung up while waiting
    overflowed: int  # sent on by max_wait or max_callers
    answered_within_sl: int  # answered within the queue's service_level seconds
    service_level_pct: float | None  # 100 * answered_within_sl / (answered+abandoned+overflowed)
    service_level_threshold: float
    average_speed_of_answer: float | None  # mean wait of answered callers, seconds
    longest_wait: float  # longest wait of any caller today (waiting now included), seconds
    average_handle_time: float | None  # mean talk + wrap-up of answered calls, seconds


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    strategy: str
    waiting: tuple[WaitingView, ...]
    agents: tuple[AgentView, ...]
    today: QueueStats


__all__ = ["AgentState", "AgentView", "QueueStats", "QueueView", "WaitingView"]
