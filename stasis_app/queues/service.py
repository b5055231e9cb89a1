"""The queues in the worker: the I/O shell around the sans-I/O :class:`~stasis_app.queues.acd.Acd`.

It reads the clock, runs the ACD's timers on the event loop, hands the ACD's decisions to the
calls (as inputs on their queues), publishes agent changes on the event bus and keeps them in the
store. It is also the REST API's :class:`~stasis_app.http.seams.QueueControl` and the calls'
:class:`~stasis_app.calls.call.QueueDesk`.

Everything here runs on the loop that reads the ARI websocket: the ACD is a few dict operations
per event; the store writes on its own thread; nothing awaits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from stasis_app.ari import ChannelDestroyed, Event, StasisEnd, UnknownEvent
from stasis_app.ari.events import EndpointStateChange, PeerStatusChange
from stasis_app.ari.ids import ChannelId
from stasis_app.calls.messages import (
    Input,
    QueueAnnounce,
    QueueExpired,
    QueueOffer,
    QueueRefused,
)
from stasis_app.events import catalogue as ev
from stasis_app.queues.acd import (
    Acd,
    AgentChanged,
    Announce,
    CancelTimer,
    Expired,
    Fact,
    Offer,
    Out,
    Refused,
    StartTimer,
    TimerKey,
)
from stasis_app.queues.model import QueueConfig
from stasis_app.queues.views import AgentView, QueueView

if TYPE_CHECKING:
    from datetime import tzinfo

    from stasis_app.calls.call import Call

log = structlog.get_logger("cti.queues")


class _Takes(Protocol):
    def deliver(self, item: Input) -> None: ...


class AgentKeeper(Protocol):
    """Where agent state is kept across restarts (the call store)."""

    def save_agent(self, extension: str, doc: dict[str, Any]) -> object: ...


class AgentPublisher(Protocol):
    def publish_agent(self, item: dict[str, Any]) -> None: ...


class QueueService:
    def __init__(
        self,
        config: QueueConfig,
        *,
        online: Callable[[str], bool],
        busy: Callable[[str], bool],
        find_call: Callable[[str], _Takes | None],
        keeper: AgentKeeper | None = None,
        publisher: AgentPublisher | None = None,
        tz: tzinfo | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._online = online
        self._busy = busy
        self._find_call = find_call
        self._keeper = keeper
        self._publisher = publisher
        self._now = now
        self.acd = Acd(config, self._reachable, tz=tz, now=now(), online=online)
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._poke_pending = False

    def _reachable(self, extension: str) -> bool:
        return self._online(extension) and not self._busy(extension)

    # ------------------------------------------------------------------------ start, reload
    def restore(
        self,
        agents: dict[str, dict[str, Any]],
        facts: Iterable[tuple[float, str, dict[str, Any]]],
        live: Callable[[str], bool] = lambda _channel: False,
    ) -> None:
        """Agents' kept state and today's figures, from the store, before calls arrive."""
        now = self._now()
        for extension, doc in agents.items():
            self.acd.restore_agent(extension, doc, live, now)
        read = ((at, ev.read(action, data)) for at, action, data in facts)
        self.acd.replay(((at, fact) for at, fact in read if fact is not None), now)

    def config(self) -> QueueConfig:
        return self.acd.config

    def reload(self, config: QueueConfig) -> None:
        """Use a new queues file; raises ValueError (nothing changed) when it cannot."""
        self._perform(self.acd.reload(config, self._now()))

    # ----------------------------------------------------------------------- the calls' desk
    def join(
        self, call: Call, queue: str, joined: float | None
    ) -> tuple[list[ev.Fact], QueueRefused | None]:
        number, name = call.caller.caller.number, call.caller.caller.name
        outs = self.acd.join(call.id, queue, number, name, self._now(), joined=joined)
        refused = next((o for o in outs if isinstance(o, Refused)), None)
        facts = self._perform(outs, own=call.id)
        return facts, QueueRefused(queue, refused.reason) if refused is not None else None

    def leave(self, call_id: str, outcome: str, to: str) -> list[ev.Fact]:
        return self._perform(self.acd.leave(call_id, self._now(), outcome, to=to), own=call_id)

    def missed(self, call_id: str, agent: str) -> None:
        self._perform(self.acd.missed(call_id, agent, self._now()), own=call_id)

    def taken(self, call_id: str, agent: str, channel: ChannelId) -> list[ev.Fact]:
        outs = self.acd.answered(call_id, agent, str(channel), self._now())
        return self._perform(outs, own=call_id)

    # ------------------------------------------------------------------------- ARI events
    def on_event(self, event: Event) -> None:
        """On the reader's stack: an agent's call ending starts its wrap-up; a phone (un)
        registering or a call ending may free an agent for a waiting caller."""
        if isinstance(event, (StasisEnd, ChannelDestroyed)):
            self._perform(self.acd.channel_gone(str(event.channel.id), self._now()))
            self._poke_soon()
        elif isinstance(event, (PeerStatusChange, EndpointStateChange)) or (
            isinstance(event, UnknownEvent) and event.type == "ContactStatusChange"
        ):
            self._poke_soon()

    def _poke_soon(self) -> None:
        # Once per loop turn however many channels ended in it, and only while someone waits:
        # most calls end with nobody in a queue, and this runs on the ARI reader's stack.
        if self._poke_pending or not self.acd.anyone_waiting:
            return
        self._poke_pending = True
        try:
            asyncio.get_running_loop().call_soon(self._poke)
        except RuntimeError:  # no loop (unit tests feeding events by hand): poke now
            self._poke()

    def _poke(self) -> None:
        self._poke_pending = False
        self._perform(self.acd.poke(self._now()))

    # -------------------------------------------------------------------------- performing
    def _perform(self, outs: Sequence[Out], *, own: str | None = None) -> list[ev.Fact]:
        facts: list[ev.Fact] = []
        for out in outs:
            if isinstance(out, Fact):
                if out.call_id == own:
                    facts.append(out.fact)
                else:  # every fact the ACD makes is about the call that asked
                    log.warning("queues.fact_for_other_call", call_id=out.call_id)
            elif isinstance(out, Offer):
                self._deliver(out.call_id, QueueOffer(out.queue, out.agents, out.ring_timeout))
            elif isinstance(out, Announce):
                self._deliver(out.call_id, QueueAnnounce(out.position, out.wait_minutes))
            elif isinstance(out, Expired):
                self._deliver(out.call_id, QueueExpired())
            elif isinstance(out, StartTimer):
                self._start_timer(out.key, out.seconds)
            elif isinstance(out, CancelTimer):
                handle = self._timers.pop(out.key, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(out, AgentChanged):
                self._agent_changed(out.view)
            # Refused: the caller of join() reads it from the outputs itself.
        return facts

    def _deliver(self, call_id: str, item: Input) -> None:
        call = self._find_call(call_id)
        if call is None:
            # The call ended and its leave() is on the way; the ACD forgets it then.
            log.info("queues.call_gone", call_id=call_id, input=type(item).__name__)
            return
        call.deliver(item)

    def _start_timer(self, key: TimerKey, seconds: float) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(seconds, self._fire, key)

    def _fire(self, key: TimerKey) -> None:
        self._timers.pop(key, None)
        self._perform(self.acd.timer(key, self._now()))

    def _agent_changed(self, view: AgentView) -> None:
        extension = view.extension
        if self._publisher is not None:
            self._publisher.publish_agent(
                {
                    "type": "agent-state",
                    "extension": extension,
                    "state": view.state.value,
                    "reason": view.pause_reason,
                    "queues": list(view.queues),
                    "call_id": view.call_id,
                    "at": view.since,
                }
            )
        if self._keeper is not None:
            try:
                self._keeper.save_agent(extension, self.acd.agent_doc(extension))
            except Exception:
                # Keeping it is worth a log line, not a caller: the state in memory is right.
                log.exception("queues.agent_not_kept", extension=extension)

    def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    # ------------------------------------------------------------------------ QueueControl
    def queues(self) -> list[QueueView]:
        return self.acd.queues_view(self._now())

    def queue(self, name: str) -> QueueView:
        return self.acd.queue_view(name, self._now())

    def agents(self) -> list[AgentView]:
        return self.acd.agents_view(self._now())

    def login(self, extension: str, queues: Sequence[str] | None) -> AgentView:
        self._perform(self.acd.login(extension, queues, self._now()))
        return self.acd.agent_view(extension, self._now())

    def logout(self, extension: str, queues: Sequence[str] | None) -> AgentView:
        self._perform(self.acd.logout(extension, queues, self._now()))
        return self.acd.agent_view(extension, self._now())

    def pause(self, extension: str, reason: str | None) -> AgentView:
        self._perform(self.acd.pause(extension, reason, self._now()))
        return self.acd.agent_view(extension, self._now())

    def unpause(self, extension: str) -> AgentView:
        self._perform(self.acd.unpause(extension, self._now()))
        return self.acd.agent_view(extension, self._now())


__all__ = ["AgentKeeper", "AgentPublisher", "QueueService"]
