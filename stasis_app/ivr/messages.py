"""What flows in and out of the IVR engine: inputs, commands and notes, all frozen dataclasses.

Inputs report what happened to the call. Commands are what the call task must do, in order.
Notes change nothing on the call: the call task records them as call events.
"""

from __future__ import annotations

from dataclasses import dataclass

_DTMF = frozenset("0123456789*#ABCD")


# -- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Digit:
    """The caller pressed a key (one DTMF character: 0-9, *, #, A-D)."""

    digit: str

    def __post_init__(self) -> None:
        if self.digit not in _DTMF or len(self.digit) != 1:
            raise ValueError(f"not a DTMF digit: {self.digit!r}")


@dataclass(frozen=True, slots=True)
class PromptDone:
    """The playback started by ``Play(token=token)`` finished (or was stopped)."""

    token: int


@dataclass(frozen=True, slots=True)
class TimerFired:
    """The timer started by ``StartTimer(token=token)`` expired."""

    token: int


@dataclass(frozen=True, slots=True)
class HungUp:
    """The caller hung up (or the channel went away)."""


Input = Digit | PromptDone | TimerFired | HungUp


# -- commands: the call task performs these ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    """Play ``prompts`` in order as one playback; report ``PromptDone(token)`` when it ends."""

    prompts: tuple[str, ...]
    language: str
    token: int


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Stop the playback started with ``token``. Its late ``PromptDone`` will be ignored."""

    token: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Report ``TimerFired(token)`` after ``seconds``, unless cancelled first."""

    seconds: float
    token: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Cancel the timer started with ``token``. Should it fire anyway, that is ignored."""

    token: int


@dataclass(frozen=True, slots=True)
class Transfer:
    """Final: play ``prompt`` if any (in the session's language), then transfer to ``extension``."""

    extension: str
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Final: play ``prompt`` if any (in the session's language), then put the caller in
    ``queue``. Waiting, agents and overflow are the queue's business, not the IVR's."""

    queue: str
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Hangup:
    """Final: play ``prompt`` if any (in the session's language), then hang up."""

    prompt: str | None = None


# -- notes: the call task records these as call events ---------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuEntered:
    menu: str


@dataclass(frozen=True, slots=True)
class DigitsCollected:
    """Input is complete (one key, or several for direct dial); its meaning follows."""

    menu: str
    digits: str


@dataclass(frozen=True, slots=True)
class OptionChosen:
    menu: str
    digits: str
    action: str  # human-readable, e.g. "transfer to 1000", "direct dial 1234"


@dataclass(frozen=True, slots=True)
class InvalidInput:
    menu: str
    digits: str
    retry: int  # 1 for the first failure in this visit of the menu


@dataclass(frozen=True, slots=True)
class InputTimeout:
    menu: str
    retry: int


@dataclass(frozen=True, slots=True)
class Exhausted:
    """The menu's retries are used up; on_exhausted runs next."""

    menu: str


@dataclass(frozen=True, slots=True)
class Closed:
    """``menu`` was not entered: its ``hours`` were closed when the call arrived. Its ``closed``
    action follows (a final command, or another menu)."""

    menu: str
    hours: str


Command = Play | StopPlayback | StartTimer | CancelTimer | Transfer | Enqueue | Hangup
Note = (
    MenuEntered | DigitsCollected | OptionChosen | InvalidInput | InputTimeout | Exhausted | Closed
)
Action = Command | Note
