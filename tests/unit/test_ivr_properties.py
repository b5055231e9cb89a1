"""Properties of the engine under any sequence of inputs, driven with the shipped ivr/main.toml.

The test plays the call task: it tracks which playback and timer it was told to run, and checks
after every step that the engine's commands make sense against that bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from stasis_app.errors import IllegalTransition
from stasis_app.ivr import (
    Action,
    CancelTimer,
    Digit,
    DigitsCollected,
    Enqueue,
    Hangup,
    HungUp,
    Input,
    InputTimeout,
    InvalidInput,
    IvrSession,
    OptionChosen,
    Play,
    PromptDone,
    StartTimer,
    State,
    StopPlayback,
    TimerFired,
    Transfer,
    load,
)

DEFINITION = load(Path(__file__).resolve().parents[2] / "ivr" / "main.toml")

# A step names a token symbolically so that most reports hit the current playback or timer.
Step = tuple[str, str | int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("digit"), st.sampled_from("0123456789*#ABCD")),
        st.tuples(st.sampled_from(["prompt", "timer"]), st.just("current")),
        st.tuples(st.sampled_from(["prompt", "timer"]), st.integers(0, 30)),
        st.tuples(st.just("hangup"), st.just(0)),
    ),
    max_size=60,
)


@dataclass
class CallTask:
    """What a call task would have running, updated from the commands it receives."""

    playing: int | None = None
    timer: int | None = None
    last_token: int = 0
    finals: int = 0
    hung_up: bool = False
    seen: list[Action] = field(default_factory=list)

    def to_input(self, step: Step) -> Input:
        kind, arg = step
        if kind == "digit":
            return Digit(str(arg))
        if kind == "hangup":
            return HungUp()
        current = self.playing if kind == "prompt" else self.timer
        token = (current or self.last_token) if arg == "current" else int(arg)
        return PromptDone(token) if kind == "prompt" else TimerFired(token)

    def report(self, event: Input) -> None:
        """The call task's own side of an input: what ended is no longer running."""
        if isinstance(event, PromptDone) and event.token == self.playing:
            self.playing = None
        if isinstance(event, TimerFired) and event.token == self.timer:
            self.timer = None
        if isinstance(event, HungUp):
            self.hung_up = True

    def perform(self, action: Action) -> None:
        self.seen.append(action)
        match action:
            case Play(prompts=prompts, language=language, token=token):
                assert self.playing is None, "two playbacks at once"
                assert self.timer is None, "a timer runs during prompts"
                assert prompts, "empty Play"
                assert language == "ko"
                assert token > self.last_token, "tokens must be fresh"
                self.playing = self.last_token = token
            case StartTimer(seconds=seconds, token=token):
                assert self.timer is None, "two timers at once"
                assert self.playing is None, "a timer started during prompts"
                assert seconds > 0
                assert token > self.last_token, "tokens must be fresh"
                self.timer = self.last_token = token
            case StopPlayback(token=token):
                assert token == self.playing, "stopping something that is not playing"
                self.playing = None
            case CancelTimer(token=token):
                assert token == self.timer, "cancelling something that is not running"
                self.timer = None
            case Transfer() | Enqueue() | Hangup():
                self.finals += 1
                assert self.playing is None, "final action while a prompt plays"
                assert self.timer is None, "final action with a timer left running"
            case InvalidInput(retry=retry) | InputTimeout(retry=retry):
                assert 1 <= retry <= DEFINITION.menus["main"].max_retries + 1
            case _:
                pass


@settings(max_examples=400, deadline=None)
@given(steps)
def test_any_input_sequence_keeps_the_engine_consistent(script: list[Step]) -> None:
    """For any inputs: only IllegalTransition-after-FINISHED is raised, at most one final action
    is emitted, the state always matches what is running (PROMPTING = a playback, WAITING or
    COLLECTING = a timer, nothing otherwise), and every completed input gets one meaning."""
    session = IvrSession(DEFINITION)
    task = CallTask()
    for action in session.start():
        task.perform(action)
    for step in script:
        event = task.to_input(step)
        was = session.state
        try:
            actions = session.handle(event)
        except IllegalTransition:
            assert was is State.FINISHED
            assert not isinstance(event, HungUp)
            continue
        task.report(event)
        for action in actions:
            task.perform(action)
        collected = sum(isinstance(a, DigitsCollected) for a in actions)
        meanings = sum(isinstance(a, OptionChosen | InvalidInput) for a in actions)
        assert collected == meanings
        assert task.finals <= 1
        state = session.state
        if task.finals or task.hung_up:
            assert state is State.FINISHED
        else:
            assert state is not State.FINISHED
            assert (state is State.PROMPTING) == (task.playing is not None)
            assert (state in (State.WAITING, State.COLLECTING)) == (task.timer is not None)
