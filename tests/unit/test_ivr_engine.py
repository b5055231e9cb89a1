"""The sans-I/O IVR engine, as a specification: given these inputs, exactly these actions.

Tokens are deterministic (1, 2, 3 ... in the order Play/StartTimer are emitted), so every table row
spells out the exact actions. The fixture IVR below is small but has every kind of option.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from stasis_app.errors import IllegalTransition, IvrDefinitionError
from stasis_app.ivr import (
    Action,
    CancelTimer,
    Closed,
    Digit,
    DigitsCollected,
    DirectDial,
    Enqueue,
    Exhausted,
    GoBack,
    GotoMenu,
    Hangup,
    HangupCall,
    Hours,
    HungUp,
    Input,
    InputTimeout,
    InvalidInput,
    IvrDefinition,
    IvrSession,
    Menu,
    MenuAction,
    MenuEntered,
    OptionChosen,
    Play,
    PlayAndReturn,
    PromptDone,
    QueueCall,
    RepeatMenu,
    StartTimer,
    State,
    StopPlayback,
    TimerFired,
    Transfer,
    TransferCall,
)

MAIN = Menu(
    "main",
    greeting=("welcome",),
    prompts=("main-menu",),
    options={
        "1": TransferCall("1000", "transferring"),
        "2": GotoMenu("sub"),
        "3": PlayAndReturn(("echo-test",)),
        "9": RepeatMenu(),
        "*": HangupCall("goodbye"),
    },
    timeout=5.0,
    max_retries=2,
    direct_dial=DirectDial(digits=4, inter_digit_timeout=3.0, prompt="transferring"),
)
# No direct dial here: every key acts at once. Exhaustion goes back rather than hanging up.
SUB = Menu(
    "sub",
    prompts=("sub-menu",),
    options={"1": TransferCall("2000"), "#": GoBack(), "8": GotoMenu("main")},
    timeout=4.0,
    max_retries=1,
    on_exhausted=GoBack(),
    parent="main",
)
DEFINITION = IvrDefinition("ko", "main", {"main": MAIN, "sub": SUB})

MENU_AGAIN = ("main-menu",)


def session_after(*inputs: Input) -> IvrSession:
    """A started session of DEFINITION that has been fed ``inputs``."""
    session = IvrSession(DEFINITION)
    session.start()
    for event in inputs:
        session.handle(event)
    return session


# Prefixes that lead to a known state, with the tokens they leave current.
PROMPTING: tuple[Input, ...] = ()  # playback 1
WAITING: tuple[Input, ...] = (PromptDone(1),)  # timer 2
COLLECTING_1: tuple[Input, ...] = (*WAITING, Digit("1"))  # timer 3, "1" is also an option
COLLECTING_12: tuple[Input, ...] = (*COLLECTING_1, Digit("2"))  # timer 4
IN_SUB: tuple[Input, ...] = (*COLLECTING_1[:-1], Digit("2"), Digit("#"))  # playback 4
WAITING_IN_SUB: tuple[Input, ...] = (*IN_SUB, PromptDone(4))  # timer 5


def test_start_enters_the_start_menu_with_greeting_and_prompts() -> None:
    """start() announces the menu and plays its greeting followed by its prompts."""
    session = IvrSession(DEFINITION)
    assert session.start() == [MenuEntered("main"), Play(("welcome", "main-menu"), "ko", 1)]
    assert session.state is State.PROMPTING
    assert session.menu == "main"


def invalid(menu: str, digits: str, retry: int, token: int) -> list[Action]:
    return [
        DigitsCollected(menu, digits),
        InvalidInput(menu, digits, retry),
        Play(("invalid", *MENU_AGAIN), "ko", token),
    ]


def chosen(menu: str, digits: str, what: str) -> list[Action]:
    return [DigitsCollected(menu, digits), OptionChosen(menu, digits, what)]


TRANSITIONS = [
    # PROMPTING
    pytest.param(
        PROMPTING, PromptDone(1), [StartTimer(5.0, 2)], State.WAITING, id="prompt-done-starts-timer"
    ),
    pytest.param(PROMPTING, PromptDone(9), [], State.PROMPTING, id="prompting-stale-prompt-done"),
    pytest.param(PROMPTING, TimerFired(1), [], State.PROMPTING, id="prompting-timer-fired-ignored"),
    pytest.param(
        PROMPTING,
        Digit("*"),
        [StopPlayback(1), *chosen("main", "*", "hang up"), Hangup("goodbye")],
        State.FINISHED,
        id="barge-in-option-acts-at-once",
    ),
    pytest.param(
        PROMPTING,
        Digit("5"),
        [StopPlayback(1), StartTimer(3.0, 2)],
        State.COLLECTING,
        id="barge-in-digit-starts-direct-dial",
    ),
    pytest.param(
        PROMPTING,
        Digit("#"),
        [StopPlayback(1), *invalid("main", "#", 1, 2)],
        State.PROMPTING,
        id="barge-in-invalid-key",
    ),
    # WAITING
    pytest.param(WAITING, PromptDone(1), [], State.WAITING, id="waiting-stale-prompt-done"),
    pytest.param(WAITING, TimerFired(1), [], State.WAITING, id="waiting-stale-timer"),
    pytest.param(
        WAITING,
        Digit("*"),
        [CancelTimer(2), *chosen("main", "*", "hang up"), Hangup("goodbye")],
        State.FINISHED,
        id="option-that-cannot-start-an-extension-acts-at-once",
    ),
    pytest.param(
        WAITING,
        Digit("1"),
        [CancelTimer(2), StartTimer(3.0, 3)],
        State.COLLECTING,
        id="option-that-may-start-an-extension-waits",
    ),
    pytest.param(
        WAITING,
        Digit("5"),
        [CancelTimer(2), StartTimer(3.0, 3)],
        State.COLLECTING,
        id="non-option-digit-starts-direct-dial",
    ),
    pytest.param(
        WAITING,
        Digit("#"),
        [CancelTimer(2), *invalid("main", "#", 1, 3)],
        State.PROMPTING,
        id="key-neither-option-nor-digit-is-invalid",
    ),
    pytest.param(
        WAITING,
        Digit("D"),
        [CancelTimer(2), *invalid("main", "D", 1, 3)],
        State.PROMPTING,
        id="dtmf-letter-is-invalid",
    ),
    pytest.param(
        WAITING,
        TimerFired(2),
        [InputTimeout("main", 1), Play(("timeout", *MENU_AGAIN), "ko", 3)],
        State.PROMPTING,
        id="no-input-times-out",
    ),
    # COLLECTING (direct dial)
    pytest.param(
        COLLECTING_1,
        TimerFired(3),
        [*chosen("main", "1", "transfer to 1000"), Transfer("1000", "transferring")],
        State.FINISHED,
        id="inter-digit-timeout-takes-the-one-key-option",
    ),
    pytest.param(
        COLLECTING_1,
        Digit("#"),
        [
            CancelTimer(3),
            *chosen("main", "1", "transfer to 1000"),
            Transfer("1000", "transferring"),
        ],
        State.FINISHED,
        id="terminator-takes-the-one-key-option",
    ),
    pytest.param(
        COLLECTING_1,
        Digit("2"),
        [CancelTimer(3), StartTimer(3.0, 4)],
        State.COLLECTING,
        id="second-digit-keeps-collecting",
    ),
    pytest.param(
        (*COLLECTING_12, Digit("3")),
        Digit("4"),
        [
            CancelTimer(5),
            *chosen("main", "1234", "direct dial 1234"),
            Transfer("1234", "transferring"),
        ],
        State.FINISHED,
        id="full-extension-transfers-at-once",
    ),
    pytest.param(
        (*WAITING, Digit("5"), Digit("0"), Digit("0")),
        Digit("7"),
        [
            CancelTimer(5),
            *chosen("main", "5007", "direct dial 5007"),
            Transfer("5007", "transferring"),
        ],
        State.FINISHED,
        id="extension-starting-with-a-non-option-digit",
    ),
    pytest.param(
        COLLECTING_12,
        Digit("#"),
        [CancelTimer(4), *invalid("main", "12", 1, 5)],
        State.PROMPTING,
        id="terminator-with-incomplete-extension-is-invalid",
    ),
    pytest.param(
        COLLECTING_12,
        TimerFired(4),
        invalid("main", "12", 1, 5),
        State.PROMPTING,
        id="inter-digit-timeout-with-incomplete-extension-is-invalid",
    ),
    pytest.param(
        (*WAITING, Digit("5")),
        TimerFired(3),
        invalid("main", "5", 1, 4),
        State.PROMPTING,
        id="inter-digit-timeout-on-a-non-option-digit-is-invalid",
    ),
    pytest.param(
        COLLECTING_1,
        Digit("*"),
        [CancelTimer(3), *invalid("main", "1*", 1, 4)],
        State.PROMPTING,
        id="non-digit-while-collecting-is-invalid",
    ),
    pytest.param(COLLECTING_1, TimerFired(2), [], State.COLLECTING, id="collecting-stale-timer"),
    pytest.param(
        (Digit("1"),),
        PromptDone(1),
        [],
        State.COLLECTING,
        id="late-prompt-done-of-a-stopped-playback",
    ),
    # Option actions
    pytest.param(
        (*WAITING, Digit("2")),
        Digit("#"),
        [
            CancelTimer(3),
            *chosen("main", "2", "go to menu sub"),
            MenuEntered("sub"),
            Play(("sub-menu",), "ko", 4),
        ],
        State.PROMPTING,
        id="goto-enters-the-menu",
    ),
    pytest.param(
        WAITING_IN_SUB,
        Digit("#"),
        [
            CancelTimer(5),
            *chosen("sub", "#", "back to the parent menu"),
            MenuEntered("main"),
            Play(("welcome", "main-menu"), "ko", 6),
        ],
        State.PROMPTING,
        id="back-enters-the-parent",
    ),
    pytest.param(
        (*WAITING, Digit("9")),
        TimerFired(3),
        [*chosen("main", "9", "repeat the menu"), Play(MENU_AGAIN, "ko", 4)],
        State.PROMPTING,
        id="repeat-replays-prompts-without-greeting",
    ),
    pytest.param(
        (*WAITING, Digit("3")),
        Digit("#"),
        [
            CancelTimer(3),
            *chosen("main", "3", "play echo-test and return"),
            Play(("echo-test", *MENU_AGAIN), "ko", 4),
        ],
        State.PROMPTING,
        id="play-and-return",
    ),
    pytest.param(
        IN_SUB,
        Digit("1"),
        [StopPlayback(4), *chosen("sub", "1", "transfer to 2000"), Transfer("2000", None)],
        State.FINISHED,
        id="without-direct-dial-digits-act-at-once",
    ),
]


@pytest.mark.parametrize(("prefix", "event", "expected", "state"), TRANSITIONS)
def test_transition(
    prefix: tuple[Input, ...], event: Input, expected: list[Action], state: State
) -> None:
    """After ``prefix``, feeding ``event`` emits exactly ``expected`` and lands in ``state``."""
    session = session_after(*prefix)
    assert session.handle(event) == expected
    assert session.state is state


def test_invalid_input_retries_then_exhausts() -> None:
    """Each invalid key counts a retry and replays; the one beyond max_retries runs on_exhausted."""
    session = session_after(*WAITING)
    assert session.handle(Digit("#")) == [CancelTimer(2), *invalid("main", "#", 1, 3)]
    assert session.handle(Digit("#")) == [StopPlayback(3), *invalid("main", "#", 2, 4)]
    assert session.handle(Digit("#")) == [
        StopPlayback(4),
        DigitsCollected("main", "#"),
        InvalidInput("main", "#", 3),
        Exhausted("main"),
        Hangup("goodbye"),
    ]
    assert session.state is State.FINISHED


def test_timeouts_retry_then_exhaust() -> None:
    """Each silent wait counts a retry and replays with timeout_prompt; then on_exhausted runs."""
    session = session_after(*WAITING)
    assert session.handle(TimerFired(2)) == [
        InputTimeout("main", 1),
        Play(("timeout", *MENU_AGAIN), "ko", 3),
    ]
    assert session.handle(PromptDone(3)) == [StartTimer(5.0, 4)]
    assert session.handle(TimerFired(4)) == [
        InputTimeout("main", 2),
        Play(("timeout", *MENU_AGAIN), "ko", 5),
    ]
    session.handle(PromptDone(5))
    assert session.handle(TimerFired(6)) == [
        InputTimeout("main", 3),
        Exhausted("main"),
        Hangup("goodbye"),
    ]
    assert session.state is State.FINISHED


def test_invalid_input_and_timeouts_share_one_retry_count() -> None:
    """A timeout after an invalid key is the second failure, not the first."""
    session = session_after(*WAITING, Digit("#"), PromptDone(3))
    assert session.handle(TimerFired(4))[0] == InputTimeout("main", 2)


def test_exhaustion_can_go_back_to_the_parent() -> None:
    """on_exhausted = back enters the parent menu, which starts with fresh retries."""
    session = session_after(*WAITING_IN_SUB, TimerFired(5), PromptDone(6))
    assert session.handle(TimerFired(7)) == [
        InputTimeout("sub", 2),
        Exhausted("sub"),
        MenuEntered("main"),
        Play(("welcome", "main-menu"), "ko", 8),
    ]
    assert session.menu == "main"
    assert session.handle(Digit("#")) == [StopPlayback(8), *invalid("main", "#", 1, 9)]


def test_entering_a_menu_resets_its_retries() -> None:
    """Failures in an earlier visit of a menu do not count against the next visit."""
    session = session_after(*WAITING, Digit("#"), Digit("#"))  # two failures in main
    session.handle(Digit("2"))
    session.handle(Digit("#"))  # goto sub
    session.handle(Digit("8"))  # goto main again: playback 7
    assert session.handle(Digit("#")) == [StopPlayback(7), *invalid("main", "#", 1, 8)]


def test_repeat_is_not_a_retry_and_keeps_the_count() -> None:
    """Repeating the menu neither counts a failure nor forgives earlier ones."""
    session = session_after(*WAITING, Digit("#"))  # failure 1, playback 3
    for _ in range(5):
        session.handle(Digit("9"))
        session.handle(Digit("#"))  # terminator: take option 9 now
    assert session.state is State.PROMPTING
    actions = session.handle(Digit("#"))
    assert InvalidInput("main", "#", 2) in actions
    assert session.state is State.PROMPTING


def test_every_digitscollected_is_followed_by_one_meaning() -> None:
    """Each completed input is recorded, then exactly one OptionChosen or InvalidInput."""
    actions = session_after(*COLLECTING_12).handle(Digit("#"))
    assert [type(a) for a in actions[:3]] == [CancelTimer, DigitsCollected, InvalidInput]


STATES = [
    pytest.param(None, id="idle"),
    pytest.param(PROMPTING, id="prompting"),
    pytest.param(WAITING, id="waiting"),
    pytest.param(COLLECTING_1, id="collecting"),
    pytest.param((*WAITING, Digit("*")), id="finished"),
]


@pytest.mark.parametrize("prefix", STATES)
def test_hangup_in_any_state_finishes_silently(prefix: tuple[Input, ...] | None) -> None:
    """HungUp is accepted in every state, emits nothing, and leaves the session FINISHED."""
    session = IvrSession(DEFINITION) if prefix is None else session_after(*prefix)
    assert session.handle(HungUp()) == []
    assert session.state is State.FINISHED
    assert session.handle(HungUp()) == []


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(Digit("1"), id="digit"),
        pytest.param(PromptDone(1), id="prompt-done"),
        pytest.param(TimerFired(2), id="timer-fired"),
    ],
)
@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param((*WAITING, Digit("*")), id="after-hangup-option"),
        pytest.param((*COLLECTING_1, TimerFired(3)), id="after-transfer"),
        pytest.param((HungUp(),), id="after-caller-hung-up"),
    ],
)
def test_input_after_finish_is_illegal(prefix: tuple[Input, ...], event: Input) -> None:
    """Once FINISHED, anything but HungUp raises IllegalTransition naming state and input."""
    session = session_after(*prefix)
    with pytest.raises(IllegalTransition) as caught:
        session.handle(event)
    assert caught.value.state == "FINISHED"
    assert caught.value.event == event


def test_input_before_start_is_illegal() -> None:
    """A session must be started before it accepts keys or playback/timer reports."""
    with pytest.raises(IllegalTransition, match="IDLE"):
        IvrSession(DEFINITION).handle(Digit("1"))


def test_start_twice_is_illegal() -> None:
    """start() is accepted once."""
    session = session_after()
    with pytest.raises(IllegalTransition, match="PROMPTING"):
        session.start()


def test_a_menu_without_prompts_waits_at_once() -> None:
    """With nothing to play, entering a menu starts the first-key timer straight away."""
    silent = Menu("main", prompts=(), options={"1": TransferCall("1000")}, timeout=2.0)
    session = IvrSession(IvrDefinition("en", "main", {"main": silent}))
    assert session.start() == [MenuEntered("main"), StartTimer(2.0, 1)]
    assert session.state is State.WAITING


def test_definition_with_dangling_references_is_rejected() -> None:
    """An IvrDefinition cannot be built with a goto or back that leads nowhere."""
    bad = Menu("main", prompts=("x",), options={"1": GotoMenu("nowhere"), "2": GoBack()})
    with pytest.raises(IvrDefinitionError) as caught:
        IvrDefinition("ko", "main", {"main": bad})
    assert [str(p) for p in caught.value.problems] == [
        "menus.main.options.1: unknown menu 'nowhere'",
        "menus.main.options.2: 'back' needs a parent menu, and menu 'main' has none "
        "(set menus.main.parent)",
    ]


@pytest.mark.parametrize("key", ["", "12", "x", "E"])
def test_digit_must_be_one_dtmf_key(key: str) -> None:
    """Digit accepts exactly one DTMF character; anything else is a programming error."""
    with pytest.raises(ValueError, match="not a DTMF digit"):
        Digit(key)


# -- queues ------------------------------------------------------------------------------------

QUEUE_MENU = Menu(
    "main",
    prompts=("main-menu",),
    options={"1": QueueCall("sales", "transferring"), "2": QueueCall("support")},
    max_retries=0,
    on_exhausted=QueueCall("support", "transferring"),
)


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        pytest.param(
            (Digit("1"),),
            [
                StopPlayback(1),
                *chosen("main", "1", "queue sales"),
                Enqueue("sales", "transferring"),
            ],
            id="option-with-prompt",
        ),
        pytest.param(
            (PromptDone(1), Digit("2")),
            [CancelTimer(2), *chosen("main", "2", "queue support"), Enqueue("support")],
            id="option-without-prompt",
        ),
        pytest.param(
            (PromptDone(1), TimerFired(2)),
            [InputTimeout("main", 1), Exhausted("main"), Enqueue("support", "transferring")],
            id="on-exhausted",
        ),
    ],
)
def test_queue_action_ends_the_session_like_a_transfer(
    inputs: tuple[Input, ...], expected: list[Action]
) -> None:
    """A queue action emits Enqueue last, with nothing playing or timed, and the session ends."""
    session = IvrSession(IvrDefinition("ko", "main", {"main": QUEUE_MENU}))
    session.start()
    for event in inputs[:-1]:
        session.handle(event)
    assert session.handle(inputs[-1]) == expected
    assert session.state is State.FINISHED


# -- business hours ----------------------------------------------------------------------------

SEOUL = ZoneInfo("Asia/Seoul")
WEEKDAYS = Hours("office", SEOUL, weekly=dict.fromkeys(range(5), ((9 * 60, 18 * 60),)))
MORNINGS = Hours("desk", SEOUL, weekly=dict.fromkeys(range(7), ((9 * 60, 12 * 60),)))
HOURS = {"office": WEEKDAYS, "desk": MORNINGS}
MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=SEOUL)  # both open
MONDAY_15 = datetime(2026, 12, 21, 15, 0, tzinfo=SEOUL)  # office open, desk closed
MONDAY_20 = datetime(2026, 12, 21, 20, 0, tzinfo=SEOUL)  # both closed
# 11:00 UTC on Monday is 20:00 in Seoul: the moment is read in the table's zone.
MONDAY_20_AS_UTC = datetime(2026, 12, 21, 11, 0, tzinfo=ZoneInfo("UTC"))

NIGHT = Menu("night", prompts=("night-menu",), options={"1": QueueCall("support")})


def office_ivr(closed: MenuAction | None = None) -> IvrDefinition:
    """main keeps office hours; night is where a closed goto leads (else option 8 does)."""
    main = Menu(
        "main",
        greeting=("welcome",),
        prompts=("main-menu",),
        options={"1": QueueCall("sales"), "8": GotoMenu("night")},
        hours="office",
        closed=HangupCall("closed") if closed is None else closed,
    )
    return IvrDefinition("ko", "main", {"main": main, "night": NIGHT}, hours=HOURS)


OPEN_MAIN = [MenuEntered("main"), Play(("welcome", "main-menu"), "ko", 1)]

ARRIVALS = [
    pytest.param(office_ivr(), MONDAY_10, OPEN_MAIN, State.PROMPTING, id="open"),
    pytest.param(office_ivr(), None, OPEN_MAIN, State.PROMPTING, id="no-time-counts-as-open"),
    pytest.param(
        office_ivr(),
        MONDAY_20,
        [Closed("main", "office"), Hangup("closed")],
        State.FINISHED,
        id="closed-default-hangs-up",
    ),
    pytest.param(
        office_ivr(),
        MONDAY_20_AS_UTC,
        [Closed("main", "office"), Hangup("closed")],
        State.FINISHED,
        id="closed-read-in-the-hours-zone",
    ),
    pytest.param(
        office_ivr(GotoMenu("night")),
        MONDAY_20,
        [Closed("main", "office"), MenuEntered("night"), Play(("night-menu",), "ko", 1)],
        State.PROMPTING,
        id="closed-goes-to-another-menu",
    ),
    pytest.param(
        office_ivr(TransferCall("2000", "transferring")),
        MONDAY_20,
        [Closed("main", "office"), Transfer("2000", "transferring")],
        State.FINISHED,
        id="closed-transfers",
    ),
    pytest.param(
        office_ivr(QueueCall("support", "closed")),
        MONDAY_20,
        [Closed("main", "office"), Enqueue("support", "closed")],
        State.FINISHED,
        id="closed-queues",
    ),
]


@pytest.mark.parametrize(("definition", "now", "actions", "state"), ARRIVALS)
def test_start_menu_checks_hours_at_arrival(
    definition: IvrDefinition, now: datetime | None, actions: list[Action], state: State
) -> None:
    """Arriving while the start menu's hours are closed plays nothing of it: Closed, then the
    closed action. Without a time of arrival every menu counts as open."""
    session = IvrSession(definition, now)
    assert session.start() == actions
    assert session.state is state


# lobby (no hours) leads to desk (mornings; closed: transfer to 2000) and to sub (parent: desk).
LOBBY = Menu(
    "lobby", prompts=("lobby-menu",), options={"2": GotoMenu("desk"), "3": GotoMenu("sub")}
)
DESK = Menu(
    "desk",
    prompts=("desk-menu",),
    options={"1": TransferCall("1000")},
    hours="desk",
    closed=TransferCall("2000"),
)
SUB = Menu("sub", prompts=("sub-menu",), options={"#": GoBack()}, parent="desk")
DESK_IVR = IvrDefinition("ko", "lobby", {"lobby": LOBBY, "desk": DESK, "sub": SUB}, hours=HOURS)


@pytest.mark.parametrize(
    ("now", "inputs", "expected"),
    [
        pytest.param(
            MONDAY_10,
            (Digit("2"),),
            [
                StopPlayback(1),
                *chosen("lobby", "2", "go to menu desk"),
                MenuEntered("desk"),
                Play(("desk-menu",), "ko", 2),
            ],
            id="goto-open-menu",
        ),
        pytest.param(
            MONDAY_15,
            (Digit("2"),),
            [
                StopPlayback(1),
                *chosen("lobby", "2", "go to menu desk"),
                Closed("desk", "desk"),
                Transfer("2000"),
            ],
            id="goto-closed-menu",
        ),
        pytest.param(
            MONDAY_15,
            (Digit("3"), Digit("#")),
            [
                StopPlayback(2),
                *chosen("sub", "#", "back to the parent menu"),
                Closed("desk", "desk"),
                Transfer("2000"),
            ],
            id="back-to-closed-parent",
        ),
    ],
)
def test_entering_a_menu_checks_its_hours(
    now: datetime, inputs: tuple[Input, ...], expected: list[Action]
) -> None:
    """goto and back into a menu check its hours too, against the same time of arrival."""
    session = IvrSession(DESK_IVR, now)
    session.start()
    for event in inputs[:-1]:
        session.handle(event)
    assert session.handle(inputs[-1]) == expected


def test_hours_are_judged_at_arrival_not_later() -> None:
    """A caller who arrived at 11:59:59 still enters the morning-only desk after timing out in
    the lobby: the session has no clock, only the time the call arrived."""
    session = IvrSession(DESK_IVR, datetime(2026, 12, 21, 11, 59, 59, tzinfo=SEOUL))
    session.start()
    session.handle(PromptDone(1))
    session.handle(TimerFired(2))  # seconds pass: a timeout, and the lobby plays again
    assert session.handle(Digit("2"))[-2:] == [MenuEntered("desk"), Play(("desk-menu",), "ko", 4)]


def test_time_of_arrival_must_be_timezone_aware() -> None:
    """A naive datetime could be read in any zone; refusing it is safer than guessing."""
    with pytest.raises(ValueError, match="timezone-aware"):
        IvrSession(DESK_IVR, datetime(2026, 12, 21, 10, 0))


@pytest.mark.parametrize(
    ("menus", "expected"),
    [
        pytest.param(
            {"main": Menu("main", ("x",), {"1": HangupCall()}, hours="ofice")},
            ["menus.main.hours: unknown hours 'ofice' (did you mean 'office'?)"],
            id="unknown-hours",
        ),
        pytest.param(
            {"main": Menu("main", ("x",), {"1": HangupCall()}, hours="office", closed=GoBack())},
            [
                "menus.main.closed: must end the call or go to another menu: use hangup, "
                "transfer, queue or goto (not repeat, play or back: the caller never entered "
                "this menu)"
            ],
            id="closed-goes-back",
        ),
        pytest.param(
            {
                "main": Menu(
                    "main", ("x",), {"1": HangupCall()}, hours="office", closed=GotoMenu("main")
                )
            },
            ["menus.main.closed: a caller arriving out of hours would loop forever: main -> main"],
            id="closed-loop",
        ),
    ],
)
def test_definition_with_bad_hours_references_is_rejected(
    menus: dict[str, Menu], expected: list[str]
) -> None:
    """An IvrDefinition built in code gets the loader's checks of hours and closed actions."""
    with pytest.raises(IvrDefinitionError) as caught:
        IvrDefinition("ko", "main", menus, hours=HOURS)
    assert [str(p) for p in caught.value.problems] == expected
