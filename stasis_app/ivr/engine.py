"""The sans-I/O IVR engine: inputs in, actions out. No awaiting, sleeping, clocks or I/O.

The call task feeds :class:`IvrSession` what happened (:class:`Digit`, :class:`PromptDone`,
:class:`TimerFired`, :class:`HungUp`) and performs the actions it gets back, in order: commands
(:class:`Play`, :class:`StopPlayback`, :class:`StartTimer`, :class:`CancelTimer`, :class:`Transfer`,
:class:`Enqueue`, :class:`Hangup`) and notes to record as call events (:class:`MenuEntered` ...).

Rules
-----
* Every ``Play`` and ``StartTimer`` carries a fresh token. At most one playback and one timer are
  current; a ``PromptDone``/``TimerFired`` whose token is not the current one is *stale* and ignored
  (returns ``[]``): after we stop a playback, Asterisk still reports it finished, after the fact.
* Barge-in: a digit while PROMPTING emits ``StopPlayback(current)`` and is then handled as input.
* Single-key options act at once, unless the menu has direct dial and the key is 0-9: then it may be
  the first digit of an extension, so COLLECTING starts with an inter-digit timer. In COLLECTING:
  another 0-9 is appended (the extension's full length transfers at once, else the timer restarts);
  the terminator, or the timer firing, ends input early; any other key ends it too and is invalid.
  Input that ended early is the one-key option it spells if there is one, else invalid.
* A failure (invalid input, or the first-digit timer firing) counts one retry for this visit of the
  menu, then plays ``invalid_prompt``/``timeout_prompt`` and the menu's prompts again. The failure
  that exceeds ``max_retries`` plays nothing more and runs ``on_exhausted`` instead.
* Entering a menu (start, goto, back) resets its retries and plays its greeting and prompts.
  Repeat and play-and-return replay the prompts only, and keep the retry count.
* Business hours are judged at the call's time of arrival (``now``), never at the moment a menu is
  entered, so the office closing does not cut a caller off halfway through the menus; the engine
  reads no clock. Entering a menu whose hours were closed then emits ``Closed`` instead of
  ``MenuEntered``, plays nothing, and runs the menu's ``closed`` action (hang up, transfer, queue,
  or enter another menu). Without ``now`` every menu counts as open.
* ``Transfer``, ``Enqueue`` and ``Hangup`` end the session: state FINISHED. No playback or timer is
  running then.
  ``HungUp`` is accepted in every state and emits nothing: the call task owns the cleanup.

Transitions (``-`` = ignored, returns ``[]``; ``x`` = raises :class:`IllegalTransition`)::

    state        Digit            PromptDone(cur)   TimerFired(cur)     stale tokens  HungUp
    IDLE         x                x                 x                   x             FINISHED
    PROMPTING    stop, interpret  WAITING           (no timer runs)     -             FINISHED
    WAITING      cancel, interpret (no playback)    failure: timeout    -             FINISHED
    COLLECTING   cancel, collect  (no playback)     end input           -             FINISHED
    FINISHED     x                x                 x                   x             -

``start()`` is accepted only in IDLE. "interpret" leads to COLLECTING, to PROMPTING (a replay or
another menu), or to FINISHED; "failure" to PROMPTING or, once exhausted, wherever on_exhausted
leads.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import Any, assert_never

from stasis_app.errors import IllegalTransition, IvrError
from stasis_app.ivr.messages import (
    Action,
    CancelTimer,
    Closed,
    Digit,
    DigitsCollected,
    Enqueue,
    Exhausted,
    Hangup,
    HungUp,
    Input,
    InputTimeout,
    InvalidInput,
    MenuEntered,
    OptionChosen,
    Play,
    PromptDone,
    StartTimer,
    StopPlayback,
    TimerFired,
    Transfer,
)
from stasis_app.ivr.model import (
    EXTENSION_DIGITS,
    GoBack,
    GotoMenu,
    HangupCall,
    IvrDefinition,
    Menu,
    MenuAction,
    PlayAndReturn,
    QueueCall,
    RepeatMenu,
    TransferCall,
)


class State(enum.Enum):
    IDLE = "IDLE"  # built, start() not called yet
    PROMPTING = "PROMPTING"  # a menu's prompts are playing
    WAITING = "WAITING"  # prompts done, waiting for the first key, timer running
    COLLECTING = "COLLECTING"  # direct-dial digits coming in, inter-digit timer running
    FINISHED = "FINISHED"  # Transfer, Enqueue or Hangup emitted, or the caller hung up


class IvrSession:
    """One caller's walk through an IVR. Not thread-safe; one call task drives it.

    ``now`` is when the call arrived (timezone-aware); every business-hours check uses it.
    """

    def __init__(self, definition: IvrDefinition, now: datetime | None = None) -> None:
        if now is not None and now.utcoffset() is None:
            raise ValueError(f"now must be timezone-aware, got {now!r}")
        self.definition = definition
        self.now = now
        self._state = State.IDLE
        self._menu: Menu = definition.menus[definition.start]
        self._retries = 0
        self._collected = ""
        self._playing: int | None = None  # token of the current playback
        self._timer: int | None = None  # token of the current timer
        self._last_token = 0

    @property
    def state(self) -> State:
        return self._state

    @property
    def menu(self) -> str:
        """The name of the current menu."""
        return self._menu.name

    @property
    def language(self) -> str:
        """The language of every prompt, including those of Transfer and Hangup."""
        return self.definition.language

    def start(self) -> list[Action]:
        """Enter the start menu. Accepted once, in IDLE."""
        if self._state is not State.IDLE:
            raise IllegalTransition(self._state.value, "start()")
        return self._enter(self.definition.start)

    def handle(self, event: Input) -> list[Action]:
        """Feed one input; returns the actions to perform, in order."""
        handler = _TRANSITIONS[self._state].get(type(event))
        if handler is None:
            raise IllegalTransition(self._state.value, event)
        return handler(self, event)

    # -- handlers named in _TRANSITIONS ----------------------------------------------------------

    def _hung_up(self, _event: HungUp) -> list[Action]:
        self._state = State.FINISHED
        self._playing = self._timer = None
        return []

    def _ignore(self, _event: Input) -> list[Action]:
        return []

    def _prompt_done(self, event: PromptDone) -> list[Action]:
        if event.token != self._playing:
            return []
        self._playing = None
        self._state = State.WAITING
        return [self._start_timer(self._menu.timeout)]

    def _barge_in(self, event: Digit) -> list[Action]:
        actions: list[Action] = [StopPlayback(self._playing)] if self._playing is not None else []
        self._playing = None
        return actions + self._first_key(event.digit)

    def _key_while_waiting(self, event: Digit) -> list[Action]:
        return self._cancel_timer() + self._first_key(event.digit)

    def _no_input(self, event: TimerFired) -> list[Action]:
        if event.token != self._timer:
            return []
        self._timer = None
        return self._failure(None)

    def _next_key(self, event: Digit) -> list[Action]:
        actions = self._cancel_timer()
        direct_dial = self._menu.direct_dial
        if direct_dial is None:  # cannot happen: COLLECTING is only entered with direct dial
            raise IvrError(f"menu {self._menu.name!r} is collecting without direct_dial")
        if event.digit == direct_dial.terminator:
            return actions + self._interpret()
        self._collected += event.digit
        if event.digit in EXTENSION_DIGITS and len(self._collected) < direct_dial.digits:
            return [*actions, self._start_timer(direct_dial.inter_digit_timeout)]
        return actions + self._interpret()

    def _input_ended(self, event: TimerFired) -> list[Action]:
        if event.token != self._timer:
            return []
        self._timer = None
        return self._interpret()

    # -- building blocks ---------------------------------------------------------------------------

    def _token(self) -> int:
        self._last_token += 1
        return self._last_token

    def _start_timer(self, seconds: float) -> StartTimer:
        self._timer = self._token()
        return StartTimer(seconds, self._timer)

    def _cancel_timer(self) -> list[Action]:
        token, self._timer = self._timer, None
        return [] if token is None else [CancelTimer(token)]

    def _play(self, prompts: tuple[str, ...]) -> list[Action]:
        if not prompts:  # a menu without prompts waits straight away
            self._state = State.WAITING
            return [self._start_timer(self._menu.timeout)]
        self._state = State.PROMPTING
        self._playing = self._token()
        return [Play(prompts, self.definition.language, self._playing)]

    def _enter(self, name: str) -> list[Action]:
        self._menu = self.definition.menus[name]
        self._retries = 0
        hours = self._menu.hours
        if hours is not None and not self._open(hours):
            # IvrDefinition rejects a closed action that replays this menu or gotos that loop.
            return [Closed(name, hours), *self._run(self._menu.closed)]
        return [MenuEntered(name), *self._play(self._menu.greeting + self._menu.prompts)]

    def _open(self, hours: str) -> bool:
        return self.now is None or self.definition.hours[hours].is_open(self.now)

    def _first_key(self, key: str) -> list[Action]:
        """The first key of an input; nothing is playing and no timer runs."""
        self._collected = key
        direct_dial = self._menu.direct_dial
        if direct_dial is not None and key in EXTENSION_DIGITS and direct_dial.digits > 1:
            self._state = State.COLLECTING
            return [self._start_timer(direct_dial.inter_digit_timeout)]
        return self._interpret()

    def _interpret(self) -> list[Action]:
        """Input is complete: a full extension, a one-key option, or invalid."""
        digits, self._collected = self._collected, ""
        menu = self._menu
        actions: list[Action] = [DigitsCollected(menu.name, digits)]
        direct_dial = menu.direct_dial
        if (
            direct_dial is not None
            and len(digits) == direct_dial.digits
            and set(digits) <= EXTENSION_DIGITS
        ):
            self._state = State.FINISHED
            actions += [
                OptionChosen(menu.name, digits, f"direct dial {digits}"),
                Transfer(digits, direct_dial.prompt),
            ]
            return actions
        option = menu.options.get(digits)
        if option is None:
            return actions + self._failure(digits)
        return [*actions, OptionChosen(menu.name, digits, str(option)), *self._run(option)]

    def _failure(self, digits: str | None) -> list[Action]:
        """Invalid input (``digits``) or no input at all (``None``)."""
        menu = self._menu
        self._retries += 1
        note: Action
        if digits is None:
            note, prompt = InputTimeout(menu.name, self._retries), menu.timeout_prompt
        else:
            note, prompt = InvalidInput(menu.name, digits, self._retries), menu.invalid_prompt
        if self._retries > menu.max_retries:
            return [note, Exhausted(menu.name), *self._run(menu.on_exhausted)]
        return [note, *self._play((prompt, *menu.prompts))]

    def _run(self, action: MenuAction) -> list[Action]:  # noqa: PLR0911 - one per action kind
        match action:
            case GotoMenu(menu=name):
                return self._enter(name)
            case GoBack():
                if self._menu.parent is None:  # IvrDefinition rejects 'back' without a parent
                    raise IvrError(f"menu {self._menu.name!r} has no parent")
                return self._enter(self._menu.parent)
            case RepeatMenu():
                return self._play(self._menu.prompts)
            case PlayAndReturn(prompts=prompts):
                return self._play(prompts + self._menu.prompts)
            case TransferCall(extension=extension, prompt=prompt):
                self._state = State.FINISHED
                return [Transfer(extension, prompt)]
            case QueueCall(queue=queue, prompt=prompt):
                self._state = State.FINISHED
                return [Enqueue(queue, prompt)]
            case HangupCall(prompt=prompt):
                self._state = State.FINISHED
                return [Hangup(prompt)]
            case _:
                assert_never(action)


_Handler = Callable[[IvrSession, Any], list[Action]]
_ALWAYS: dict[type[Any], _Handler] = {HungUp: IvrSession._hung_up}

# The transition table: the only place that says which input each state accepts.
_TRANSITIONS: dict[State, dict[type[Any], _Handler]] = {
    State.IDLE: _ALWAYS,
    State.PROMPTING: {
        **_ALWAYS,
        Digit: IvrSession._barge_in,
        PromptDone: IvrSession._prompt_done,
        TimerFired: IvrSession._ignore,  # no timer runs while prompting: always stale
    },
    State.WAITING: {
        **_ALWAYS,
        Digit: IvrSession._key_while_waiting,
        PromptDone: IvrSession._ignore,  # the playback ended already: always stale
        TimerFired: IvrSession._no_input,
    },
    State.COLLECTING: {
        **_ALWAYS,
        Digit: IvrSession._next_key,
        PromptDone: IvrSession._ignore,
        TimerFired: IvrSession._input_ended,
    },
    State.FINISHED: {HungUp: IvrSession._ignore},
}
