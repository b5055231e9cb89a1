"""The IVR inside a call (pure): runs an :class:`IvrSession` for the anchor and turns its actions
into call outputs (playbacks on the anchor's channel, timers, call events, routing on).

The session's tokens name its playbacks (``<call>-p<token>``) and timers, so a late
``PlaybackFinished`` or timer after the caller left the IVR finds no session and is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, assert_never

from stasis_app.ari.ids import ChannelId, PlaybackId
from stasis_app.calls import causes, naming, queueing
from stasis_app.calls.messages import (
    CancelTimer,
    PlayMedia,
    Record,
    ShowMenu,
    StartTimer,
    StopMedia,
)
from stasis_app.events import catalogue as ev
from stasis_app.ivr import (
    Action,
    Closed,
    Digit,
    DigitsCollected,
    Enqueue,
    Exhausted,
    Hangup,
    InputTimeout,
    InvalidInput,
    IvrDefinition,
    IvrSession,
    MenuEntered,
    OptionChosen,
    Play,
    PromptDone,
    StopPlayback,
    Transfer,
)
from stasis_app.ivr import CancelTimer as IvrCancelTimer
from stasis_app.ivr import StartTimer as IvrStartTimer
from stasis_app.ivr import TimerFired as IvrTimerFired

if TYPE_CHECKING:
    from stasis_app.calls.machine import CallMachine


class IvrDriver:
    def __init__(
        self,
        call_id: str,
        definition: Callable[[], IvrDefinition],
        arrived: datetime | None = None,
    ) -> None:
        self._call_id = call_id
        self._definition = definition
        self._arrived = arrived  # opening hours are judged at the time the call arrived
        self._session: IvrSession | None = None
        self._channel: ChannelId | None = None
        self._playbacks: dict[PlaybackId, int] = {}
        self._timers: set[int] = set()
        self._sessions = 0
        self.language: str | None = None
        self.menu: str | None = None
        self.path: list[str] = []

    @property
    def active(self) -> bool:
        return self._session is not None

    def begin(self, call: CallMachine, channel: ChannelId) -> None:
        """Start the IVR for ``channel`` with the definition in force now."""
        self._sessions += 1
        self._session = IvrSession(self._definition(), now=self._arrived)
        self._channel = channel
        self.language = self._session.language
        self._perform(call, self._session.start())

    def stop(self, call: CallMachine) -> None:
        """Leave the IVR: stop its prompt and timer. Safe to call when it is not running."""
        if self._session is None:
            return
        for playback in self._playbacks:
            call.emit(StopMedia(playback))
        for token in self._timers:
            call.emit(CancelTimer(token))
        self._forget(call)

    def _forget(self, call: CallMachine) -> None:
        """The session is over: nothing of it is current, the live view shows no menu."""
        self._playbacks.clear()
        self._timers.clear()
        self._session = None
        if self._channel is not None:
            call.emit(ShowMenu(self._channel, None))
        self.menu = None

    def digit(self, call: CallMachine, digit: str) -> None:
        if self._session is None:
            return
        call.emit(Record(ev.DigitPressed(digit=digit, menu=self.menu)))
        self._perform(call, self._session.handle(Digit(digit)))

    def prompt_done(self, call: CallMachine, playback: PlaybackId) -> None:
        token = self._playbacks.pop(playback, None)
        if token is not None and self._session is not None:
            self._perform(call, self._session.handle(PromptDone(token)))

    def timer(self, call: CallMachine, token: int) -> None:
        if token in self._timers and self._session is not None:
            self._timers.discard(token)
            self._perform(call, self._session.handle(IvrTimerFired(token)))

    # ------------------------------------------------------------------------------ internals
    def _perform(self, call: CallMachine, actions: list[Action]) -> None:
        channel = self._channel
        if channel is None:  # unreachable: begin() sets it before the first action
            return
        for action in actions:
            if isinstance(action, Play):
                playback = naming.ivr_playback_id(self._call_id, self._sessions, action.token)
                self._playbacks[playback] = action.token
                call.emit(PlayMedia(channel, playback, action.prompts, action.language))
            elif isinstance(action, StopPlayback):
                for playback, token in list(self._playbacks.items()):
                    if token == action.token:
                        call.emit(StopMedia(playback))
            elif isinstance(action, IvrStartTimer):
                self._timers.add(action.token)
                call.emit(StartTimer(action.token, action.seconds))
            elif isinstance(action, IvrCancelTimer):
                self._timers.discard(action.token)
                call.emit(CancelTimer(action.token))
            elif isinstance(action, (Transfer, Hangup, Enqueue)):
                self._leave(call, action)
            else:
                self._note(call, channel, action)

    def _note(
        self,
        call: CallMachine,
        channel: ChannelId,
        note: MenuEntered
        | DigitsCollected
        | OptionChosen
        | InvalidInput
        | InputTimeout
        | Exhausted
        | Closed,
    ) -> None:
        fact: ev.Fact
        if isinstance(note, MenuEntered):
            self.menu = note.menu
            self.path.append(note.menu)
            call.emit(ShowMenu(channel, note.menu))
            fact = ev.MenuEntered(menu=note.menu)
        elif isinstance(note, DigitsCollected):
            fact = ev.DigitsCollected(menu=note.menu, digits=note.digits)
        elif isinstance(note, OptionChosen):
            fact = ev.OptionChosen(menu=note.menu, digits=note.digits, action=note.action)
        elif isinstance(note, InvalidInput):
            fact = ev.InvalidInput(menu=note.menu, digits=note.digits, retry=note.retry)
        elif isinstance(note, InputTimeout):
            fact = ev.InputTimeout(menu=note.menu, retry=note.retry)
        elif isinstance(note, Exhausted):
            fact = ev.RetriesExhausted(menu=note.menu)
        elif isinstance(note, Closed):
            fact = ev.HoursClosed(menu=note.menu, hours=note.hours)
        else:
            assert_never(note)
        call.emit(Record(fact))

    def _leave(self, call: CallMachine, action: Transfer | Hangup | Enqueue) -> None:
        self._forget(call)  # the session finished itself: no prompt or timer of it runs
        if isinstance(action, Enqueue):
            queueing.enter(call, action.queue, action.prompt)
            return
        if isinstance(action, Hangup):
            call.disposition = "ivr-hangup"
            if action.prompt:
                call.say_and_end(action.prompt, causes.NORMAL)
            else:
                call.end(causes.NORMAL)
            return
        extension = action.extension
        call.emit(Record(ev.Transferred(extension=extension, by="ivr")))
        if action.prompt:
            call.announce(action.prompt, extension)
        else:
            call.route_anchor(extension)
