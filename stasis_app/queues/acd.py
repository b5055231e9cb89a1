"""The automatic call distributor, sans-I/O: waiting callers, agents, offers and today's figures.

:class:`Acd` is plain state. The worker's queue service (:mod:`stasis_app.queues.service`) calls
it with what happened and the time (``now``, Unix seconds: the ACD reads no clock), and performs
what it returns (:data:`Out`): offers and announcements for calls, facts for a call's timeline,
timers, and agent changes to publish and keep. Every figure in docs/queues.md is computed here.

Rules
-----
* Callers are served in the order they joined, across queues (an agent in two queues takes the
  caller who has waited longest); within a queue, ``position`` 1 is the next to be served.
* An agent is offered a call when it is logged in to the caller's queue, not paused, idle (not
  ringing, on a queue call or in wrap-up) and *reachable*: its phone is registered and not on
  another call (the predicate the service passes in, read from the live registry).
* An offered agent who does not take the call (no answer, busy, gone) is skipped by that caller
  until every other eligible agent was tried; then the caller rests ``retry`` seconds and the
  round starts again. The caller never loses their place.
* Strategies pick among the eligible agents not yet tried: ``longest-idle`` the one free the
  longest since its last queue call (ties: lowest extension), ``round-robin`` the next after the
  last one offered in the queue's order, ``ring-all`` all of them at once.
* Pausing or logging out stops new offers; a phone already ringing may still be answered.
* Every caller who joins ends with exactly one outcome fact: answered, abandoned or overflowed
  (a caller refused because the queue is full counts as offered and overflowed). Leaving for any
  other reason (a transfer away, the worker stopping) is not counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from stasis_app.errors import AgentNotFound, AgentStateConflict, QueueNotFound
from stasis_app.events import catalogue as ev
from stasis_app.queues.model import QueueConfig, QueueDef, Strategy
from stasis_app.queues.views import AgentState, AgentView, QueueStats, QueueView, WaitingView

# Handle time (talk + wrap-up, seconds) assumed for the wait estimate before any call of the day.
DEFAULT_HANDLE = 180.0

TimerKey = tuple[str, str]  # (kind, call id or extension): announce, max-wait, retry, wrapup

# -- what the ACD returns -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring ``agents`` for the caller of ``call_id`` (each for ``ring_timeout`` seconds)."""

    call_id: str
    queue: str
    agents: tuple[str, ...]
    ring_timeout: float


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell the caller of ``call_id`` their position (and the estimated wait in minutes)."""

    call_id: str
    position: int | None
    wait_minutes: int | None


@dataclass(frozen=True, slots=True)
class Expired:
    """The caller of ``call_id`` waited the queue's ``max_wait``: the call sends them on."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The caller of ``call_id`` could not join (``reason``: full, unknown-queue)."""

    call_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Fact:
    """Record ``fact`` in the timeline of ``call_id``."""

    call_id: str
    fact: ev.Fact


@dataclass(frozen=True, slots=True)
class StartTimer:
    key: TimerKey
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: TimerKey


@dataclass(frozen=True, slots=True)
class AgentChanged:
    """``extension``'s state changed: publish it and keep it (:meth:`Acd.agent_doc`). ``view``
    is the agent as of the change: one step may change it twice (freed, then offered the next
    caller at once), and each change is told as it was."""

    extension: str
    view: AgentView


Out = Offer | Announce | Expired | Refused | Fact | StartTimer | CancelTimer | AgentChanged

# -- state ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Agent:
    extension: str
    static: set[str] = field(default_factory=set)  # queues it is a member of
    allowed: set[str] = field(default_factory=set)  # queues it may log in to
    dynamic: set[str] = field(default_factory=set)  # queues it logged in to
    paused: bool = False
    reason: str | None = None
    call_id: str | None = None  # ringing for, or on
    channel: str | None = None  # its leg on the queue call it is on
    on_queue: str | None = None  # the queue of that call
    on_call_since: float = 0.0
    wrapping: bool = False
    idle_since: float = 0.0
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    calls: int = 0
    calls_day: str = ""

    @property
    def queues(self) -> set[str]:
        return self.static | self.dynamic

    def derive(self) -> AgentState:
        if not self.queues:
            return AgentState.LOGGED_OUT
        if self.channel is not None:
            return AgentState.ON_CALL
        if self.call_id is not None:
            return AgentState.RINGING
        if self.wrapping:
            return AgentState.WRAP_UP
        if self.paused:
            return AgentState.PAUSED
        return AgentState.AVAILABLE


@dataclass(slots=True)
class _Caller:
    call_id: str
    queue: str
    number: str
    name: str
    joined: float
    seq: int
    offered: set[str] = field(default_factory=set)
    tried: set[str] = field(default_factory=set)
    resting: bool = False


@dataclass(slots=True)
class _Stats:
    day: str = ""
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0
    within_sl: int = 0
    answer_wait: float = 0.0
    longest_wait: float = 0.0
    handled: int = 0
    handle_time: float = 0.0


@dataclass(slots=True)
class _Queue:
    definition: QueueDef
    callers: list[_Caller] = field(default_factory=list)
    last_offered: str | None = None
    stats: _Stats = field(default_factory=_Stats)


class Acd:
    """Queues and agents; see the module rules. Not thread-safe: the worker's loop drives it."""

    def __init__(
        self,
        config: QueueConfig,
        reachable: Callable[[str], bool],
        *,
        tz: tzinfo | None = None,
        now: float | None = None,
        online: Callable[[str], bool] | None = None,
    ) -> None:
        self._reachable = reachable
        # Registered at all (busy or not): who counts as serving a queue in the wait estimate.
        self._online = online or reachable
        self.tz = tz
        self._queues: dict[str, _Queue] = {}
        self._agents: dict[str, _Agent] = {}
        self._callers: dict[str, _Caller] = {}
        # Agents on a queue call, by their leg: every channel that ends is looked up here, on
        # the ARI reader's stack, so it must not be a scan of all agents.
        self._on_call: dict[str, _Agent] = {}
        self._seq = 0
        self.config = config
        now = time.time() if now is None else now
        self._apply_config(config, now)
        for agent in self._agents.values():
            self._touch(agent, now)

    # ----------------------------------------------------------------------------- config
    def _apply_config(self, config: QueueConfig, now: float) -> None:
        self.config = config
        old = self._queues
        self._queues = {
            name: _Queue(d, old[name].callers, old[name].last_offered, old[name].stats)
            if name in old
            else _Queue(d)
            for name, d in config.queues.items()
        }
        for agent in self._agents.values():
            agent.static.clear()
            agent.allowed.clear()
        for name, d in config.queues.items():
            for ext in d.members:
                self._agent(ext, now).static.add(name)
            for ext in d.agents:
                self._agent(ext, now).allowed.add(name)
        for ext, agent in list(self._agents.items()):
            agent.dynamic &= agent.allowed
            if not agent.static and not agent.allowed and agent.call_id is None:
                del self._agents[ext]

    def _agent(self, extension: str, now: float) -> _Agent:
        agent = self._agents.get(extension)
        if agent is None:
            agent = self._agents[extension] = _Agent(extension, idle_since=now, since=now)
        return agent

    def reload(self, config: QueueConfig, now: float) -> list[Out]:
        """Use a new definition. Refused (ValueError) when it drops a queue callers wait in."""
        stranded = sorted(
            n for n, q in self._queues.items() if q.callers and n not in config.queues
        )
        if stranded:
            raise ValueError(f"callers are waiting in {', '.join(stranded)}, which it removes")
        self._apply_config(config, now)
        out: list[Out] = []
        for agent in self._agents.values():
            out += self._touch(agent, now)
        return out + self._distribute(now)

    # --------------------------------------------------------------------------- callers
    def join(
        self,
        call_id: str,
        queue: str,
        number: str,
        name: str,
        now: float,
        *,
        joined: float | None = None,
    ) -> list[Out]:
        """A caller joins ``queue`` (``joined``: when they first did, for a caller recovered
        after a restart). Returns Refused when the queue does not exist or is full."""
        q = self._queues.get(queue)
        if q is None:
            return [Refused(call_id, "unknown-queue")]
        if call_id in self._callers:
            return []
        d = q.definition
        recovered = joined is not None
        stats = self._stats(q, now)
        if d.max_callers is not None and len(q.callers) >= d.max_callers and not recovered:
            stats.offered += 1
            stats.overflowed += 1
            fact = ev.QueueOverflowed(queue=queue, wait=0.0, reason="full", to=str(d.on_full))
            return [Fact(call_id, fact), Refused(call_id, "full")]
        self._seq += 1
        caller = _Caller(call_id, queue, number, name, now if joined is None else joined, self._seq)
        q.callers.append(caller)
        q.callers.sort(key=lambda c: (c.joined, c.seq))
        self._callers[call_id] = caller
        out: list[Out] = []
        if not recovered:
            stats.offered += 1
            out.append(Fact(call_id, ev.QueueJoined(queue=queue, position=self._position(caller))))
        if d.max_wait is not None:
            left = max(0.0, d.max_wait - (now - caller.joined))
            out.append(StartTimer(("max-wait", call_id), left))
        announcing = d.announce_every is not None and (d.announce_position or d.announce_wait)
        if announcing and d.announce_every is not None:
            out.append(StartTimer(("announce", call_id), d.announce_every))
        out += self._distribute(now)
        if announcing and not caller.offered and not recovered:
            # A caller who has to wait is told where they stand at once, not after the period.
            out.append(self._announcement(caller, now))
        return out

    def leave(self, call_id: str, now: float, outcome: str, *, to: str = "") -> list[Out]:
        """The caller left the queue: ``abandoned`` (hung up), ``overflowed`` (sent on to
        ``to`` after max_wait) or ``dropped`` (anything else: not counted)."""
        caller = self._callers.get(call_id)
        if caller is None:
            return []
        q = self._queues[caller.queue]
        position = self._position(caller)
        out = self._remove(caller, now)
        wait = round(now - caller.joined, 3)
        stats = self._stats(q, now)
        if outcome == "abandoned":
            stats.abandoned += 1
            stats.longest_wait = max(stats.longest_wait, wait)
            fact: ev.Fact = ev.QueueAbandoned(queue=caller.queue, wait=wait, position=position)
            out.insert(0, Fact(call_id, fact))
        elif outcome == "overflowed":
            stats.overflowed += 1
            stats.longest_wait = max(stats.longest_wait, wait)
            fact = ev.QueueOverflowed(queue=caller.queue, wait=wait, reason="max-wait", to=to)
            out.insert(0, Fact(call_id, fact))
        return out + self._distribute(now)

    def answered(self, call_id: str, agent: str, channel: str, now: float) -> list[Out]:
        """``agent`` answered for the caller of ``call_id`` on ``channel``: they talk now."""
        caller = self._callers.get(call_id)
        a = self._agents.get(agent)
        if caller is None or a is None:
            return []
        q = self._queues[caller.queue]
        caller.offered.discard(agent)
        out = self._remove(caller, now)
        wait = round(now - caller.joined, 3)
        within = int(wait <= q.definition.service_level)
        stats = self._stats(q, now)
        stats.answered += 1
        stats.within_sl += within
        stats.answer_wait += wait
        stats.longest_wait = max(stats.longest_wait, wait)
        a.call_id, a.channel, a.on_call_since = call_id, channel, now
        self._on_call[channel] = a
        a.on_queue = caller.queue
        day = self._day(now)
        a.calls = a.calls + 1 if a.calls_day == day else 1
        a.calls_day = day
        fact = ev.AgentAnswered(queue=caller.queue, agent=agent, wait=wait, within_sl=within)
        out.insert(0, Fact(call_id, fact))
        out += self._touch(a, now)
        return out + self._distribute(now)

    def missed(self, call_id: str, agent: str, now: float) -> list[Out]:
        """An offered agent did not take the call (no answer, busy, unreachable)."""
        a = self._agents.get(agent)
        caller = self._callers.get(call_id)
        out: list[Out] = []
        if caller is not None and agent in caller.offered:
            caller.offered.discard(agent)
            caller.tried.add(agent)
        if a is not None and a.call_id == call_id and a.channel is None:
            a.call_id = None
            out += self._touch(a, now)
        return out + self._distribute(now)

    def channel_gone(self, channel: str, now: float) -> list[Out]:
        """A channel ended: if an agent was on a queue call on it, its wrap-up starts."""
        a = self._on_call.pop(channel, None)
        return self._hung_up(a, now) if a is not None else []

    def _hung_up(self, a: _Agent, now: float) -> list[Out]:
        call = self._queues.get(a.on_queue) if a.on_queue is not None else None
        a.call_id = a.channel = a.on_queue = None
        wrapup = call.definition.wrapup if call is not None else 0.0
        if call is not None:
            stats = self._stats(call, now)
            stats.handled += 1
            stats.handle_time += (now - a.on_call_since) + wrapup
        out: list[Out] = []
        if wrapup > 0:
            a.wrapping = True
            out.append(StartTimer(("wrapup", a.extension), wrapup))
        else:
            a.idle_since = now
        out += self._touch(a, now)
        return out + self._distribute(now)

    def timer(self, key: TimerKey, now: float) -> list[Out]:
        kind, subject = key
        if kind == "wrapup":
            return self._wrapped(subject, now)
        caller = self._callers.get(subject)
        if caller is None:
            return []
        if kind == "max-wait":
            return [Expired(subject)]
        if kind == "retry":
            caller.resting = False
            return self._distribute(now)
        if kind == "announce":
            d = self._queues[caller.queue].definition
            out: list[Out] = [self._announcement(caller, now)]
            if d.announce_every is not None:
                out.append(StartTimer(("announce", subject), d.announce_every))
            return out
        return []

    def _wrapped(self, extension: str, now: float) -> list[Out]:
        a = self._agents.get(extension)
        if a is None or not a.wrapping:
            return []
        a.wrapping = False
        a.idle_since = now
        return self._touch(a, now) + self._distribute(now)

    def poke(self, now: float) -> list[Out]:
        """Something outside the queues changed (a phone registered, a call ended): offer."""
        return self._distribute(now)

    def _remove(self, caller: _Caller, now: float) -> list[Out]:
        q = self._queues[caller.queue]
        q.callers.remove(caller)
        del self._callers[caller.call_id]
        out: list[Out] = [
            CancelTimer((kind, caller.call_id)) for kind in ("max-wait", "announce", "retry")
        ]
        for ext in caller.offered:  # ring-all's other phones, or an offer the caller left
            a = self._agents.get(ext)
            if a is not None and a.call_id == caller.call_id and a.channel is None:
                a.call_id = None
                out += self._touch(a, now)
        caller.offered.clear()
        return out

    # ---------------------------------------------------------------------------- agents
    def _known(self, extension: str) -> _Agent:
        agent = self._agents.get(extension)
        if agent is None:
            raise AgentNotFound(extension)
        return agent

    def login(self, extension: str, queues: Sequence[str] | None, now: float) -> list[Out]:
        a = self._known(extension)
        names = self._names(a, queues, a.allowed)
        for name in names:
            if name not in a.allowed:
                why = "is a static member" if name in a.static else "is not listed as an agent"
                raise AgentStateConflict(extension, f"{why} of queue {name!r}", queue=name)
        if not names and not a.allowed:
            raise AgentStateConflict(extension, "may not log in to any queue (a static member)")
        a.dynamic |= set(names)
        return self._touch(a, now) + self._distribute(now)

    def logout(self, extension: str, queues: Sequence[str] | None, now: float) -> list[Out]:
        a = self._known(extension)
        names = self._names(a, queues, a.dynamic)
        for name in names:
            if name in a.static:
                raise AgentStateConflict(
                    extension, f"is a static member of queue {name!r}: pause it instead", queue=name
                )
            if name not in a.dynamic:
                raise AgentStateConflict(extension, f"is not logged in to {name!r}", queue=name)
        if not names:
            raise AgentStateConflict(extension, "is not logged in to any queue dynamically")
        a.dynamic -= set(names)
        return self._touch(a, now)

    def _names(self, a: _Agent, queues: Sequence[str] | None, default: set[str]) -> list[str]:
        if queues is None:
            return sorted(default)
        for name in queues:
            if name not in self._queues:
                raise QueueNotFound(name)
        return list(dict.fromkeys(queues))

    def pause(self, extension: str, reason: str | None, now: float) -> list[Out]:
        a = self._known(extension)
        if not a.queues:
            raise AgentStateConflict(extension, "is logged out")
        changed = not a.paused or a.reason != reason
        a.paused, a.reason = True, reason
        out = self._touch(a, now)
        if changed and not out:
            # Only the reason changed: still worth telling.
            out.append(AgentChanged(extension, self._agent_view(a, now)))
        return out

    def unpause(self, extension: str, now: float) -> list[Out]:
        a = self._known(extension)
        if not a.paused:
            raise AgentStateConflict(extension, "is not paused")
        a.paused, a.reason = False, None
        return self._touch(a, now) + self._distribute(now)

    def _touch(self, a: _Agent, now: float) -> list[Out]:
        """Re-derive ``a``'s state; an AgentChanged when it changed (its clock restarts)."""
        state = a.derive()
        if state is a.state:
            return []
        a.state = state
        a.since = now
        return [AgentChanged(a.extension, self._agent_view(a, now))]

    # ------------------------------------------------------------------------- restoring
    def agent_doc(self, extension: str) -> dict[str, Any]:
        """What the store keeps of an agent, for :meth:`restore_agent` after a restart."""
        a = self._agents[extension]
        return {
            "dynamic": sorted(a.dynamic),
            "paused": a.paused,
            "reason": a.reason,
            "state": a.state.value,
            "since": a.since,
            "idle_since": a.idle_since,
            "calls": a.calls,
            "calls_day": a.calls_day,
            "channel": a.channel,
            "call_id": a.call_id if a.channel is not None else None,
            "queue": a.on_queue,
            "on_call_since": a.on_call_since,
        }

    def restore_agent(
        self, extension: str, doc: Mapping[str, Any], live: Callable[[str], bool], now: float
    ) -> None:
        """Take an agent's kept state back after a restart. A queue call it was on goes on if
        its channel is still ``live``; ringing and wrap-up are over (the offer died with the
        worker)."""
        a = self._agents.get(extension)
        if a is None:
            return  # no longer in any queue
        a.dynamic = {q for q in doc.get("dynamic", ()) if q in a.allowed}
        a.paused = bool(doc.get("paused", False))
        reason = doc.get("reason")
        a.reason = reason if isinstance(reason, str) else None
        a.idle_since = float(doc.get("idle_since", now))
        a.calls, a.calls_day = int(doc.get("calls", 0)), str(doc.get("calls_day", ""))
        channel = doc.get("channel")
        if isinstance(channel, str) and live(channel):
            a.channel, a.call_id = channel, str(doc.get("call_id") or "")
            self._on_call[channel] = a
            a.on_call_since = float(doc.get("on_call_since", now))
            queue = doc.get("queue")
            a.on_queue = queue if isinstance(queue, str) else None
        state = a.derive()
        kept = doc.get("state") == state.value
        a.state = state
        a.since = float(doc.get("since", now)) if kept else now

    def replay(self, facts: Iterable[tuple[float, ev.Fact]], now: float) -> None:
        """Rebuild today's figures from the day's stored queue facts (oldest first)."""
        today = self._day(now)
        for at, fact in facts:
            name = getattr(fact, "queue", None)
            q = self._queues.get(name) if isinstance(name, str) else None
            if q is None or self._day(at) != today:
                continue
            s = self._stats(q, now)
            if isinstance(fact, ev.QueueJoined):
                s.offered += 1
            elif isinstance(fact, ev.AgentAnswered):
                s.answered += 1
                s.within_sl += fact.within_sl
                s.answer_wait += fact.wait
                s.longest_wait = max(s.longest_wait, fact.wait)
            elif isinstance(fact, ev.QueueAbandoned):
                s.abandoned += 1
                s.longest_wait = max(s.longest_wait, fact.wait)
            elif isinstance(fact, ev.QueueOverflowed):
                s.overflowed += 1
                s.offered += fact.reason == "full"  # a refused caller never joined
                s.longest_wait = max(s.longest_wait, fact.wait)

    # ---------------------------------------------------------------------- distributing
    def _distribute(self, now: float) -> list[Out]:
        waiting = [c for c in self._callers.values() if not c.offered and not c.resting]
        if not waiting:
            return []
        free = [
            a
            for a in self._agents.values()
            if a.state is AgentState.AVAILABLE and self._reachable(a.extension)
        ]
        out: list[Out] = []
        waiting.sort(key=lambda c: (c.joined, c.seq))
        for caller in waiting:
            if not free:
                break
            q = self._queues[caller.queue]
            eligible = [a for a in free if caller.queue in a.queues]
            if not eligible:
                continue
            untried = [a for a in eligible if a.extension not in caller.tried]
            if not untried:
                # Everyone who could take it was tried: rest, then start a new round.
                caller.tried.clear()
                caller.resting = True
                out.append(StartTimer(("retry", caller.call_id), q.definition.retry))
                continue
            picked = self._pick(q, untried)
            for a in picked:
                a.call_id = caller.call_id
                caller.offered.add(a.extension)
                free.remove(a)
                out += self._touch(a, now)
            q.last_offered = picked[-1].extension
            agents = tuple(a.extension for a in picked)
            out.append(Offer(caller.call_id, caller.queue, agents, q.definition.ring_timeout))
        return out

    def _pick(self, q: _Queue, untried: list[_Agent]) -> list[_Agent]:
        strategy = q.definition.strategy
        if strategy is Strategy.RING_ALL:
            return sorted(untried, key=lambda a: a.extension)
        if strategy is Strategy.ROUND_ROBIN:
            order = list(q.definition.staff)
            start = order.index(q.last_offered) + 1 if q.last_offered in order else 0
            rank = {ext: (i - start) % len(order) for i, ext in enumerate(order)}
            return [min(untried, key=lambda a: rank.get(a.extension, len(order)))]
        return [min(untried, key=lambda a: (a.idle_since, a.extension))]

    # --------------------------------------------------------------------------- figures
    def _day(self, at: float) -> str:
        return datetime.fromtimestamp(at, self.tz).date().isoformat()

    def _stats(self, q: _Queue, now: float) -> _Stats:
        day = self._day(now)
        if q.stats.day != day:
            q.stats = _Stats(day=day)
        return q.stats

    def _position(self, caller: _Caller) -> int:
        return self._queues[caller.queue].callers.index(caller) + 1

    def _serving(self, q: _Queue) -> int:
        name = q.definition.name
        return sum(
            1
            for a in self._agents.values()
            if name in a.queues and not a.paused and self._online(a.extension)
        )

    def estimated_wait(self, caller_position: int, queue: str, now: float) -> float | None:
        """Seconds: position x average handle time / agents serving the queue (logged in, not
        paused, registered; docs/queues.md). None when nobody serves it."""
        q = self._queues[queue]
        serving = self._serving(q)
        if serving == 0:
            return None
        s = self._stats(q, now)
        handle = s.handle_time / s.handled if s.handled else DEFAULT_HANDLE
        return caller_position * handle / serving

    def _announcement(self, caller: _Caller, now: float) -> Announce:
        d = self._queues[caller.queue].definition
        position = self._position(caller)
        minutes: int | None = None
        if d.announce_wait:
            seconds = self.estimated_wait(position, caller.queue, now)
            if seconds is not None:
                minutes = max(1, math.ceil(seconds / 60))
        return Announce(caller.call_id, position if d.announce_position else None, minutes)

    # ----------------------------------------------------------------------------- views
    def _agent_view(self, a: _Agent, now: float) -> AgentView:
        return AgentView(
            extension=a.extension,
            state=a.state,
            since=a.since,
            seconds_in_state=round(max(0.0, now - a.since), 3),
            queues=tuple(sorted(a.queues)),
            pause_reason=a.reason if a.paused else None,
            reachable=self._reachable(a.extension),
            calls_today=a.calls if a.calls_day == self._day(now) else 0,
            call_id=a.call_id,
        )

    def agents_view(self, now: float) -> list[AgentView]:
        return [self._agent_view(self._agents[ext], now) for ext in sorted(self._agents)]

    def agent_view(self, extension: str, now: float) -> AgentView:
        return self._agent_view(self._known(extension), now)

    def queue_view(self, name: str, now: float) -> QueueView:
        q = self._queues.get(name)
        if q is None:
            raise QueueNotFound(name)
        d = q.definition
        waiting = tuple(
            WaitingView(
                call_id=c.call_id,
                caller_number=c.number,
                caller_name=c.name,
                position=i,
                joined=c.joined,
                waiting_seconds=round(max(0.0, now - c.joined), 3),
                offered_to=tuple(sorted(c.offered)),
            )
            for i, c in enumerate(q.callers, 1)
        )
        staff = [self._agents[ext] for ext in d.staff if ext in self._agents]
        s = self._stats(q, now)
        ended = s.answered + s.abandoned + s.overflowed
        longest_now = max((w.waiting_seconds for w in waiting), default=0.0)
        return QueueView(
            name=name,
            strategy=d.strategy.value,
            waiting=waiting,
            agents=tuple(self._agent_view(a, now) for a in staff),
            today=QueueStats(
                date=s.day,
                offered=s.offered,
                answered=s.answered,
                abandoned=s.abandoned,
                overflowed=s.overflowed,
                answered_within_sl=s.within_sl,
                service_level_pct=round(100 * s.within_sl / ended, 1) if ended else None,
                service_level_threshold=d.service_level,
                average_speed_of_answer=round(s.answer_wait / s.answered, 1)
                if s.answered
                else None,
                longest_wait=round(max(s.longest_wait, longest_now), 1),
                average_handle_time=round(s.handle_time / s.handled, 1) if s.handled else None,
            ),
        )

    def queues_view(self, now: float) -> list[QueueView]:
        return [self.queue_view(name, now) for name in self._queues]

    @property
    def anyone_waiting(self) -> bool:
        """Whether a distribution could offer anything (callers wait who are not ringing)."""
        return any(not c.offered and not c.resting for c in self._callers.values())


__all__ = [
    "DEFAULT_HANDLE",
    "Acd",
    "AgentChanged",
    "Announce",
    "CancelTimer",
    "Expired",
    "Fact",
    "Offer",
    "Out",
    "Refused",
    "StartTimer",
    "TimerKey",
]
