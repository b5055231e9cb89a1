"""Routes ARI events to call tasks by channel, and owns the set of live calls.

``on_event`` runs on the websocket reader's stack, so it only looks up a dict and puts the event
on a queue: no awaiting, no I/O. Each call's task consumes its own queue, which is what keeps one
call's events in order while calls run concurrently.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import structlog

from stasis_app.ari import ApplicationReplaced, Channel, ChannelTransfer, Event, StasisStart
from stasis_app.ari.ids import BridgeId, ChannelId
from stasis_app.calls import causes
from stasis_app.calls.call import Call, CallDeps
from stasis_app.calls.messages import GiveUp, TakeOver
from stasis_app.calls.naming import CLICK_ARG, LEG_ARG, extension_of
from stasis_app.calls.refer import DECLINED
from stasis_app.errors import AriError, CallStateConflict

log = structlog.get_logger("cti.dispatcher")


class Dispatcher:
    def __init__(self, make_deps: Callable[[Dispatcher], CallDeps]) -> None:
        self._by_channel: dict[ChannelId, Call] = {}
        self._bound: dict[Call, list[ChannelId]] = {}  # so an ending call unbinds in O(its legs)
        self._tasks: dict[Call, asyncio.Task[None]] = {}
        self.deps = make_deps(self)
        self.accepting = True
        self.replaced = asyncio.Event()
        self._chores: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------ routing
    def on_event(self, event: Event) -> None:
        if isinstance(event, StasisStart):
            self._stasis_start(event)
            return
        if isinstance(event, ApplicationReplaced):
            log.error("ari.app_replaced", hint="another worker connected with the same app name")
            self.replaced.set()
            return
        if isinstance(event, ChannelTransfer) and event.state is None and event.replaces:
            self._phone_attended_transfer(event)
            return
        channel = event.channel_id
        if channel is not None:
            call = self._by_channel.get(channel)
            if call is not None:
                call.deliver(event)

    def _stasis_start(self, event: StasisStart) -> None:
        channel = event.channel
        call = self._by_channel.get(channel.id)
        if call is not None:  # a leg we originated (bound before we dialed it) answered
            call.deliver(event)
            return
        if event.args[:1] == (LEG_ARG,):
            # A leg whose call already ended (the caller hung up while it was ringing).
            self.hang_up_later(channel.id, causes.NORMAL)
            return
        if event.args[:1] == (CLICK_ARG,) and len(event.args) > 1:
            dialed = event.args[1]  # click-to-dial: the answered first leg now calls <to>
        elif event.args:
            dialed = event.args[0]
        else:
            dialed = channel.dialplan.exten if channel.dialplan else ""
        self.start_call(channel, dialed)

    def start_call(
        self,
        channel: Channel,
        dialed: str,
        *,
        adopt: tuple[ChannelId, str, BridgeId] | None = None,
        adopt_queued: tuple[str, BridgeId, float] | None = None,
    ) -> Call | None:
        """Create the call and its task (``adopt``: resume a bridged call after a restart, with
        its other party's channel and extension and the bridge; ``adopt_queued``: resume a caller
        waiting in a queue, with the queue, its holding bridge and when it joined). New calls are
        refused during shutdown."""
        if not self.accepting:
            self.hang_up_later(channel.id, causes.TEMPORARY_FAILURE)
            return None
        call = Call(channel, dialed, self.deps, adopt=adopt, adopt_queued=adopt_queued)
        self.bind(channel.id, call)
        if adopt is not None:
            self.bind(adopt[0], call)
        task = asyncio.create_task(call.run(), name=f"call-{call.id}")
        self._tasks[call] = task
        task.add_done_callback(lambda _task: self._finished(call))
        return call

    def bind(self, channel: ChannelId, call: Call) -> None:
        self._by_channel[channel] = call
        self._bound.setdefault(call, []).append(channel)

    def _finished(self, call: Call) -> None:
        self._tasks.pop(call, None)
        for channel in self._bound.pop(call, ()):
            if self._by_channel.get(channel) is call:
                del self._by_channel[channel]

    # ------------------------------------------------------------------------------ queries
    @property
    def calls(self) -> Iterable[Call]:
        return tuple(self._tasks)

    @property
    def active(self) -> int:
        """How many calls are in progress (O(1), for /metrics)."""
        return len(self._tasks)

    def owner(self, channel: ChannelId) -> Call | None:
        return self._by_channel.get(channel)

    def _phone_attended_transfer(self, event: ChannelTransfer) -> None:
        """A phone's attended transfer (REFER with Replaces) joins two of our calls: the one the
        phone's first leg is in (the moved party's) and the one it consulted the target in."""
        moved_call = self._by_channel.get(event.source.id)
        replaced = event.replaces
        target = event.replaces_peer
        consult_call = self._by_channel.get(replaced.id) if replaced is not None else None
        if moved_call is None or consult_call is None or target is None:
            log.warning("dispatcher.transfer_unknown_calls", source=str(event.source.id))
            self._later(self._decline(event.source.id))
            return
        if consult_call is moved_call:
            # The phone consulted inside the very call it wants to transfer: nothing to join.
            self._later(self._decline(event.source.id))
            return
        self._later(self._merge(moved_call, consult_call, event.source.id, target))

    async def _merge(
        self, moved_call: Call, consult_call: Call, source: ChannelId, target: Channel
    ) -> None:
        # First the consultation lets the target go (still up), then the moved party's call
        # takes it: at no moment do two calls own the target, and none hangs it up.
        try:
            await consult_call.ask(GiveUp(target.id))
        except CallStateConflict as exc:
            log.info("dispatcher.transfer_refused", reason=str(exc))
            await self._decline(source)
            return
        transfer = uuid.uuid4().hex[:16]  # TakeOver's outputs bind the target to moved_call
        try:
            await moved_call.ask(TakeOver(source, target.id, extension_of(target.name), transfer))
        except CallStateConflict as exc:
            # The moved party left meanwhile: nobody is left for the target to talk to.
            log.info("dispatcher.transfer_orphan", reason=str(exc))
            await self._hang_up(target.id, causes.NORMAL)
            await self._decline(source)

    async def _decline(self, source: ChannelId) -> None:
        try:
            await self.deps.client.transfer_progress(source, DECLINED)
        except AriError as exc:
            log.info("dispatcher.transfer_progress_failed", error=str(exc))

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    def hang_up_later(self, channel: ChannelId, cause: int) -> None:
        """Hang up a channel no call owns, off the reader's stack."""
        self._later(self._hang_up(channel, cause))

    async def _hang_up(self, channel: ChannelId, cause: int) -> None:
        try:
            await self.deps.client.hangup(channel, reason_code=cause, missing_ok=True)
        except AriError as exc:
            log.warning("dispatcher.hangup_failed", channel=str(channel), error=str(exc))

    async def wait_idle(self, within: float) -> bool:
        """Wait until every call task has finished; False if some are still running."""
        tasks = list(self._tasks.values())
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=within)
        return not pending
