"""One call, one task: everything that happens to a call happens here, in event order.

The dispatcher puts every ARI event of the call's channels (caller, callee leg, playbacks) and
every timer expiry on the call's queue; :meth:`Call.run` takes them one at a time, so a call never
sees its events out of order, while other calls run concurrently on the same loop. This is also the
only place that performs ARI I/O for a call; the IVR engine it drives is pure.

Stages::

    routing ──> ivr ──(transfer)──> dialing ──(answer)──> bridged ──> ended
       │          └──(7777)──> echo ──(handed to dialplan Echo())──> ended
       └──> dialing / echo / ended (nowhere)

A channel that is already gone (404/409 during teardown) is the normal end of a call, not an error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from stasis_app.ari import (
    AriClient,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
)
from stasis_app.ari.ids import BridgeId, ChannelId, PlaybackId
from stasis_app.calls import causes
from stasis_app.calls.routing import Nowhere, ToEcho, ToExtension, ToIvr, route
from stasis_app.errors import AriError, AriHttpError, AriNotFound
from stasis_app.events import CallEvent, EventSink
from stasis_app.ivr import (
    CancelTimer,
    Digit,
    Hangup,
    HungUp,
    IvrDefinition,
    IvrSession,
    Note,
    Play,
    PromptDone,
    StartTimer,
    StopPlayback,
    TimerFired,
    Transfer,
)

log = structlog.get_logger("cti.call")

ECHO_CONTEXT = "cti-echo"
LEG_ARG = "dialed"  # Stasis args of a leg we originated: ("dialed", call_id)
CLICK_ARG = "click"  # Stasis args of a click-to-dial first leg: ("click", <to extension>)


@dataclass(frozen=True, slots=True)
class ChannelGone:
    """Reconcile found that a channel of this call no longer exists (events lost in an outage)."""

    channel_id: ChannelId


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """Move the caller to ``extension`` (REST API), ending whatever it is connected to now."""

    extension: str


@dataclass(frozen=True, slots=True)
class Shutdown:
    """The worker is stopping: end the call now."""

    cause: int


Item = Any  # an ARI event, a TimerFired, a ChannelGone, a TransferRequest or a Shutdown


@dataclass(frozen=True)
class CallDeps:
    """What a call needs from the worker; passed in so tests can build calls in isolation."""

    client: AriClient
    sink: EventSink
    ivr: Callable[[], IvrDefinition]  # the definition in force when the call enters the IVR
    bind: Callable[[ChannelId, Call], None]  # route this channel's events to the call
    ring_timeout: float
    on_menu: Callable[[ChannelId, str | None], None] = lambda _channel, _menu: None


class Call:
    """A call from one caller channel, with at most one outbound leg and one bridge."""

    def __init__(
        self,
        caller: Channel,
        dialed: str,
        deps: CallDeps,
        *,
        adopt: tuple[ChannelId, BridgeId] | None = None,
    ) -> None:
        self.id = str(caller.id)
        self.caller = caller
        self.dialed = dialed
        self.deps = deps
        self.client = deps.client
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.stage = "routing"
        self.callee: ChannelId | None = None
        self.callee_extension: str | None = None
        self.bridge: BridgeId | None = None
        self.answered = caller.state == "Up"
        self.ivr: IvrSession | None = None
        self.disposition = "abandoned"
        self.cause: int | None = None
        self.started = time.time()
        self.menu: str | None = None
        self._ivr_path: list[str] = []
        self._playbacks: dict[PlaybackId, int] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        # What to do when one of our non-IVR prompts ends (then hang up, transfer, echo...).
        self._then: dict[PlaybackId, Callable[[], Awaitable[None]]] = {}
        self._legs = 0
        # Digit -> next prompt requested (ms): the worker's own reaction time, for the bench.
        self._digit_at: float | None = None
        self._digit_to_prompt_ms: list[float] = []
        self._done = False
        self._released = False  # the caller was handed back to the dialplan: not ours to hang up
        if adopt is not None:  # a bridged call found by recovery after a restart
            self.callee, self.bridge = adopt
            self.stage = "bridged"
            self.disposition = "answered"

    # ------------------------------------------------------------------------------ plumbing
    def deliver(self, item: Item) -> None:
        """Queue an event for this call. Never blocks (called from the websocket reader)."""
        self.queue.put_nowait(item)

    @property
    def channels(self) -> tuple[ChannelId, ...]:
        return tuple(c for c in (self.caller.id, self.callee) if c is not None)

    def emit(self, action: str, /, **data: Any) -> None:
        # Positional-only: a note's own fields may include "action" (OptionChosen does).
        event = CallEvent(
            self.id, action, data, caller=self.caller.caller.number, dialed=self.dialed
        )
        try:
            self.deps.sink.emit(event)
        except Exception:
            # Recording is not worth a caller: a broken sink is logged, the call goes on.
            log.exception("call.event_not_recorded", action=action)

    async def run(self) -> None:
        structlog.contextvars.bind_contextvars(call_id=self.id, channel_id=str(self.caller.id))
        self.emit(
            "call-started",
            caller=self.caller.caller.number,
            caller_name=self.caller.caller.name,
            dialed=self.dialed,
            channel=self.caller.name,
        )
        try:
            if self.stage == "routing":
                await self._enter(self.dialed)
            else:
                self.emit("adopted", stage=self.stage)
            while not self._done:
                await self._handle(await self.queue.get())
        except asyncio.CancelledError:
            self.disposition = "worker-stopped"
            await self._end(causes.TEMPORARY_FAILURE)
            raise
        except AriNotFound:
            # The caller vanished between two of our requests: an ordinary hangup race.
            self._done = True
        except Exception:
            log.exception("call.failed", stage=self.stage)
            self.disposition = "failed"
            await self._end(causes.TEMPORARY_FAILURE)
        finally:
            await self._teardown()
            duration = time.time() - self.started
            self.emit(
                "call-ended",
                disposition=self.disposition,
                cause=self.cause,
                duration=round(duration, 3),
                ivr_path=list(self._ivr_path),
                callee=self.callee_extension,
                digit_to_prompt_ms=self._digit_to_prompt_ms or None,
            )
            log.info(
                "call.summary",
                dialed=self.dialed,
                caller=self.caller.caller.number,
                disposition=self.disposition,
                cause=self.cause,
                duration=round(duration, 3),
                ivr_path=self._ivr_path,
            )

    async def _handle(self, item: Item) -> None:
        if isinstance(item, TransferRequest):
            await self._transfer(item.extension)
        elif isinstance(item, Shutdown):
            if self.stage != "bridged":
                self.disposition = "worker-stopped"
            await self._end(item.cause)
        elif isinstance(item, TimerFired):
            self._timers.pop(item.token, None)
            await self._to_ivr(item)
        elif isinstance(item, ChannelDtmfReceived):
            if item.channel.id == self.caller.id:
                if self._digit_at is None:
                    self._digit_at = time.perf_counter()
                self.emit("digit", digit=item.digit, menu=self.menu)
                await self._to_ivr(Digit(item.digit))
        elif isinstance(item, PlaybackFinished):
            await self._playback_finished(item.playback.id)
        elif isinstance(item, StasisStart):
            await self._leg_answered(item.channel)
        elif isinstance(item, (StasisEnd, ChannelDestroyed, ChannelGone)):
            # No ChannelHangupRequest: Asterisk drops it at the source (service.UNUSED_EVENTS).
            # A ringing leg never entered Stasis, so its ChannelDestroyed, the only event with
            # the real Q.850 cause (busy, no answer...), is the first this call hears of its end.
            channel = item.channel_id if isinstance(item, ChannelGone) else item.channel.id
            cause = item.cause if isinstance(item, ChannelDestroyed) else None
            await self._channel_gone(channel, cause)

    # ------------------------------------------------------------------------------- routing
    async def _enter(self, extension: str) -> None:
        target = route(extension)
        if isinstance(target, ToIvr):
            if self.answered and self.stage == "routing":
                # The dialplan answered the IVR number before Stasis (one ARI round trip fewer
                # per IVR call): the timeline still says when.
                self.emit("answered")
            await self._answer()
            self.stage = "ivr"
            self.ivr = IvrSession(self.deps.ivr())
            await self._perform(self.ivr.start())
        elif isinstance(target, ToEcho):
            await self._echo()
        elif isinstance(target, ToExtension):
            await self._dial(target.extension)
        elif isinstance(target, Nowhere):
            self.disposition = "unknown-extension"
            await self._say_and_end("unknown-extension", causes.UNALLOCATED)

    async def _answer(self) -> None:
        if not self.answered:
            await self.client.answer(self.caller.id)
            self.answered = True
            self.emit("answered")

    async def _echo(self) -> None:
        """Hand the caller to the dialplan's Echo(): Asterisk echoes media without us in the path.

        ARI has no echo operation: the worker answers and records, Asterisk echoes. (The IVR's
        option 3 announces the test before transferring here; a direct call to 7777 echoes at once.)
        """
        await self._answer()
        self.stage = "echo"
        self.disposition = "echo"
        self.emit("echo-started")
        await self.client.continue_in_dialplan(
            self.caller.id, context=ECHO_CONTEXT, extension="7777"
        )
        self._released = True

    # ----------------------------------------------------------------------------------- IVR
    async def _to_ivr(self, event: Digit | PromptDone | TimerFired | HungUp) -> None:
        if self.ivr is None or self.stage != "ivr":
            return
        await self._perform(self.ivr.handle(event))

    async def _perform(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, Note):
                self._note(action)
            elif isinstance(action, (Transfer, Hangup)):
                await self._leave_ivr(action)
            else:
                await self._media(action)

    async def _media(self, action: Play | StopPlayback | StartTimer | CancelTimer) -> None:
        if isinstance(action, Play):
            await self._play(action)
        elif isinstance(action, StopPlayback):
            for playback_id, token in list(self._playbacks.items()):
                if token == action.token:
                    await self.client.stop_playback(playback_id, missing_ok=True)
        elif isinstance(action, StartTimer):
            # The expiry goes through the call's queue, so it is ordered with the ARI events.
            loop = asyncio.get_running_loop()
            self._timers[action.token] = loop.call_later(
                action.seconds, self.deliver, TimerFired(action.token)
            )
        else:
            handle = self._timers.pop(action.token, None)
            if handle is not None:
                handle.cancel()

    async def _leave_ivr(self, action: Transfer | Hangup) -> None:
        self.deps.on_menu(self.caller.id, None)
        if isinstance(action, Hangup):
            self.disposition = "ivr-hangup"
            if action.prompt:
                await self._say_and_end(action.prompt, causes.NORMAL)
            else:
                await self._end(causes.NORMAL)
            return
        self.stage = "transfer"
        extension = action.extension
        self.emit("transferred", extension=extension, by="ivr")
        if action.prompt:
            await self._say(action.prompt, "transfer", lambda: self._enter(extension))
        else:
            await self._enter(extension)

    def _note(self, note: Note) -> None:
        kind = type(note).__name__
        fields = {k: getattr(note, k) for k in note.__dataclass_fields__}
        if kind == "MenuEntered":
            self.menu = str(fields.get("menu"))
            self._ivr_path.append(self.menu)
            self.deps.on_menu(self.caller.id, self.menu)
        action = {
            "MenuEntered": "menu-entered",
            "DigitsCollected": "digits-collected",
            "OptionChosen": "option-chosen",
            "InvalidInput": "invalid-input",
            "InputTimeout": "input-timeout",
            "Exhausted": "retries-exhausted",
        }.get(kind, kind)
        self.emit(action, **fields)

    async def _play(self, play: Play) -> None:
        playback_id = PlaybackId(f"{self.id}-p{play.token}")
        self._playbacks[playback_id] = play.token
        media = [f"sound:cti/{p}" for p in play.prompts]
        await self.client.play(self.caller.id, media, lang=play.language, playback_id=playback_id)
        self._prompt_requested()

    def _prompt_requested(self) -> None:
        if self._digit_at is not None:
            took = (time.perf_counter() - self._digit_at) * 1000
            self._digit_to_prompt_ms.append(round(took, 2))
            self._digit_at = None

    async def _playback_finished(self, playback_id: PlaybackId) -> None:
        then = self._then.pop(playback_id, None)
        if then is not None:
            await then()
            return
        token = self._playbacks.pop(playback_id, None)
        if token is not None:
            await self._to_ivr(PromptDone(token))

    # ---------------------------------------------------------------------- internal calls
    async def _dial(self, extension: str) -> None:
        self.stage = "dialing"
        self.callee_extension = extension
        try:
            endpoint = await self.client.get_endpoint("PJSIP", extension)
        except AriNotFound:
            self.disposition = "unknown-extension"
            await self._say_and_end("unknown-extension", causes.UNALLOCATED)
            return
        if endpoint.state != "online":
            self.emit("dial-failed", extension=extension, reason="not-registered")
            self.disposition = "unavailable"
            await self._say_and_end("unavailable", causes.SUBSCRIBER_ABSENT)
            return
        self._legs += 1
        leg = ChannelId(f"{self.id}-leg{self._legs}")
        self.callee = leg
        self.deps.bind(leg, self)
        caller_id = f'"{self.caller.caller.name}" <{self.caller.caller.number}>'
        self.emit("dialing", extension=extension, leg=str(leg))
        try:
            await self.client.originate(
                f"PJSIP/{extension}",
                app_args=(LEG_ARG, self.id),
                caller_id=caller_id,
                timeout=round(self.deps.ring_timeout),
                channel_id=leg,
                originator=self.caller.id,
            )
        except AriError as exc:
            log.info("call.dial_failed", extension=extension, error=str(exc))
            self.callee = None
            self.disposition = "unavailable"
            await self._say_and_end("unavailable", causes.SUBSCRIBER_ABSENT)
            return
        # Ringback for the caller; an answered caller (IVR transfer, click-to-dial) hears it too.
        await self.client.ring(self.caller.id)

    async def _leg_answered(self, channel: Channel) -> None:
        if channel.id != self.callee or self.stage != "dialing":
            return
        await self._answer()
        await self.client.stop_ringing(self.caller.id, missing_ok=True)
        bridge = await self.client.create_bridge(
            bridge_type="mixing", bridge_id=BridgeId(f"{self.id}-bridge"), name=f"cti-{self.id}"
        )
        self.bridge = bridge.id
        self.stage = "bridged"
        self.disposition = "answered"
        try:
            await self.client.add_channel(bridge.id, [self.caller.id, channel.id])
        except AriHttpError as exc:
            if exc.status not in (400, 404):
                raise
            # One side hung up between answering and bridging: its hangup events are already
            # on our queue and end the call the usual (bridged) way.
            log.info("call.bridge_raced_hangup", error=str(exc))
            return
        self.emit("bridged", extension=self.callee_extension, bridge=str(bridge.id))

    async def _channel_gone(self, channel: ChannelId, cause: int | None) -> None:
        if self.stage == "ended":
            return
        if channel == self.caller.id:
            if self.stage == "echo":
                # The caller left Stasis for Echo(); the call is Asterisk's now.
                self._done = True
                return
            self.emit("caller-hangup", cause=cause)
            if self.stage == "ivr" and self.ivr is not None:
                self.ivr.handle(HungUp())
            if self.stage == "dialing":
                self.disposition = "abandoned"
            self._released = True
            await self._end(causes.NORMAL)
        elif channel == self.callee:
            if self.stage == "dialing":
                disposition, prompt, end_cause = causes.failed_dial_outcome(cause)
                self.emit("dial-failed", extension=self.callee_extension, reason=disposition)
                self.callee = None
                self.disposition = disposition
                await self._say_and_end(prompt, end_cause)
            elif self.stage == "bridged":
                self.emit("callee-hangup", cause=cause)
                self.callee = None
                await self._end(causes.NORMAL)

    async def _transfer(self, extension: str) -> None:
        """Blind transfer asked through the API: drop what the caller is in, route it anew."""
        if self.stage in ("ended", "closing", "echo"):
            return
        self.emit("transferred", extension=extension, by="api", stage=self.stage)
        self.deps.on_menu(self.caller.id, None)
        self.stage = "transfer"
        self._cancel_timers()
        for playback_id in [*self._playbacks, *self._then]:
            await self.client.stop_playback(playback_id, missing_ok=True)
        self._playbacks.clear()
        self._then.clear()
        if self.callee is not None:
            leg, self.callee = self.callee, None
            await self.client.hangup(leg, reason_code=causes.NORMAL, missing_ok=True)
        if self.bridge is not None:
            bridge, self.bridge = self.bridge, None
            await self.client.destroy_bridge(bridge, missing_ok=True)
        await self._enter(extension)

    async def _say(self, prompt: str, tag: str, then: Callable[[], Awaitable[None]]) -> None:
        """Play ``prompt`` to the caller; when it has finished, run ``then``."""
        playback_id = PlaybackId(f"{self.id}-{tag}")
        self._then[playback_id] = then
        await self.client.play(
            self.caller.id, [f"sound:cti/{prompt}"], lang=self._language(), playback_id=playback_id
        )
        self._prompt_requested()

    def _language(self) -> str | None:
        return self.ivr.language if self.ivr is not None else None

    # ------------------------------------------------------------------------------ endings
    async def _say_and_end(self, prompt: str, cause: int) -> None:
        """Play ``prompt`` to the caller, then hang up with ``cause`` when it finishes."""
        self.stage = "closing"
        self.cause = cause
        self._cancel_timers()
        await self._answer()
        await self._say(prompt, "closing", lambda: self._end(cause))

    async def _end(self, cause: int) -> None:
        self.stage = "ended"
        self.cause = self.cause or cause
        await self._teardown()
        self._done = True

    def _cancel_timers(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    async def _teardown(self) -> None:
        """Hang up what is still up and destroy our bridge. Safe to call more than once."""
        self._cancel_timers()
        cause = self.cause or causes.NORMAL
        for channel in (self.callee, None if self._released else self.caller.id):
            if channel is not None:
                try:
                    await self.client.hangup(channel, reason_code=cause, missing_ok=True)
                except AriError as exc:
                    log.info("call.teardown_hangup_failed", channel=str(channel), error=str(exc))
        self.callee = None
        self._released = True
        if self.bridge is not None:
            try:
                await self.client.destroy_bridge(self.bridge, missing_ok=True)
            except AriError as exc:
                log.info("call.teardown_bridge_failed", bridge=str(self.bridge), error=str(exc))
            self.bridge = None
