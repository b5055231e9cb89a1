"""One call, one task: the pump between Asterisk and the call machine.

The dispatcher puts every ARI event of the call's channels (caller, legs, playbacks), every timer
expiry and every request (transfer, hold ...) on the call's queue; :meth:`Call.run` takes them one
at a time, turns each into a machine input, and performs the machine's outputs in order (a
prompt's stop excepted, which goes out beside the next request: ``Call._perform_in_order``). So a
call never sees its events out of order, while other calls run concurrently on the same loop. This
is the only place that performs ARI I/O for a call; the machine (:mod:`.machine`) is pure.

An operation Asterisk refuses comes back to the machine as ``OperationFailed`` once the batch it
was part of has been performed (a 404 during teardown is the ordinary end of a party, not an
error). An illegal input is logged and the machine ends the call with a prompt, never silence.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, assert_never

import structlog

from stasis_app.ari import (
    AriClient,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelTransfer,
    Event,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
)
from stasis_app.ari.ids import BridgeId, ChannelId
from stasis_app.calls import causes
from stasis_app.calls.machine import Caller, CallMachine
from stasis_app.calls.messages import (
    AddToBridge,
    Answer,
    Bind,
    CancelTimer,
    CheckEndpoint,
    ContinueInDialplan,
    CreateBridge,
    DestroyBridge,
    DtmfReceived,
    EndpointChecked,
    HangupChannel,
    Input,
    JoinQueue,
    LeaveQueue,
    OfferMissed,
    OfferTaken,
    Operation,
    OperationFailed,
    Originate,
    Output,
    PartyAnswered,
    PartyGone,
    PhoneTransfer,
    PlaybackDone,
    PlayMedia,
    QueueNote,
    QueueRefused,
    Record,
    RemoveFromBridge,
    Request,
    Ring,
    ShowMenu,
    Shutdown,
    StartMoh,
    StartTimer,
    StopMedia,
    StopMoh,
    StopRinging,
    TimerFired,
    TransferProgress,
)
from stasis_app.calls.views import LiveCallView, TransferView
from stasis_app.errors import (
    AriError,
    AriHttpError,
    AriNotFound,
    CallStateConflict,
    IllegalCallInput,
)
from stasis_app.events import CallEvent, EventSink
from stasis_app.events import catalogue as ev
from stasis_app.ivr import IvrDefinition
from stasis_app.queues.model import QueueConfig

log = structlog.get_logger("cti.call")
# Every leg we dial may transfer with its own button (SIP REFER): Asterisk then leaves the
# transfer to us (ChannelTransfer) instead of moving channels behind our back. The dialplan
# sets the same on calls entering Stasis.
LEG_VARIABLES = {"PJSIP_TRANSFER_HANDLING()": "ari-only"}


@dataclass(frozen=True, slots=True)
class Ask:
    """A request from the REST API; ``reply`` is resolved once the call has acted on it."""

    request: Request
    reply: asyncio.Future[None]


Item = Event | Input | Ask


class QueueDesk(Protocol):
    """What a call asks of the queues (:class:`stasis_app.queues.service.QueueService`). Each
    returns at once; facts come back for the call to record in its own timeline."""

    def config(self) -> QueueConfig: ...

    def join(
        self, call: Call, queue: str, joined: float | None
    ) -> tuple[list[ev.Fact], QueueRefused | None]: ...

    def leave(self, call_id: str, outcome: str, to: str) -> list[ev.Fact]: ...

    def missed(self, call_id: str, agent: str) -> None: ...

    def taken(self, call_id: str, agent: str, channel: ChannelId) -> list[ev.Fact]: ...


class NoQueues:
    """The desk of a worker without queues (and of tests that need none)."""

    def config(self) -> QueueConfig:
        return QueueConfig()

    def join(
        self, call: Call, queue: str, joined: float | None
    ) -> tuple[list[ev.Fact], QueueRefused | None]:
        return [], QueueRefused(queue, "unknown-queue")

    def leave(self, call_id: str, outcome: str, to: str) -> list[ev.Fact]:
        return []

    def missed(self, call_id: str, agent: str) -> None:
        pass

    def taken(self, call_id: str, agent: str, channel: ChannelId) -> list[ev.Fact]:
        return []


@dataclass(frozen=True)
class CallDeps:
    """What a call needs from the worker; passed in so tests can build calls in isolation."""

    client: AriClient
    sink: EventSink
    ivr: Callable[[], IvrDefinition]  # the definition in force when the call enters the IVR
    bind: Callable[[ChannelId, Call], None]  # route this channel's events to the call
    ring_timeout: float
    on_menu: Callable[[ChannelId, str | None], None] = lambda _channel, _menu: None
    queues: QueueDesk = dataclasses.field(default_factory=NoQueues)


class Call:
    """The task of one call; its logic is the :class:`CallMachine` it pumps."""

    def __init__(
        self,
        caller: Channel,
        dialed: str,
        deps: CallDeps,
        *,
        adopt: tuple[ChannelId, str, BridgeId] | None = None,
        adopt_queued: tuple[str, BridgeId, float] | None = None,
    ) -> None:
        self.id = str(caller.id)
        self.caller = caller
        self.dialed = dialed
        self.deps = deps
        self.client = deps.client
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        # A call resumed after a restart began when its caller's channel did, not now: its
        # duration (and the live view's start) must cover the time before the restart too.
        resumed = adopt is not None or adopt_queued is not None
        self.started = caller.creationtime.timestamp() if resumed else time.time()
        info = Caller(
            caller.id, caller.caller.number, caller.caller.name, caller.name, caller.state == "Up"
        )
        self.machine = CallMachine(
            self.id,
            info,
            dialed,
            deps.ivr,
            queues=deps.queues.config,
            arrived=datetime.fromtimestamp(self.started, UTC),
        )
        self._adopt = adopt
        self._adopt_queued = adopt_queued
        self._timers: dict[int, asyncio.TimerHandle] = {}
        # Digit -> next prompt requested (ms): the worker's own reaction time, for the bench.
        self._digit_at: float | None = None
        self._digit_to_prompt_ms: list[float] = []

    # ------------------------------------------------------------------------------ plumbing
    def deliver(self, item: Item) -> None:
        """Queue an event for this call. Never blocks (called from the websocket reader)."""
        self.queue.put_nowait(item)

    async def ask(self, request: Request) -> None:
        """Hand a request to the call task and wait until it has been acted on.

        Raises CallStateConflict when the call cannot honour it (or has ended meanwhile).
        """
        reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.deliver(Ask(request, reply))
        await reply

    @property
    def channels(self) -> tuple[ChannelId, ...]:
        """The channels of this call's parties (not those released on purpose)."""
        return self.machine.channels

    def view(self) -> LiveCallView:
        return self.machine.view(self.started)

    def transfer_view(self, transfer_id: str) -> TransferView | None:
        return self.machine.transfer_view(transfer_id)

    async def run(self) -> None:
        structlog.contextvars.bind_contextvars(call_id=self.id, channel_id=str(self.caller.id))
        try:
            if self._adopt is not None:
                await self._run(self.machine.adopt(*self._adopt))
            elif self._adopt_queued is not None:
                await self._run(self.machine.adopt_queued(*self._adopt_queued))
            else:
                await self._run(self.machine.start())
            while not self.machine.finished:
                await self._take(await self.queue.get())
        except asyncio.CancelledError:
            if not self.machine.finished:
                await self._run(self.machine.handle(Shutdown(causes.TEMPORARY_FAILURE)))
            raise
        except Exception:
            log.exception("call.failed", stage=self.machine.stage.value)
            await self._run(self.machine.fail())
        finally:
            for handle in self._timers.values():
                handle.cancel()
            self._timers.clear()
            self._refuse_pending()
            m = self.machine
            log.info(
                "call.summary",
                dialed=self.dialed,
                caller=self.caller.caller.number,
                disposition=m.disposition,
                cause=m.cause,
                duration=round(time.time() - self.started, 3),
                ivr_path=m.ivr.path,
            )

    def _refuse_pending(self) -> None:
        """Requests still queued when the call ended get an answer, never a hang."""
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if isinstance(item, Ask):
                _answer(item.reply, CallStateConflict(f"call {self.id}", "has ended"))

    async def _take(self, item: Item) -> None:
        if isinstance(item, Ask):
            try:
                await self._run(self.machine.handle(item.request))
            except CallStateConflict as exc:
                _answer(item.reply, exc)
                return
            except BaseException:
                # A fault of ours (or cancellation) while acting on it: the REST request gets
                # an answer anyway, and run() ends the call.
                _answer(item.reply, CallStateConflict(f"call {self.id}", "failed"))
                raise
            _answer(item.reply, None)
            return
        event = self._input_of(item)
        if event is not None:
            await self._run(self._handle(event))

    def _input_of(self, item: Event | Input) -> Input | None:  # noqa: PLR0911 - one per event
        """The machine input an ARI event means for this call (None: nothing)."""
        if isinstance(item, ChannelDtmfReceived):
            if self._digit_at is None:
                self._digit_at = time.perf_counter()
            return DtmfReceived(item.channel.id, item.digit)
        if isinstance(item, PlaybackFinished):
            return PlaybackDone(item.playback.id)
        if isinstance(item, StasisStart):
            return PartyAnswered(item.channel.id)
        if isinstance(item, ChannelDestroyed):
            # A ringing leg never entered Stasis, so its ChannelDestroyed, the only event with
            # the real Q.850 cause (busy, no answer...), is the first this call hears of its end.
            return PartyGone(item.channel.id, item.cause)
        if isinstance(item, StasisEnd):
            # No ChannelHangupRequest: Asterisk drops it at the source (service.UNUSED_EVENTS).
            return PartyGone(item.channel.id)
        if isinstance(item, ChannelTransfer):
            # A REFER (state None); later ones echo our own transfer_progress. An attended
            # REFER (with Replaces) spans two calls: the dispatcher merges them instead.
            if item.state is None and item.replaces is None and item.destination:
                return PhoneTransfer(item.source.id, item.destination)
            return None
        if isinstance(item, Event):
            return None
        return item

    def _handle(self, event: Input) -> list[Output]:
        try:
            return self.machine.handle(event)
        except IllegalCallInput as exc:
            log.error("call.illegal_input", stage=exc.stage, input=repr(exc.event))  # noqa: TRY400
            return self.machine.abort()

    async def _run(self, outputs: list[Output]) -> None:
        """Perform ``outputs``, then feed back what they caused (failures, answers) until quiet."""
        follow: deque[Input] = deque(await self._perform(outputs))
        while follow:
            follow.extend(await self._perform(self._handle(follow.popleft())))

    async def _perform(self, outputs: list[Output]) -> list[Input]:
        stopping: list[asyncio.Future[Input | None]] = []
        try:
            follow = await self._perform_in_order(outputs, stopping)
        finally:
            # Even when the batch fails or the call is cancelled, no stop is left running alone.
            await asyncio.gather(*stopping, return_exceptions=True)
        for stop in stopping:
            result = stop.result()
            if result is not None:
                follow.append(result)
        return follow

    async def _perform_in_order(
        self, outputs: list[Output], stopping: list[asyncio.Future[Input | None]]
    ) -> list[Input]:
        """Perform each output in turn, except that a prompt's stop does not hold up the next.

        On a barge-in the caller waits for the next prompt, not for the stop of the current
        one: both requests go at once, so the digit costs one round trip to Asterisk instead of
        two (under load, where a round trip takes hundreds of ms, the difference between a
        prompt in time and a caller who hears silence). Either order at Asterisk gives the same
        result: it stops a playback at once, while anything else asked of the channel (a
        play, a bridge, music) waits behind the playing prompt. Their outcomes are fed back
        after the batch's other results; the stops themselves are left in ``stopping``.
        """
        follow: list[Input] = []
        for out in outputs:
            if isinstance(out, StopMedia):
                stopping.append(asyncio.ensure_future(self._operate(out)))
            elif isinstance(out, Record):
                self._record(out.fact)
            elif isinstance(out, Bind):
                self.deps.bind(out.channel, self)
            elif isinstance(out, ShowMenu):
                self.deps.on_menu(out.channel, out.menu)
            elif isinstance(out, StartTimer):
                loop = asyncio.get_running_loop()
                # The expiry goes through the call's queue, so it is ordered with the ARI events.
                self._timers[out.token] = loop.call_later(
                    out.seconds, self.deliver, TimerFired(out.token)
                )
            elif isinstance(out, CancelTimer):
                handle = self._timers.pop(out.token, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(out, JoinQueue | LeaveQueue | OfferMissed | OfferTaken):
                refused = self._queue(out)
                if refused is not None:
                    follow.append(refused)
            else:
                result = await self._operate(out)
                if result is not None:
                    follow.append(result)
        return follow

    def _queue(self, note: QueueNote) -> QueueRefused | None:
        """Tell the queues what became of this caller; record the facts they return."""
        desk = self.deps.queues
        refused: QueueRefused | None = None
        facts: list[ev.Fact] = []
        if isinstance(note, JoinQueue):
            facts, refused = desk.join(self, note.queue, note.joined)
        elif isinstance(note, LeaveQueue):
            facts = desk.leave(self.id, note.outcome, note.to)
        elif isinstance(note, OfferMissed):
            desk.missed(self.id, note.agent)
        elif isinstance(note, OfferTaken):
            facts = desk.taken(self.id, note.agent, note.channel)
        else:
            assert_never(note)
        for fact in facts:
            self._record(fact)
        return refused

    async def _operate(self, op: Operation) -> Input | None:
        try:
            return await self._ari(op)
        except AriHttpError as exc:
            log.info("call.operation_failed", op=type(op).__name__, status=exc.status)
            return OperationFailed(op, exc.status, str(exc))
        except AriError as exc:
            log.warning("call.operation_failed", op=type(op).__name__, error=str(exc))
            return OperationFailed(op, 0, str(exc))

    async def _ari(self, op: Operation) -> Input | None:  # noqa: PLR0912 - one case per op
        c = self.client
        if isinstance(op, PlayMedia):
            media = [f"sound:cti/{p}" for p in op.prompts]
            await c.play(op.channel, media, lang=op.language, playback_id=op.playback)
            self._prompt_requested()
        elif isinstance(op, StopMedia):  # sent by _perform_in_order without waiting
            await c.stop_playback(op.playback, missing_ok=True)
        elif isinstance(op, Answer):
            await c.answer(op.channel)
        elif isinstance(op, Ring):
            await c.ring(op.channel)
        elif isinstance(op, StopRinging):
            await c.stop_ringing(op.channel, missing_ok=True)
        elif isinstance(op, Originate):
            await c.originate(
                f"PJSIP/{op.extension}",
                app_args=op.args,
                caller_id=op.caller_id,
                timeout=round(op.timeout or self.deps.ring_timeout),
                channel_id=op.leg,
                originator=op.originator,
                variables=LEG_VARIABLES,
            )
        elif isinstance(op, HangupChannel):
            await c.hangup(op.channel, reason_code=op.cause, missing_ok=True)
        elif isinstance(op, CreateBridge):
            await c.create_bridge(
                bridge_type="holding" if op.holding else "mixing",
                bridge_id=op.bridge,
                name=op.name or f"cti-{self.id}",
            )
        elif isinstance(op, AddToBridge):
            await c.add_channel(op.bridge, op.channels)
        elif isinstance(op, RemoveFromBridge):
            await c.remove_channel(op.bridge, op.channel, missing_ok=True)
        elif isinstance(op, DestroyBridge):
            await c.destroy_bridge(op.bridge, missing_ok=True)
        elif isinstance(op, StartMoh):
            await c.start_bridge_moh(op.bridge, op.music)
        elif isinstance(op, StopMoh):
            await c.stop_bridge_moh(op.bridge, missing_ok=True)
        elif isinstance(op, ContinueInDialplan):
            await c.continue_in_dialplan(op.channel, context=op.context, extension=op.extension)
        elif isinstance(op, TransferProgress):
            await c.transfer_progress(op.channel, op.state)
        elif isinstance(op, CheckEndpoint):
            try:
                endpoint = await c.get_endpoint("PJSIP", op.extension)
            except AriNotFound:
                return EndpointChecked(op.extension, "missing")
            return EndpointChecked(op.extension, endpoint.state or "unknown")
        else:
            assert_never(op)
        return None

    def _record(self, fact: ev.Fact) -> None:
        if isinstance(fact, ev.CallEnded):
            # The machine reads no clock: the duration and the bench's timings are the pump's.
            fact = dataclasses.replace(
                fact,
                duration=round(time.time() - self.started, 3),
                digit_to_prompt_ms=tuple(self._digit_to_prompt_ms) or None,
            )
        event = CallEvent.of(self.id, fact, caller=self.caller.caller.number, dialed=self.dialed)
        try:
            self.deps.sink.emit(event)
        except Exception:
            # Recording is not worth a caller: a broken sink is logged, the call goes on.
            log.exception("call.event_not_recorded", action=fact.ACTION)

    def _prompt_requested(self) -> None:
        if self._digit_at is not None:
            took = (time.perf_counter() - self._digit_at) * 1000
            self._digit_to_prompt_ms.append(round(took, 2))
            self._digit_at = None


def _answer(reply: asyncio.Future[None], error: CallStateConflict | None) -> None:
    if not reply.done():
        if error is None:
            reply.set_result(None)
        else:
            reply.set_exception(error)


__all__ = ["LEG_VARIABLES", "Ask", "Call", "CallDeps", "Item", "NoQueues", "QueueDesk"]
