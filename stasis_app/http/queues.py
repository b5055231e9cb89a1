"""Queues and agents: ``GET /queues``, ``GET /queues/{name}``, ``GET /agents`` and an agent's
``login``, ``logout`` and ``pause`` (``POST``; ``DELETE .../pause`` unpauses).

Everything goes through the worker's :class:`~stasis_app.http.seams.QueueControl`, whose methods
are synchronous (the ACD is plain state on the event loop): a change is made, and its result
answered, between two ARI events. Every agent operation answers the agent as it is afterwards.
Times the views keep as Unix seconds are ISO 8601 here, like the other live views.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path

from stasis_app.http.models import (
    EXTENSION_PATTERN,
    QUEUE_PATTERN,
    AgentList,
    AgentOut,
    AgentQueues,
    PauseRequest,
    QueueList,
    QueueOut,
    QueueStatsOut,
    WaitingOut,
)
from stasis_app.http.routes import AUTH_ERRORS, error_responses
from stasis_app.http.seams import QueueControl
from stasis_app.queues.model import Strategy
from stasis_app.queues.views import AgentView, QueueView

QueuePath = Annotated[
    str,
    Path(pattern=QUEUE_PATTERN, max_length=64, description="A queue's name, e.g. sales"),
]
AgentPath = Annotated[
    str,
    Path(
        pattern=EXTENSION_PATTERN,
        max_length=10,
        description="The agent's extension: 2 to 10 digits, e.g. 2001",
    ),
]
NO_QUEUE = "queue-not-found: no queue of that name"
NO_AGENT = "agent-not-found: the extension is no queue's member or agent"
AGENT_CONFLICT = "agent-state-conflict: the agent cannot do that now (details.reason says why)"


def _at(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _maybe(seconds: float | None, digits: int = 1) -> float | None:
    return None if seconds is None else round(seconds, digits)


def agent_out(view: AgentView) -> AgentOut:
    return AgentOut(
        extension=view.extension,
        state=view.state,
        since=_at(view.since),
        seconds_in_state=round(max(0.0, view.seconds_in_state), 3),
        queues=list(view.queues),
        pause_reason=view.pause_reason,
        reachable=view.reachable,
        calls_today=view.calls_today,
        call_id=view.call_id,
    )


def queue_out(view: QueueView) -> QueueOut:
    s = view.today
    return QueueOut(
        name=view.name,
        strategy=Strategy(view.strategy),
        waiting=[
            WaitingOut(
                call_id=w.call_id,
                caller_number=w.caller_number,
                caller_name=w.caller_name,
                position=w.position,
                joined=_at(w.joined),
                waiting_seconds=round(max(0.0, w.waiting_seconds), 3),
                offered_to=list(w.offered_to),
            )
            for w in view.waiting
        ],
        agents=[agent_out(a) for a in view.agents],
        today=QueueStatsOut(
            date=s.date,
            offered=s.offered,
            answered=s.answered,
            abandoned=s.abandoned,
            overflowed=s.overflowed,
            answered_within_sl=s.answered_within_sl,
            service_level_pct=_maybe(s.service_level_pct),
            service_level_threshold=s.service_level_threshold,
            average_speed_of_answer=_maybe(s.average_speed_of_answer),
            longest_wait=round(s.longest_wait, 1),
            average_handle_time=_maybe(s.average_handle_time),
        ),
    )


def queue_router(control: QueueControl) -> APIRouter:
    router = APIRouter(responses=AUTH_ERRORS)

    @router.get("/queues", response_model=QueueList, tags=["queues"])
    async def list_queues() -> QueueList:
        """Every queue, in the order of the queues file: its waiting callers (next to be served
        first), its members and agents, and today's figures."""
        return QueueList(queues=[queue_out(q) for q in control.queues()])

    @router.get(
        "/queues/{name}",
        response_model=QueueOut,
        tags=["queues"],
        responses=error_responses({404: NO_QUEUE}),
    )
    async def get_queue(name: QueuePath) -> QueueOut:
        """One queue: its waiting callers, its members and agents, and today's figures."""
        return queue_out(control.queue(name))

    @router.get("/agents", response_model=AgentList, tags=["agents"])
    async def list_agents() -> AgentList:
        """Every extension any queue names (members and agents), by extension: its state and
        for how long, its queues, why it is paused, its calls today, whether it is reachable."""
        return AgentList(agents=[agent_out(a) for a in control.agents()])

    @router.post(
        "/agents/{extension}/login",
        response_model=AgentOut,
        tags=["agents"],
        responses=error_responses(
            {
                404: f"{NO_AGENT}; {NO_QUEUE}",
                409: f"{AGENT_CONFLICT}, e.g. a queue does not list it",
            }
        ),
    )
    async def login(
        extension: AgentPath, request: Annotated[AgentQueues | None, Body()] = None
    ) -> AgentOut:
        """Log the agent in to ``queues``; without a body (or without ``queues``), to every
        queue that lists it as an agent. Static members are always logged in."""
        queues = request.queues if request is not None else None
        return agent_out(control.login(extension, queues))

    @router.post(
        "/agents/{extension}/logout",
        response_model=AgentOut,
        tags=["agents"],
        responses=error_responses(
            {
                404: f"{NO_AGENT}; {NO_QUEUE}",
                409: f"{AGENT_CONFLICT}, e.g. a static member (pause it instead)",
            }
        ),
    )
    async def logout(
        extension: AgentPath, request: Annotated[AgentQueues | None, Body()] = None
    ) -> AgentOut:
        """Log the agent out of ``queues``; without a body, out of every queue it logged in to.
        No new call is offered to it; a phone already ringing may still answer, and a call it
        is on goes on."""
        queues = request.queues if request is not None else None
        return agent_out(control.logout(extension, queues))

    @router.post(
        "/agents/{extension}/pause",
        response_model=AgentOut,
        tags=["agents"],
        responses=error_responses({404: NO_AGENT, 409: f"{AGENT_CONFLICT}, e.g. logged out"}),
    )
    async def pause(
        extension: AgentPath, request: Annotated[PauseRequest | None, Body()] = None
    ) -> AgentOut:
        """Offer the agent no calls (in every queue) until it is unpaused; ``reason`` is
        optional. Pausing a paused agent again only changes the reason."""
        reason = request.reason if request is not None else None
        return agent_out(control.pause(extension, reason))

    @router.delete(
        "/agents/{extension}/pause",
        response_model=AgentOut,
        tags=["agents"],
        responses=error_responses({404: NO_AGENT, 409: f"{AGENT_CONFLICT}, e.g. not paused"}),
    )
    async def unpause(extension: AgentPath) -> AgentOut:
        """Offer the agent calls again."""
        return agent_out(control.unpause(extension))

    return router


__all__ = ["agent_out", "queue_out", "queue_router"]
