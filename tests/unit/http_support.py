"""Shared builders for the registry, bus and REST API tests (no tests here).

Events are built as Asterisk 22 sends them (``events.json`` shapes) and go through the real
``parse_event``, so the registry and the routes are tested against what the worker really receives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from stasis_app.ari import Event, parse_event
from stasis_app.calls.registry import LiveRegistry
from stasis_app.calls.views import (
    LiveCallView,
    PartyState,
    PartyView,
    Role,
    TransferState,
    TransferView,
)
from stasis_app.errors import (
    AgentNotFound,
    AgentStateConflict,
    CallNotFound,
    CallStateConflict,
    ChannelNotFound,
    ExtensionNotFound,
    ExtensionUnavailable,
    QueueNotFound,
    TransferNotFound,
)
from stasis_app.events import CallEvent
from stasis_app.events.bus import EventBus
from stasis_app.events.elastic import SinkStatus
from stasis_app.events.store import (
    CallDetail,
    CallSummary,
    DeadLetter,
    StoreStatus,
    TimelineEvent,
)
from stasis_app.health import DeadTask, HealthFacts
from stasis_app.histogram import Histogram, HistogramSnapshot
from stasis_app.http import create_app
from stasis_app.http.limits import DEFAULT_MAX_BODY_BYTES
from stasis_app.http.seams import CallHistory
from stasis_app.lagmonitor import LoopLag
from stasis_app.queues.model import Strategy
from stasis_app.queues.views import AgentState, AgentView, QueueStats, QueueView, WaitingView
from stasis_app.supervisor import TaskState

TOKEN = "s3cret-token-for-tests"
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
EPOCH0 = T0.timestamp()


def ts(seconds: float = 0.0) -> str:
    """An ARI timestamp ``seconds`` after T0."""
    return datetime.fromtimestamp(EPOCH0 + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + (
        "+0000"
    )


def channel_json(
    channel_id: str = "1714557600.12",
    *,
    name: str = "PJSIP/1000-00000004",
    state: str = "Ring",
    caller: tuple[str, str] = ("Alice", "1000"),
    connected: tuple[str, str] = ("", ""),
    exten: str = "2000",
    created: float = 0.0,
) -> dict[str, Any]:
    return {
        "id": channel_id,
        "name": name,
        "state": state,
        "protocol_id": "3c2a9f1e@127.0.0.1",
        "caller": {"name": caller[0], "number": caller[1]},
        "connected": {"name": connected[0], "number": connected[1]},
        "accountcode": "",
        "dialplan": {
            "context": "cti-stasis",
            "exten": exten,
            "priority": 3,
            "app_name": "Stasis",
            "app_data": f"cti,{exten}",
        },
        "creationtime": ts(created),
        "language": "en",
    }


def bridge_json(
    bridge_id: str = "1714557600.12-bridge", channels: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "id": bridge_id,
        "technology": "simple_bridge",
        "bridge_type": "mixing",
        "bridge_class": "stasis",
        "creator": "Stasis",
        "name": "cti-1714557600.12",
        "channels": list(channels),
        "creationtime": ts(5),
        "video_mode": "none",
    }


def endpoint_json(resource: str = "2000", state: str = "online") -> dict[str, Any]:
    return {"technology": "PJSIP", "resource": resource, "state": state, "channel_ids": []}


def event(event_type: str, at: float = 0.0, **body: Any) -> Event:
    """Parse one event shaped like Asterisk's, ``at`` seconds after T0."""
    data = {
        "type": event_type,
        "timestamp": ts(at),
        "application": "cti",
        "asterisk_id": "02:42:ac:11:00:02",
        **body,
    }
    return parse_event(data)


def contact_event(
    resource: str = "2000",
    status: str = "Reachable",
    uri: str = "sip:2000@192.0.2.10:5060",
    rtt_usec: str | None = "12345",
) -> Event:
    info: dict[str, Any] = {"uri": uri, "contact_status": status, "aor": resource}
    if rtt_usec is not None:
        info["roundtrip_usec"] = rtt_usec
    return event("ContactStatusChange", endpoint=endpoint_json(resource), contact_info=info)


def call_event(action: str, call_id: str = "c1", **data: Any) -> CallEvent:
    return CallEvent(call_id, action, data, caller="1000", dialed="2000", at=EPOCH0)


class Clock:
    """A settable clock for durations."""

    def __init__(self, now: float = EPOCH0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeCall:
    """One live call of the fake: its parties by channel, and its attended transfer, if any."""

    id: str
    caller_number: str
    dialed: str
    started: float
    parties: dict[str, PartyView]
    stage: str = "bridged"
    transfer: str | None = None  # id of the attended transfer in progress
    legs: int = 1

    def talking_with(self, channel_id: str) -> str | None:
        """The other party in the call's bridge (talking, or held by ``channel_id``)."""
        for other in self.parties.values():
            if other.channel_id != channel_id and other.state in (
                PartyState.TALKING,
                PartyState.HELD,
            ):
                return other.channel_id
        return None

    def set(self, channel_id: str, state: PartyState) -> None:
        self.parties[channel_id] = dataclasses.replace(self.parties[channel_id], state=state)


ENDED = (TransferState.COMPLETED, TransferState.CANCELLED)


@dataclass
class FakeControl:
    """CallControl over a fixed set of extensions and the channels and calls a test says exist.

    It keeps the rules the real call machine keeps (and raises the same errors): an attended
    transfer needs the moved party to talk to someone, one transfer per call at a time, complete
    needs an answered target, an ended transfer cannot change, hold needs someone to hold.
    ``calls`` logs every operation that got through, in order.
    """

    extensions: dict[str, bool] = field(
        default_factory=lambda: {"1000": True, "2000": True, "2001": True, "2002": False}
    )
    channels: set[str] = field(default_factory=set)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    live: dict[str, FakeCall] = field(default_factory=dict)
    transfers: dict[str, TransferView] = field(default_factory=dict)

    # ------------------------------------------------------------------ test setup
    def bridged(self, caller: str, agent: str, *, started: float = EPOCH0) -> FakeCall:
        """A call from 1000 (``caller``) to 2000, answered by ``agent``: both talking."""
        call = FakeCall(
            id=caller,
            caller_number="1000",
            dialed="2000",
            started=started,
            parties={
                caller: PartyView(caller, "1000", Role.CALLER, PartyState.TALKING),
                agent: PartyView(agent, "2000", Role.CALLEE, PartyState.TALKING),
            },
        )
        self.live[call.id] = call
        self.channels |= {caller, agent}
        return call

    def target_answers(self, transfer_id: str) -> None:
        """The target of an attended transfer answers: it talks with the initiator."""
        transfer = self.transfers[transfer_id]
        assert transfer.target is not None
        self.live[transfer.call_id].set(transfer.target, PartyState.TALKING)
        self.transfers[transfer_id] = dataclasses.replace(transfer, state=TransferState.ANSWERED)

    # ------------------------------------------------------------------ CallControl
    def _check(self, extension: str) -> None:
        if extension not in self.extensions:
            raise ExtensionNotFound(extension)
        if not self.extensions[extension]:
            raise ExtensionUnavailable(extension)

    def _party(self, channel_id: str) -> tuple[FakeCall, PartyView]:
        if channel_id not in self.channels:
            raise ChannelNotFound(channel_id)
        for call in self.live.values():
            if channel_id in call.parties:
                return call, call.parties[channel_id]
        raise CallStateConflict(f"channel {channel_id}", "is not a party of a call")

    async def click_to_dial(self, from_extension: str, to_extension: str) -> str:
        self._check(from_extension)
        self._check(to_extension)
        self.calls.append(("call", from_extension, to_extension))
        return f"api-{len(self.calls)}"

    async def hangup(self, channel_id: str) -> None:
        if channel_id not in self.channels:
            raise ChannelNotFound(channel_id)
        self.calls.append(("hangup", channel_id))

    async def transfer(self, channel_id: str, extension: str) -> None:
        if channel_id not in self.channels:
            raise ChannelNotFound(channel_id)
        self._check(extension)
        self.calls.append(("transfer", channel_id, extension))

    async def start_transfer(self, channel_id: str, extension: str, mode: str) -> TransferView:
        call, moved = self._party(channel_id)
        self._check(extension)
        if call.transfer is not None:
            raise CallStateConflict(f"call {call.id}", "a transfer is already in progress")
        transfer_id = f"{call.id}-t{len(self.transfers) + 1}"
        call.legs += 1
        leg = f"{call.id}-leg{call.legs}"
        if mode == "blind":
            call.parties = {
                moved.channel_id: dataclasses.replace(moved, state=PartyState.UP),
                leg: PartyView(leg, extension, Role.CALLEE, PartyState.RINGING),
            }
            call.stage = "dialing"
            view = TransferView(
                id=transfer_id,
                call_id=call.id,
                mode="blind",
                state=TransferState.COMPLETED,
                moved=channel_id,
                initiator=None,
                extension=extension,
                target=None,  # a blind transfer has no consultation leg
                reason=None,
            )
        else:
            initiator = call.talking_with(channel_id)
            if initiator is None or moved.state is not PartyState.TALKING:
                raise CallStateConflict(f"channel {channel_id}", "is not talking to anyone")
            call.set(channel_id, PartyState.HELD)
            call.set(initiator, PartyState.HOLDING)
            call.parties[leg] = PartyView(leg, extension, Role.TARGET, PartyState.RINGING)
            call.stage, call.transfer = "consulting", transfer_id
            view = TransferView(
                id=transfer_id,
                call_id=call.id,
                mode="attended",
                state=TransferState.RINGING,
                moved=channel_id,
                initiator=initiator,
                extension=extension,
                target=leg,
                reason=None,
            )
        self.channels.add(leg)
        self.transfers[transfer_id] = view
        self.calls.append(("start_transfer", channel_id, extension, mode))
        return view

    def get_transfer(self, transfer_id: str) -> TransferView:
        if transfer_id not in self.transfers:
            raise TransferNotFound(transfer_id)
        return self.transfers[transfer_id]

    def _live_transfer(self, transfer_id: str) -> tuple[TransferView, FakeCall]:
        transfer = self.get_transfer(transfer_id)
        if transfer.state in ENDED:
            raise CallStateConflict(
                f"transfer {transfer_id}", "has already ended", state=transfer.state.value
            )
        return transfer, self.live[transfer.call_id]

    async def complete_transfer(self, transfer_id: str) -> TransferView:
        transfer, call = self._live_transfer(transfer_id)
        if transfer.state is not TransferState.ANSWERED:
            raise CallStateConflict(
                f"transfer {transfer_id}", "the target has not answered", state=transfer.state.value
            )
        assert transfer.initiator is not None
        assert transfer.target is not None
        del call.parties[transfer.initiator]
        self.channels.discard(transfer.initiator)
        call.set(transfer.moved, PartyState.TALKING)
        call.set(transfer.target, PartyState.TALKING)
        call.stage, call.transfer = "bridged", None
        done = dataclasses.replace(transfer, state=TransferState.COMPLETED)
        self.transfers[transfer_id] = done
        self.calls.append(("complete_transfer", transfer_id))
        return done

    async def cancel_transfer(self, transfer_id: str) -> TransferView:
        transfer, call = self._live_transfer(transfer_id)
        assert transfer.initiator is not None
        assert transfer.target is not None
        del call.parties[transfer.target]
        self.channels.discard(transfer.target)
        call.set(transfer.moved, PartyState.TALKING)
        call.set(transfer.initiator, PartyState.TALKING)
        call.stage, call.transfer = "bridged", None
        done = dataclasses.replace(transfer, state=TransferState.CANCELLED, reason="cancelled")
        self.transfers[transfer_id] = done
        self.calls.append(("cancel_transfer", transfer_id))
        return done

    async def hold(self, channel_id: str) -> None:
        call, party = self._party(channel_id)
        if party.state is PartyState.HOLDING:
            raise CallStateConflict(f"channel {channel_id}", "already holds the other party")
        other = call.talking_with(channel_id)
        if other is None or party.state is not PartyState.TALKING:
            raise CallStateConflict(f"channel {channel_id}", "is not talking to anyone")
        call.set(channel_id, PartyState.HOLDING)
        call.set(other, PartyState.HELD)
        call.stage = "holding"
        self.calls.append(("hold", channel_id))

    async def unhold(self, channel_id: str) -> None:
        call, party = self._party(channel_id)
        other = call.talking_with(channel_id)
        if party.state is not PartyState.HOLDING or call.transfer is not None or other is None:
            raise CallStateConflict(f"channel {channel_id}", "is not holding anyone")
        call.set(channel_id, PartyState.TALKING)
        call.set(other, PartyState.TALKING)
        call.stage = "bridged"
        self.calls.append(("unhold", channel_id))

    def live_calls(self) -> list[LiveCallView]:
        return [
            LiveCallView(
                id=call.id,
                caller_number=call.caller_number,
                caller_name="Alice",
                dialed=call.dialed,
                stage=call.stage,
                started=call.started,
                parties=tuple(call.parties.values()),
                bridge_id=f"{call.id}-bridge",
                transfer=self.transfers[call.transfer] if call.transfer else None,
            )
            for call in sorted(self.live.values(), key=lambda c: c.started)
        ]


def healthy_store(**changes: Any) -> StoreStatus:
    """A store whose writer runs and whose last write committed; ``changes`` override."""
    base = StoreStatus(
        writer_alive=True,
        failing=False,
        backlog=3,
        events_written=120,
        write_failures=0,
        last_error=None,
    )
    return dataclasses.replace(base, **changes)


@dataclass
class FakeStatus:
    """The worker's side of /health and /metrics; every field a test may set."""

    ari_connected: bool = True
    reconnects: int = 2
    asterisk_version: str | None = "22.5.0"
    asterisk_started: datetime | None = T0
    version: str = "0.1.0"
    loop_lag: LoopLag = field(default_factory=lambda: LoopLag(12.5, 1.5, 3.0))
    endpoints_connected: bool = True
    endpoint_reconnects: int = 1
    store_status: StoreStatus = field(default_factory=healthy_store)
    sink_status: SinkStatus | None = None
    dead_tasks: tuple[DeadTask, ...] = ()
    restarting_tasks: tuple[DeadTask, ...] = ()
    task_states: tuple[TaskState, ...] = ()
    active_calls: int = 0
    live_channels: int = 0
    calls_ended: Mapping[str, int] = field(default_factory=dict)
    options_chosen: Mapping[tuple[str, str], int] = field(default_factory=dict)
    latency: dict[str, Histogram] = field(default_factory=dict)
    reads: int = 0  # health_facts reads: proves /metrics and /health read at request time

    @property
    def ari_latency(self) -> Mapping[str, HistogramSnapshot]:
        return {method: h.snapshot() for method, h in self.latency.items()}

    @property
    def health_facts(self) -> HealthFacts:
        self.reads += 1
        store = self.store_status
        return HealthFacts(
            ari_connected=self.ari_connected,
            endpoints_connected=self.endpoints_connected,
            store_writer_alive=store.writer_alive,
            store_failing=store.failing,
            store_error=store.last_error,
            dead_tasks=self.dead_tasks,
            restarting_tasks=self.restarting_tasks,
            sink_state=self.sink_status.state if self.sink_status else None,
        )


# ------------------------------------------------------------------------------ queues, agents
@dataclass(frozen=True)
class FakeQueue:
    strategy: Strategy
    members: tuple[str, ...]  # static: always logged in
    agents: tuple[str, ...]  # log in and out
    today: QueueStats


def no_calls_yet(threshold: float = 20.0) -> QueueStats:
    return QueueStats("2024-05-01", 0, 0, 0, 0, 0, None, threshold, None, 0.0, None)


def sales_today() -> QueueStats:
    """12 callers today: 10 answered (9 within 20 s), 1 abandoned, 1 overflowed."""
    return QueueStats("2024-05-01", 12, 10, 1, 1, 9, 75.0, 20.0, 7.4567, 42.0412, 95.5)


@dataclass
class FakeAgent:
    extension: str
    dynamic: set[str] = field(default_factory=set)
    paused: bool = False
    reason: str | None = None
    busy: tuple[AgentState, str] | None = None  # (RINGING or ON_CALL, call id), set by a test
    since: float = EPOCH0
    state: AgentState = AgentState.LOGGED_OUT
    reachable: bool = True
    calls_today: int = 0


@dataclass
class FakeQueues:
    """QueueControl (pure data) over two queues: ``sales`` (static member 2000, agents 2001 and
    2002) and ``support`` (agent 2001). Nobody waits and only 2000 is logged in until a test
    says otherwise.

    It keeps the rules the ACD keeps, with the same errors: only listed agents log in (all of
    their queues by default), static members never log out, a logged-out agent cannot pause, an
    agent not paused cannot unpause. An agent's clock restarts when its state changes. ``calls``
    logs every operation that got through, in order.
    """

    now: float = EPOCH0 + 100
    queues_: dict[str, FakeQueue] = field(
        default_factory=lambda: {
            "sales": FakeQueue(Strategy.LONGEST_IDLE, ("2000",), ("2001", "2002"), sales_today()),
            "support": FakeQueue(Strategy.ROUND_ROBIN, (), ("2001",), no_calls_yet(30.0)),
        }
    )
    waiting: dict[str, list[WaitingView]] = field(default_factory=dict)
    calls: list[tuple[object, ...]] = field(default_factory=list)
    agents_: dict[str, FakeAgent] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for q in self.queues_.values():
            for extension in (*q.members, *q.agents):
                self.agents_.setdefault(extension, FakeAgent(extension))
        for agent in self.agents_.values():
            self._touch(agent)
            agent.since = EPOCH0

    # ------------------------------------------------------------------ test setup
    def caller_waits(
        self,
        queue: str,
        call_id: str,
        caller: tuple[str, str],
        *,
        waited: float,
        offered: Iterable[str] = (),
    ) -> None:
        """``caller`` (name, number) at the back of ``queue`` since ``waited`` seconds ago;
        the phones of ``offered`` ring for it."""
        line = self.waiting.setdefault(queue, [])
        name, number = caller
        joined = self.now - waited
        view = WaitingView(call_id, number, name, len(line) + 1, joined, waited, tuple(offered))
        line.append(view)
        for extension in offered:
            self.agents_[extension].busy = (AgentState.RINGING, call_id)
            self._touch(self.agents_[extension])

    # ------------------------------------------------------------------ rules
    def _static(self, agent: FakeAgent) -> set[str]:
        return {n for n, q in self.queues_.items() if agent.extension in q.members}

    def _allowed(self, agent: FakeAgent) -> set[str]:
        return {n for n, q in self.queues_.items() if agent.extension in q.agents}

    def _in(self, agent: FakeAgent) -> set[str]:
        return self._static(agent) | agent.dynamic

    def _derive(self, agent: FakeAgent) -> AgentState:
        if not self._in(agent):
            return AgentState.LOGGED_OUT
        if agent.busy is not None:
            return agent.busy[0]
        return AgentState.PAUSED if agent.paused else AgentState.AVAILABLE

    def _touch(self, agent: FakeAgent) -> None:
        state = self._derive(agent)
        if state is not agent.state:
            agent.state, agent.since = state, self.now

    def _known(self, extension: str) -> FakeAgent:
        if extension not in self.agents_:
            raise AgentNotFound(extension)
        return self.agents_[extension]

    def _names(self, queues: Sequence[str] | None, default: set[str]) -> list[str]:
        if queues is None:
            return sorted(default)
        for name in queues:
            if name not in self.queues_:
                raise QueueNotFound(name)
        return list(dict.fromkeys(queues))

    def _view(self, agent: FakeAgent) -> AgentView:
        return AgentView(
            extension=agent.extension,
            state=agent.state,
            since=agent.since,
            seconds_in_state=self.now - agent.since,
            queues=tuple(sorted(self._in(agent))),
            pause_reason=agent.reason if agent.paused else None,
            reachable=agent.reachable,
            calls_today=agent.calls_today,
            call_id=agent.busy[1] if agent.busy else None,
        )

    # ------------------------------------------------------------------ QueueControl
    def queues(self) -> list[QueueView]:
        return [self.queue(name) for name in self.queues_]

    def queue(self, name: str) -> QueueView:
        if name not in self.queues_:
            raise QueueNotFound(name)
        q = self.queues_[name]
        staff = dict.fromkeys((*q.members, *q.agents))
        return QueueView(
            name=name,
            strategy=q.strategy.value,
            waiting=tuple(self.waiting.get(name, ())),
            agents=tuple(self._view(self.agents_[e]) for e in staff),
            today=q.today,
        )

    def agents(self) -> list[AgentView]:
        return [self._view(self.agents_[e]) for e in sorted(self.agents_)]

    def login(self, extension: str, queues: Sequence[str] | None) -> AgentView:
        agent = self._known(extension)
        allowed = self._allowed(agent)
        names = self._names(queues, allowed)
        for name in names:
            if name not in allowed:
                static = name in self._static(agent)
                why = "is a static member" if static else "is not listed as an agent"
                raise AgentStateConflict(extension, f"{why} of queue {name!r}", queue=name)
        if not names:
            raise AgentStateConflict(extension, "may not log in to any queue (a static member)")
        agent.dynamic |= set(names)
        self._touch(agent)
        self.calls.append(("login", extension, tuple(names)))
        return self._view(agent)

    def logout(self, extension: str, queues: Sequence[str] | None) -> AgentView:
        agent = self._known(extension)
        names = self._names(queues, agent.dynamic)
        for name in names:
            if name in self._static(agent):
                raise AgentStateConflict(
                    extension, f"is a static member of queue {name!r}: pause it instead", queue=name
                )
            if name not in agent.dynamic:
                raise AgentStateConflict(extension, f"is not logged in to {name!r}", queue=name)
        if not names:
            raise AgentStateConflict(extension, "is not logged in to any queue dynamically")
        agent.dynamic -= set(names)
        self._touch(agent)
        self.calls.append(("logout", extension, tuple(names)))
        return self._view(agent)

    def pause(self, extension: str, reason: str | None) -> AgentView:
        agent = self._known(extension)
        if not self._in(agent):
            raise AgentStateConflict(extension, "is logged out")
        agent.paused, agent.reason = True, reason
        self._touch(agent)
        self.calls.append(("pause", extension, reason))
        return self._view(agent)

    def unpause(self, extension: str) -> AgentView:
        agent = self._known(extension)
        if not agent.paused:
            raise AgentStateConflict(extension, "is not paused")
        agent.paused, agent.reason = False, None
        self._touch(agent)
        self.calls.append(("unpause", extension))
        return self._view(agent)


def a_busy_morning() -> FakeQueues:
    """Bob (1000) has waited 42 s in sales, 2000 ringing for him; Carol (1001) 12 s after him."""
    queues = FakeQueues()
    queues.caller_waits("sales", "c7", ("Bob", "1000"), waited=42.04, offered=["2000"])
    queues.caller_waits("sales", "c8", ("Carol", "1001"), waited=12.0)
    return queues


class FakeHistory:
    """A CallHistory holding one finished call."""

    def __init__(self) -> None:
        self.summary = CallSummary(
            call_id="c1",
            started=EPOCH0,
            ended=EPOCH0 + 12,
            caller="1000",
            dialed="2000",
            callee="2000",
            disposition="answered",
            cause=16,
            duration=12.0,
            ivr_path=(),
        )
        self.queries: list[dict[str, Any]] = []

    def list_calls(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        caller: str | None = None,
        extension: str | None = None,
        disposition: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[CallSummary]:
        query = {"since": since, "until": until, "caller": caller, "extension": extension}
        query |= {"disposition": disposition, "limit": limit, "offset": offset}
        self.queries.append({k: v for k, v in query.items() if v is not None})
        return [self.summary][offset : offset + limit]

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        letter = DeadLetter("e9", "c1", "digit", "mapper_parsing_exception: bad digit", EPOCH0)
        return [letter][:limit]

    def get_call(self, call_id: str) -> CallDetail:
        if call_id != "c1":
            raise CallNotFound(call_id)
        event = TimelineEvent("e1", EPOCH0, "call-started", "shipped", {"event": {"action": "x"}})
        return CallDetail(self.summary, (event,))


def make_app(
    registry: LiveRegistry | None = None,
    *,
    bus: EventBus | None = None,
    control: FakeControl | None = None,
    queues: FakeQueues | None = None,
    history: CallHistory | None = None,
    status: FakeStatus | None = None,
    cors_origins: tuple[str, ...] = (),
    metrics_public: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    return create_app(
        registry=registry or LiveRegistry(now=Clock(EPOCH0 + 30)),
        bus=bus or EventBus(),
        control=control or FakeControl(),
        queues=queues or FakeQueues(),
        status=status or FakeStatus(),
        token=TOKEN,
        history=history,
        cors_origins=cors_origins,
        metrics_public=metrics_public,
        now=Clock(EPOCH0 + 100),
        max_body_bytes=max_body_bytes,
    )


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client(app: FastAPI, *, auth: bool = True) -> httpx.AsyncClient:
    """An httpx client talking to ``app`` in process (no socket)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://cti.test",
        headers=dict(AUTH) if auth else None,
    )


# A call from 1000 (CALLER) answered by 2000 (AGENT); UNKNOWN is no live channel.
CALLER = "1714557600.12"
AGENT = "1714557600.12-leg1"
UNKNOWN = "1714557600.99"


def registry_of_a_bridged_call() -> LiveRegistry:
    """The registry's side of FakeControl.bridged(CALLER, AGENT): both channels are live."""
    registry = LiveRegistry(now=Clock(EPOCH0 + 30))
    registry.apply(event("StasisStart", channel=channel_json(CALLER), args=["2000"]))
    agent = channel_json(AGENT, name="PJSIP/2000-00000005", caller=("", "2000"), created=3)
    registry.apply(event("StasisStart", at=3, channel=agent, args=["dialed", CALLER]))
    return registry


def bridged() -> tuple[FakeControl, FastAPI]:
    """A call from 1000 to 2000 answered by AGENT, and an app that knows it."""
    control = FakeControl()
    control.bridged(CALLER, AGENT)
    return control, make_app(registry_of_a_bridged_call(), control=control)


async def party_states(http: httpx.AsyncClient) -> dict[str, str]:
    """channel id -> party state of the one live call."""
    [call] = (await http.get("/calls/live")).json()["calls"]
    return {p["channel_id"]: p["state"] for p in call["parties"]}


def worker_ahead_of_registry() -> tuple[FakeControl, FastAPI]:
    """The worker has a second call, on UNKNOWN, that the registry does not know: a route that
    consults the registry first answers 404 for it without asking the worker."""
    control = FakeControl()
    control.bridged(CALLER, AGENT)
    control.bridged(UNKNOWN, f"{UNKNOWN}-leg1", started=EPOCH0 + 1)
    return control, make_app(registry_of_a_bridged_call(), control=control)
