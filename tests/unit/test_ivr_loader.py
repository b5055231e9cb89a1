"""The IVR loader: the shipped file loads, and every mistake is reported with its exact path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from stasis_app.errors import IvrDefinitionError
from stasis_app.ivr import (
    DirectDial,
    GoBack,
    GotoMenu,
    HangupCall,
    IvrDefinition,
    MenuAction,
    PlayAndReturn,
    QueueCall,
    RepeatMenu,
    TransferCall,
    load,
    parse,
    sound_files,
)

SHIPPED = Path(__file__).resolve().parents[2] / "ivr" / "main.toml"
SHIPPED_QUEUES = SHIPPED.with_name("queues.toml")
AVAILABLE_PROMPTS = frozenset(
    (
        "closed",
        "welcome",
        "main-menu",
        "invalid",
        "timeout",
        "goodbye",
        "transferring",
        "unavailable",
        "busy",
        "no-answer",
        "unknown-extension",
        "service-unavailable",
        "echo-test",
    )
)

HEADER = """
start = "main"
[menus.main]
prompts = ["main-menu"]
"""


def problems(text: str, queues: tuple[str, ...] | None = None) -> list[str]:
    """Every problem parse() reports for ``text``, as 'path: message' lines."""
    with pytest.raises(IvrDefinitionError) as caught:
        parse(tomllib.loads(text), "test.toml", queues=queues)
    assert caught.value.source == "test.toml"
    return [str(p) for p in caught.value.problems]


def build(text: str) -> IvrDefinition:
    return parse(tomllib.loads(text), "test.toml")


def test_shipped_ivr_loads_with_every_prompt_available() -> None:
    """ivr/main.toml is valid and plays only prompts that have sound files."""
    asked: set[tuple[str, str]] = set()

    def exists(language: str, prompt: str) -> bool:
        asked.add((language, prompt))
        return prompt in AVAILABLE_PROMPTS

    definition = load(SHIPPED, prompt_exists=exists, queues=("sales", "support"))
    assert {language for language, _ in asked} == {"ko"}
    assert {prompt for _, prompt in asked} == {
        "closed",
        "welcome",
        "main-menu",
        "invalid",
        "timeout",
        "goodbye",
        "transferring",
        "echo-test",
    }
    assert definition.source == str(SHIPPED)


def test_shipped_ivr_queues_exist_in_the_shipped_queues_file() -> None:
    """Every queue the shipped IVR sends callers to is defined in ivr/queues.toml beside it."""
    defined = tomllib.loads(SHIPPED_QUEUES.read_text(encoding="utf-8"))["queues"]
    load(SHIPPED, queues=tuple(defined))


def test_shipped_ivr_has_the_documented_menu() -> None:
    """Extension 500: 1 sales queue, 2 support queue, 3 echo test, 9 repeat, 0 operator, 4-digit
    direct dial; office hours around the clock, with the closed prompt ready for real ones."""
    definition = load(SHIPPED)
    assert definition.language == "ko"
    main = definition.menus[definition.start]
    assert main.greeting + main.prompts == ("welcome", "main-menu")
    assert (main.hours, main.closed) == ("office", HangupCall("closed"))
    office = definition.hours["office"]
    assert office.timezone.key == "Asia/Seoul"
    assert office.weekly == dict.fromkeys(range(7), ((0, 24 * 60),))
    assert main.options == {
        "1": QueueCall("sales", "transferring"),
        "2": QueueCall("support", "transferring"),
        "3": TransferCall("7777", "echo-test"),
        "9": RepeatMenu(),
        "0": TransferCall("1000", "transferring"),
    }
    assert main.direct_dial == DirectDial(4, 3.0, "#", "transferring")
    assert main.max_retries == 3
    assert main.on_exhausted == HangupCall("goodbye")


def test_defaults_fill_a_minimal_menu() -> None:
    """Omitted keys take their documented defaults; language defaults to Korean."""
    menu = build(HEADER + '[menus.main.options]\n"1" = { transfer = "1000" }\n').menus["main"]
    assert build(HEADER + 'options = { "1" = "hangup" }').language == "ko"
    assert (menu.timeout, menu.max_retries) == (5.0, 3)
    assert (menu.invalid_prompt, menu.timeout_prompt) == ("invalid", "timeout")
    assert menu.on_exhausted == HangupCall("goodbye")
    assert (menu.greeting, menu.parent, menu.direct_dial) == ((), None, None)
    assert (menu.hours, menu.closed) == (None, HangupCall("closed"))


@pytest.mark.parametrize(
    ("toml", "action"),
    [
        pytest.param('"repeat"', RepeatMenu(), id="repeat"),
        pytest.param('"hangup"', HangupCall(), id="hangup-silently"),
        pytest.param('{ hangup = "goodbye" }', HangupCall("goodbye"), id="hangup-with-prompt"),
        pytest.param('{ transfer = "1000" }', TransferCall("1000"), id="transfer"),
        pytest.param(
            '{ transfer = "1000", prompt = "transferring" }',
            TransferCall("1000", "transferring"),
            id="transfer-with-prompt",
        ),
        pytest.param('{ play = "busy" }', PlayAndReturn(("busy",)), id="play-one"),
        pytest.param(
            '{ play = ["busy", "goodbye"] }', PlayAndReturn(("busy", "goodbye")), id="play-many"
        ),
        pytest.param('{ goto = "main" }', GotoMenu("main"), id="goto"),
        pytest.param('{ queue = "sales" }', QueueCall("sales"), id="queue"),
        pytest.param(
            '{ queue = "sales", prompt = "transferring" }',
            QueueCall("sales", "transferring"),
            id="queue-with-prompt",
        ),
    ],
)
def test_action_forms(toml: str, action: MenuAction) -> None:
    """Each way of writing an option builds the matching action."""
    definition = build(HEADER + f'[menus.main.options]\n"5" = {toml}\n')
    assert definition.menus["main"].options["5"] == action


def test_back_goes_to_the_declared_parent() -> None:
    """'back' is valid in a menu that names its parent."""
    definition = build(
        HEADER
        + 'options = { "1" = { goto = "sub" } }\n'
        + '[menus.sub]\nprompts = ["busy"]\nparent = "main"\noptions = { "#" = "back" }\n'
    )
    assert definition.menus["sub"].options["#"] == GoBack()


SALES = '[menus.sales]\nprompts = ["busy"]\noptions = { "1" = { transfer = "1000" } }\n'
OFFICE = '[hours.office]\ntimezone = "Asia/Seoul"\nmonday = "09:00-18:00"\n'

BAD = [
    pytest.param(
        HEADER + 'options = { "1" = { goto = "sales" }, "3" = { goto = "salse" } }\n' + SALES,
        "menus.main.options.3: unknown menu 'salse' (did you mean 'sales'?)",
        id="unknown-goto",
    ),
    pytest.param(
        HEADER + 'timeout = -1\noptions = { "1" = "hangup" }',
        "menus.main.timeout: must be a positive number, got -1",
        id="negative-timeout",
    ),
    pytest.param(
        HEADER + 'timeout = "5"\noptions = { "1" = "hangup" }',
        "menus.main.timeout: must be a positive number of seconds, got string '5'",
        id="timeout-not-a-number",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { goto = "sales" } }\n'
        '[menus.sales]\npromts = ["busy"]\noptions = { "1" = "hangup" }',
        "menus.sales: unknown key 'promts' (did you mean 'prompts'?)",
        id="misspelt-menu-key",
    ),
    pytest.param(
        HEADER.replace('"main"', '"mian"', 1) + 'options = { "1" = "hangup" }',
        "start: unknown menu 'mian' (did you mean 'main'?)",
        id="unknown-start",
    ),
    pytest.param(
        HEADER + 'options = { "12" = "hangup", "1" = "hangup" }',
        "menus.main.options.12: option keys are single digits 0-9, * or #",
        id="two-digit-option-key",
    ),
    pytest.param(
        HEADER + 'options = { "9" = "back" }',
        "menus.main.options.9: 'back' needs a parent menu, and menu 'main' has none "
        "(set menus.main.parent)",
        id="back-without-parent",
    ),
    pytest.param(
        HEADER + 'options = { "1" = "hangup" }\n' + SALES,
        "menus.sales: unreachable: no option, on_exhausted or closed action leads here from the "
        "start menu 'main'",
        id="unreachable-menu",
    ),
    pytest.param(
        HEADER + 'max_retries = 2.5\noptions = { "1" = "hangup" }',
        "menus.main.max_retries: must be a whole number, got number 2.5",
        id="fractional-retries",
    ),
    pytest.param(
        HEADER + 'max_retries = -1\noptions = { "1" = "hangup" }',
        "menus.main.max_retries: must be between 0 and 20, got -1",
        id="negative-retries",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { transfer = 1000 } }',
        'menus.main.options.1.transfer: must be a string: write "1000" (quoted) rather than 1000',
        id="unquoted-extension",
    ),
    pytest.param(
        HEADER + 'options = { "9" = "repat" }',
        "menus.main.options.9: unknown action 'repat' (did you mean 'repeat'?): use \"repeat\", "
        '"back", "hangup" or a table such as { transfer = "1000" }',
        id="misspelt-action-word",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { goto = "main", transfer = "1000" } }',
        "menus.main.options.1: an action needs exactly one of goto, transfer, queue, play, "
        "hangup; got goto and transfer",
        id="two-verbs",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { prompt = "busy" } }',
        "menus.main.options.1: an action needs exactly one of goto, transfer, queue, play, "
        "hangup; got none",
        id="no-verb",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { transfer = "1000", promt = "transferring" } }',
        "menus.main.options.1: unknown key 'promt' (did you mean 'prompt'?)",
        id="misspelt-action-key",
    ),
    pytest.param(
        HEADER + 'options = { "3" = { play = [] } }',
        "menus.main.options.3.play: must name at least one prompt",
        id="empty-play",
    ),
    pytest.param(
        HEADER + 'on_exhausted = "repeat"\noptions = { "1" = "hangup" }',
        "menus.main.on_exhausted: must end the menu: use hangup, transfer, queue, goto or back "
        "(repeat/play would keep a silent caller forever)",
        id="exhausted-repeats",
    ),
    pytest.param(
        HEADER + 'on_exhausted = { goto = "other" }\noptions = { "1" = { goto = "other" } }\n'
        '[menus.other]\nprompts = ["busy"]\non_exhausted = { goto = "main" }\n'
        'options = { "1" = "hangup" }',
        "menus.main.on_exhausted: a caller who never presses a key would loop forever: "
        "main -> other -> main",
        id="exhaustion-loop",
    ),
    pytest.param(
        HEADER + "direct_dial = { digits = 1 }",
        "menus.main.direct_dial.digits: must be between 2 and 15, got 1",
        id="one-digit-direct-dial",
    ),
    pytest.param(
        HEADER + 'direct_dial = { terminator = "0" }',
        'menus.main.direct_dial.terminator: must be "#" or "*", got string \'0\'',
        id="digit-terminator",
    ),
    pytest.param(
        HEADER + "direct_dial = { digits = 4, timeout = 3 }",
        "menus.main.direct_dial: unknown key 'timeout' (did you mean 'inter_digit_timeout'?)",
        id="misspelt-direct-dial-key",
    ),
    pytest.param(
        HEADER,
        "menus.main: has no options and no direct_dial, so a caller can only time out",
        id="nothing-to-press",
    ),
    pytest.param(
        HEADER + 'parent = "top"\noptions = { "1" = "hangup" }',
        "menus.main.parent: unknown menu 'top'",
        id="unknown-parent",
    ),
    pytest.param(
        HEADER.replace('["main-menu"]', "[]") + 'options = { "1" = "hangup" }',
        "menus.main.prompts: must name at least one prompt",
        id="no-prompts",
    ),
    pytest.param(
        HEADER.replace('["main-menu"]', '["main menu"]') + 'options = { "1" = "hangup" }',
        "menus.main.prompts.0: prompt name 'main menu' may only use letters, digits, '-', '_' "
        "and '/'",
        id="prompt-with-space",
    ),
    pytest.param(
        HEADER.replace('prompts = ["main-menu"]', 'greeting = ["welcome"]')
        + 'options = { "1" = "hangup" }',
        "menus.main: missing required key 'prompts'",
        id="missing-prompts",
    ),
    pytest.param(
        'start = "main"\n[menus]\nmain = 3\n',
        "menus.main: must be a table ([menus.main]), got integer 3",
        id="menu-not-a-table",
    ),
    pytest.param(
        'language = "korean"\n' + HEADER + 'options = { "1" = "hangup" }',
        'language: must be a code such as "ko" or "en", got string \'korean\'',
        id="bad-language",
    ),
    pytest.param(
        'langauge = "ko"\n' + HEADER + 'options = { "1" = "hangup" }',
        "unknown top-level key 'langauge' (did you mean 'language'?)",
        id="misspelt-top-level-key",
    ),
    pytest.param(
        '[menus.main]\nprompts = ["x"]\noptions = { "1" = "hangup" }',
        'start: is required: name the first menu, e.g. start = "main"',
        id="missing-start",
    ),
    pytest.param(
        'start = "main"\n',
        "menus: at least one menu is required, e.g. [menus.main]",
        id="no-menus",
    ),
    # queue actions (names are checked against known queues in test_queue_names_...)
    pytest.param(
        HEADER + 'options = { "1" = { queue = 3 } }',
        "menus.main.options.1.queue: must be a queue name (a string), got integer 3",
        id="queue-not-a-string",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { queue = "sales desk" } }',
        "menus.main.options.1.queue: queue name 'sales desk' may only use letters, digits, '-' "
        "and '_'",
        id="queue-name-with-space",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { queue = "sales", promt = "transferring" } }',
        "menus.main.options.1: unknown key 'promt' (did you mean 'prompt'?)",
        id="misspelt-queue-key",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { queue = "sales", transfer = "1000" } }',
        "menus.main.options.1: an action needs exactly one of goto, transfer, queue, play, "
        "hangup; got transfer and queue",
        id="queue-and-transfer",
    ),
    # a menu's hours and closed action
    pytest.param(
        HEADER + 'hours = "ofice"\noptions = { "1" = "hangup" }\n' + OFFICE,
        "menus.main.hours: unknown hours 'ofice' (did you mean 'office'?)",
        id="unknown-hours",
    ),
    pytest.param(
        HEADER + 'hours = 9\noptions = { "1" = "hangup" }\n' + OFFICE,
        "menus.main.hours: must be an hours name (a string), got integer 9",
        id="hours-not-a-name",
    ),
    pytest.param(
        HEADER + 'hours = "office"\nclosed = "repeat"\noptions = { "1" = "hangup" }\n' + OFFICE,
        "menus.main.closed: must end the call or go to another menu: use hangup, transfer, "
        "queue or goto (not repeat, play or back: the caller never entered this menu)",
        id="closed-repeats",
    ),
    pytest.param(
        HEADER
        + 'hours = "office"\nclosed = { play = "busy" }\noptions = { "1" = "hangup" }\n'
        + OFFICE,
        "menus.main.closed: must end the call or go to another menu: use hangup, transfer, "
        "queue or goto (not repeat, play or back: the caller never entered this menu)",
        id="closed-plays",
    ),
    pytest.param(
        HEADER + 'options = { "1" = { goto = "sub" } }\n[menus.sub]\nprompts = ["busy"]\n'
        'parent = "main"\nhours = "office"\nclosed = "back"\noptions = { "1" = "hangup" }\n'
        + OFFICE,
        "menus.sub.closed: must end the call or go to another menu: use hangup, transfer, "
        "queue or goto (not repeat, play or back: the caller never entered this menu)",
        id="closed-goes-back",
    ),
    pytest.param(
        HEADER + 'closed = { hangup = "closed" }\noptions = { "1" = "hangup" }',
        "menus.main.closed: has no effect without hours (set menus.main.hours)",
        id="closed-without-hours",
    ),
    pytest.param(
        HEADER + 'hours = "office"\nclosed = { goto = "nigt" }\noptions = { "1" = "hangup" }\n'
        '[menus.night]\nprompts = ["busy"]\noptions = { "1" = "hangup" }\n' + OFFICE,
        "menus.main.closed: unknown menu 'nigt' (did you mean 'night'?)",
        id="closed-goto-unknown-menu",
    ),
    pytest.param(
        HEADER
        + 'hours = "office"\nclosed = { goto = "main" }\noptions = { "1" = "hangup" }\n'
        + OFFICE,
        "menus.main.closed: a caller arriving out of hours would loop forever: main -> main",
        id="closed-goto-itself",
    ),
    pytest.param(
        HEADER + 'hours = "office"\nclosed = { goto = "other" }\noptions = { "1" = "hangup" }\n'
        '[menus.other]\nprompts = ["busy"]\nhours = "office"\nclosed = { goto = "main" }\n'
        'options = { "1" = "hangup" }\n' + OFFICE,
        "menus.main.closed: a caller arriving out of hours would loop forever: "
        "main -> other -> main",
        id="closed-loop",
    ),
    pytest.param(
        HEADER + 'on_exhausted = { goto = "other" }\noptions = { "1" = "hangup" }\n'
        '[menus.other]\nprompts = ["busy"]\nhours = "office"\nclosed = { goto = "main" }\n'
        'options = { "1" = "hangup" }\n' + OFFICE,
        "menus.main.on_exhausted: a caller who never presses a key would loop forever out of "
        "hours: main -> other -> main",
        id="exhaustion-and-closed-loop",
    ),
    pytest.param(
        HEADER + 'hour = "office"\noptions = { "1" = "hangup" }\n' + OFFICE,
        "menus.main: unknown key 'hour' (did you mean 'hours'?)",
        id="misspelt-hours-key",
    ),
    pytest.param(
        HEADER + 'hours = "office"\nclose = "hangup"\noptions = { "1" = "hangup" }\n' + OFFICE,
        "menus.main: unknown key 'close' (did you mean 'closed'?)",
        id="misspelt-closed-key",
    ),
    pytest.param(
        "hour = 1\n" + HEADER + 'options = { "1" = "hangup" }',
        "unknown top-level key 'hour' (did you mean 'hours'?)",
        id="misspelt-top-level-hours",
    ),
    pytest.param(
        'hours = "office"\n' + HEADER + 'options = { "1" = "hangup" }',
        "hours: must be a table of hours ([hours.NAME]), got string 'office'",
        id="hours-not-a-table",
    ),
    pytest.param(
        HEADER + 'options = { "1" = "hangup" }\n[hours]\noffice = 3\n',
        "hours.office: must be a table ([hours.office]), got integer 3",
        id="hours-table-not-a-table",
    ),
    pytest.param(
        HEADER + 'options = { "1" = "hangup" }\n[hours."day shift"]\ntimezone = "UTC"\n',
        "hours.day shift: hours names may only use letters, digits, '-' and '_'",
        id="hours-name-with-space",
    ),
]


@pytest.mark.parametrize(("toml", "expected"), BAD)
def test_bad_definition_reports_the_path(toml: str, expected: str) -> None:
    """Each kind of mistake is reported with its exact dotted path and a clear message."""
    assert expected in problems(toml)


def test_every_problem_is_reported_at_once() -> None:
    """Validation does not stop at the first mistake: all of them come back together."""
    toml = """
start = "mian"
[menus.main]
prompts = ["main-menu"]
timeout = 0
[menus.main.options]
"1" = { transfer = "1000" }
"3" = { goto = "salse" }
"#" = "back"
"""
    assert problems(toml) == [
        "menus.main.timeout: must be a positive number, got 0",
        "start: unknown menu 'mian' (did you mean 'main'?)",
        "menus.main.options.3: unknown menu 'salse'",
        "menus.main.options.#: 'back' needs a parent menu, and menu 'main' has none "
        "(set menus.main.parent)",
    ]


def test_missing_sound_files_name_prompt_and_language() -> None:
    """prompt_exists is asked about every prompt; each missing one is reported where it is used."""
    toml = (
        'language = "en"\n'
        + HEADER.replace('"main-menu"', '"welcom"')
        + ('options = { "1" = { transfer = "1000", prompt = "ringing" } }')
    )
    with pytest.raises(IvrDefinitionError) as caught:
        parse(tomllib.loads(toml), "test.toml", prompt_exists=lambda _lang, p: p == "invalid")
    assert [str(p) for p in caught.value.problems] == [
        "menus.main.prompts.0: prompt 'welcom' has no sound file for language 'en'",
        "menus.main.options.1.prompt: prompt 'ringing' has no sound file for language 'en'",
        "menus.main.on_exhausted: prompt 'goodbye' has no sound file for language 'en'",
        "menus.main.timeout_prompt: prompt 'timeout' has no sound file for language 'en'",
    ]


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    """A file that is not valid TOML is one problem naming the file, line and column."""
    path = tmp_path / "broken.toml"
    path.write_text('start = "main"\n[menus.main\nprompts = []\n', encoding="utf-8")
    with pytest.raises(IvrDefinitionError) as caught:
        load(path)
    assert caught.value.source == str(path)
    assert [str(p) for p in caught.value.problems] == [
        "TOML syntax error at line 2, column 12: Expected ']' at the end of a table declaration"
    ]
    assert str(path) in str(caught.value)


def test_toml_error_at_end_of_document_still_has_a_position(tmp_path: Path) -> None:
    """tomllib reports some errors 'at end of document'; we turn that into a line and column."""
    path = tmp_path / "cut.toml"
    path.write_text('start = "main"\nlanguage = ', encoding="utf-8")
    with pytest.raises(IvrDefinitionError) as caught:
        load(path)
    assert [str(p) for p in caught.value.problems] == [
        "TOML syntax error at line 2, column 12: Invalid value"
    ]


def test_missing_file_is_a_definition_error(tmp_path: Path) -> None:
    """An unreadable file is reported like any other problem, naming the file."""
    with pytest.raises(IvrDefinitionError, match=r"(?s)nope\.toml.*No such file"):
        load(tmp_path / "nope.toml")


def test_sound_files_finds_prompts_by_language(tmp_path: Path) -> None:
    """sound_files(root) answers prompt_exists from root/<language>/<prompt>.<ext>."""
    (tmp_path / "ko").mkdir()
    (tmp_path / "ko" / "welcome.wav").write_bytes(b"")
    exists = sound_files(tmp_path)
    assert exists("ko", "welcome")
    assert not exists("en", "welcome")
    assert not exists("ko", "goodbye")


@pytest.mark.parametrize(
    ("queues", "expected"),
    [
        pytest.param(
            ("sales", "support"),
            ["menus.main.options.1.queue: unknown queue 'slaes' (did you mean 'sales'?)"],
            id="close-to-a-known-queue",
        ),
        pytest.param(
            ("support",),
            ["menus.main.options.1.queue: unknown queue 'slaes'"],
            id="nothing-close",
        ),
        pytest.param(
            (),
            ["menus.main.options.1.queue: unknown queue 'slaes' (no queues are defined)"],
            id="no-queues-at-all",
        ),
    ],
)
def test_queue_names_are_checked_against_known_queues(
    queues: tuple[str, ...], expected: list[str]
) -> None:
    """With ``queues`` given, a queue action naming any other queue is a problem at its path."""
    toml = HEADER + 'options = { "1" = { queue = "slaes" } }'
    assert problems(toml, queues=queues) == expected


def test_queue_names_are_not_checked_without_known_queues() -> None:
    """Without ``queues`` any well-formed name is accepted (the queues file is checked apart)."""
    definition = build(HEADER + 'on_exhausted = { queue = "slaes" }\noptions = { "1" = "hangup" }')
    assert definition.menus["main"].on_exhausted == QueueCall("slaes")


def test_menu_with_hours_defaults_to_hanging_up_with_the_closed_prompt() -> None:
    """A menu with hours and no closed action says 'closed' and hangs up; that prompt is checked."""
    toml = HEADER + 'hours = "office"\noptions = { "1" = "hangup" }\n' + OFFICE
    with pytest.raises(IvrDefinitionError) as caught:
        parse(tomllib.loads(toml), "t", prompt_exists=lambda _lang, prompt: prompt != "closed")
    assert [str(p) for p in caught.value.problems] == [
        "menus.main.closed: prompt 'closed' has no sound file for language 'ko'"
    ]
    assert build(toml).menus["main"].closed == HangupCall("closed")


def test_menu_without_hours_needs_no_closed_prompt() -> None:
    """Only menus with hours can play 'closed', so only they need its sound file."""
    toml = HEADER + 'options = { "1" = "hangup" }'
    parse(tomllib.loads(toml), "t", prompt_exists=lambda _lang, prompt: prompt != "closed")


@pytest.mark.parametrize(
    ("toml", "action"),
    [
        pytest.param('{ hangup = "goodbye" }', HangupCall("goodbye"), id="hangup"),
        pytest.param('{ transfer = "1000" }', TransferCall("1000"), id="transfer"),
        pytest.param(
            '{ queue = "sales", prompt = "closed" }', QueueCall("sales", "closed"), id="queue"
        ),
        pytest.param('{ goto = "night" }', GotoMenu("night"), id="goto-a-menu-only-it-reaches"),
    ],
)
def test_closed_action_forms(toml: str, action: MenuAction) -> None:
    """closed takes the actions that leave the menu; a menu only closed leads to is reachable."""
    night = '[menus.night]\nprompts = ["busy"]\noptions = { "1" = "hangup" }\n'
    definition = build(
        HEADER
        + f'hours = "office"\nclosed = {toml}\noptions = {{ "1" = "hangup" }}\n'
        + (night if "night" in toml else "")
        + OFFICE
    )
    assert definition.menus["main"].closed == action
    assert definition.menus["main"].hours == "office"


def test_a_broken_hours_table_is_reported_once() -> None:
    """A menu naming an hours table that could not be read is not also told the name is unknown."""
    toml = (
        HEADER + 'hours = "office"\noptions = { "1" = "hangup" }\n[hours.office]\nmonday = "9-6"\n'
    )
    assert problems(toml) == [
        "hours.office: missing required key 'timezone' (an IANA time zone such as 'Asia/Seoul')",
        'hours.office.monday: must be a range such as "09:00-18:00" (HH:MM-HH:MM), '
        "got string '9-6'",
    ]
