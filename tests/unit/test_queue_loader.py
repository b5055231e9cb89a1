"""The queues loader: the shipped file loads, and every mistake is reported with its exact path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from stasis_app.errors import IvrDefinitionError
from stasis_app.queues.loader import load, parse
from stasis_app.queues.model import (
    POSITION_PROMPTS,
    WAIT_PROMPTS,
    Overflow,
    OverflowKind,
    QueueConfig,
    QueueDef,
    Strategy,
    position_prompt,
    wait_prompt,
)
from stasis_app.settings import REPO_ROOT
from stasis_app.sounds import load_catalog

SHIPPED = REPO_ROOT / "ivr" / "queues.toml"
CATALOG = REPO_ROOT / "sounds" / "prompts.toml"
# What the queues need from sounds/prompts.toml besides the IVR's prompts.
QUEUE_PROMPTS = frozenset(
    {"queue-hold", "queue-timeout", "queue-full", *POSITION_PROMPTS, *WAIT_PROMPTS}
)

SALES = '[queues.sales]\nmembers = ["1000"]\n'
SUPPORT = '[queues.support]\nmembers = ["2000"]\n'


def build(text: str) -> QueueConfig:
    return parse(tomllib.loads(text), "test.toml")


def problems(text: str) -> list[str]:
    """Every problem parse() reports for ``text``, as 'path: message' lines."""
    with pytest.raises(IvrDefinitionError) as caught:
        build(text)
    assert caught.value.source == "test.toml"
    return [str(p) for p in caught.value.problems]


# -- the shipped file --------------------------------------------------------------------------


def test_shipped_queues_load_and_ask_for_the_queue_prompts() -> None:
    """ivr/queues.toml is valid; the prompts it plays are the queue prompts and 'transferring',
    each asked in every language given."""
    asked: set[tuple[str, str]] = set()

    def exists(language: str, prompt: str) -> bool:
        asked.add((language, prompt))
        return True

    config = load(SHIPPED, prompt_exists=exists, languages=("ko", "en"))
    assert {language for language, _ in asked} == {"ko", "en"}
    assert {prompt for _, prompt in asked} == QUEUE_PROMPTS | {"transferring"}
    assert config.source == str(SHIPPED)


def test_the_catalog_has_every_prompt_the_shipped_queues_play() -> None:
    """Checked against sounds/prompts.toml's names in each of its languages, not against built
    sound files (tests do not run espeak-ng)."""
    catalog = load_catalog(CATALOG)
    named = {prompt.name for prompt in catalog.prompts}
    load(SHIPPED, prompt_exists=lambda _lang, p: p in named, languages=catalog.languages)


def test_shipped_queues_are_the_documented_ones() -> None:
    """sales hangs up after 5 minutes; support hands a long wait to the operator (1000)."""
    config = load(SHIPPED)
    assert list(config.queues) == ["sales", "support"]
    sales, support = config.queues["sales"], config.queues["support"]
    assert (sales.members, sales.agents) == (("1000", "1001", "1002"), ("1004", "1005"))
    assert sales.strategy is Strategy.LONGEST_IDLE
    assert (sales.max_wait, sales.on_max_wait) == (
        300.0,
        Overflow(OverflowKind.HANGUP, None, "queue-timeout"),
    )
    assert (support.members, support.agents) == (("2000", "1003"), ("1005",))
    assert support.on_max_wait == Overflow(OverflowKind.EXTENSION, "1000", "transferring")
    assert (support.max_callers, support.on_full) == (
        10,
        Overflow(OverflowKind.HANGUP, None, "queue-full"),
    )
    assert config.agents() == ("1000", "1001", "1002", "1003", "1004", "1005", "2000")


# -- valid files -------------------------------------------------------------------------------


def test_no_queues_is_a_valid_site() -> None:
    """An empty file, or an empty [queues] table, means a site without queues."""
    assert build("").queues == {}
    assert build("[queues]\n").queues == {}


def test_defaults_fill_a_minimal_queue() -> None:
    """Omitted keys take their documented defaults (the model's)."""
    sales = build(SALES).queues["sales"]
    assert sales == QueueDef("sales", members=("1000",))
    assert (sales.strategy, sales.ring_timeout, sales.retry, sales.wrapup) == (
        Strategy.LONGEST_IDLE, 15.0, 2.0, 5.0,
    )  # fmt: skip
    assert (sales.max_wait, sales.max_callers, sales.announce_every) == (300.0, None, 30.0)
    assert sales.on_max_wait == Overflow(OverflowKind.HANGUP, prompt="queue-timeout")
    assert sales.on_full == Overflow(OverflowKind.HANGUP, prompt="queue-full")
    assert (sales.greeting, sales.music, sales.service_level) == ("queue-hold", "default", 20.0)
    assert (sales.announce_position, sales.announce_wait) == (True, True)


def test_a_full_example_sets_every_key() -> None:
    """Every key is read into the matching field, in the file's order of queues."""
    config = build(
        """
[queues.support]
members = ["2000"]
[queues.sales]
members = ["1000", "1001"]
agents = ["1004"]
strategy = "ring-all"
ring_timeout = 20
retry = 1.5
wrapup = 0
max_wait = 120
on_max_wait = { queue = "support", prompt = "transferring" }
max_callers = 3
on_full = { extension = "500" }
greeting = false
announce_every = 45
announce_position = false
announce_wait = true
music = "jazz_2"
service_level = 15
"""
    )
    assert list(config.queues) == ["support", "sales"]
    assert config.queues["sales"] == QueueDef(
        name="sales",
        members=("1000", "1001"),
        agents=("1004",),
        strategy=Strategy.RING_ALL,
        ring_timeout=20.0,
        retry=1.5,
        wrapup=0.0,
        max_wait=120.0,
        on_max_wait=Overflow(OverflowKind.QUEUE, "support", "transferring"),
        max_callers=3,
        on_full=Overflow(OverflowKind.EXTENSION, "500"),
        greeting=None,
        announce_every=45.0,
        announce_position=False,
        announce_wait=True,
        music="jazz_2",
        service_level=15.0,
    )
    assert config.source == "test.toml"


def test_zero_means_never() -> None:
    """max_wait = 0: wait forever; announce_every = 0: no announcements (both None)."""
    sales = build(SALES + "max_wait = 0\nannounce_every = 0\n").queues["sales"]
    assert (sales.max_wait, sales.announce_every) == (None, None)


@pytest.mark.parametrize(
    ("toml", "overflow"),
    [
        pytest.param('{ queue = "support" }', Overflow(OverflowKind.QUEUE, "support"), id="queue"),
        pytest.param(
            '{ queue = "support", prompt = "transferring" }',
            Overflow(OverflowKind.QUEUE, "support", "transferring"),
            id="queue-with-prompt",
        ),
        pytest.param('{ extension = "2000" }', Overflow(OverflowKind.EXTENSION, "2000"), id="ext"),
        pytest.param(
            '{ extension = "7777", prompt = "transferring" }',
            Overflow(OverflowKind.EXTENSION, "7777", "transferring"),
            id="extension-with-prompt",
        ),
        pytest.param(
            '{ hangup = "goodbye" }', Overflow(OverflowKind.HANGUP, None, "goodbye"), id="hangup"
        ),
        pytest.param('"hangup"', Overflow(OverflowKind.HANGUP), id="hangup-silently"),
    ],
)
def test_overflow_forms(toml: str, overflow: Overflow) -> None:
    """Each way of writing an overflow builds the matching Overflow, for both keys."""
    config = build(SALES + f"max_callers = 5\non_max_wait = {toml}\non_full = {toml}\n" + SUPPORT)
    sales = config.queues["sales"]
    assert (sales.on_max_wait, sales.on_full) == (overflow, overflow)


def test_overflow_chains_without_a_loop_are_valid() -> None:
    """sales -> support -> helpdesk, and two queues sharing a target, are fine."""
    config = build(
        SALES
        + 'on_max_wait = { queue = "support" }\n'
        + SUPPORT
        + 'max_callers = 2\non_full = { queue = "helpdesk" }\n'
        + '[queues.helpdesk]\nagents = ["3000"]\n'
        + '[queues.vip]\nmembers = ["4000"]\non_max_wait = { queue = "helpdesk" }\n'
    )
    assert config.queues["support"].on_full.target == "helpdesk"


# -- problems ----------------------------------------------------------------------------------

BAD = [
    pytest.param(
        "queue = { sales = {} }\n" + SALES,
        "unknown top-level key 'queue' (did you mean 'queues'?)",
        id="misspelt-top-level-key",
    ),
    pytest.param(
        'queues = "sales"\n',
        "queues: must be a table of queues ([queues.NAME]), got string 'sales'",
        id="queues-not-a-table",
    ),
    pytest.param(
        "[queues]\nsales = 3\n",
        "queues.sales: must be a table ([queues.sales]), got integer 3",
        id="queue-not-a-table",
    ),
    pytest.param(
        '[queues."sales team"]\nmembers = ["1000"]\n',
        "queues.sales team: queue names may only use letters, digits, '-' and '_'",
        id="queue-name-with-space",
    ),
    pytest.param(
        SALES + "ring_timout = 10\n",
        "queues.sales: unknown key 'ring_timout' (did you mean 'ring_timeout'?)",
        id="misspelt-queue-key",
    ),
    pytest.param(
        '[queues.sales]\nstrategy = "ring-all"\n',
        "queues.sales: has no members and no agents, so no one could take its calls",
        id="nobody",
    ),
    pytest.param(
        "[queues.sales]\nmembers = []\nagents = []\n",
        "queues.sales: has no members and no agents, so no one could take its calls",
        id="empty-lists",
    ),
    pytest.param(
        '[queues.sales]\nmembers = "1000"\n',
        'queues.sales.members: must be a list of extensions such as ["1000", "1001"], '
        "got string '1000'",
        id="members-not-a-list",
    ),
    pytest.param(
        "[queues.sales]\nmembers = [1000]\n",
        'queues.sales.members.0: must be a string: write "1000" (quoted) rather than 1000',
        id="unquoted-member",
    ),
    pytest.param(
        '[queues.sales]\nagents = ["1000", 1001]\n',
        'queues.sales.agents.1: must be a string: write "1001" (quoted) rather than 1001',
        id="unquoted-agent",
    ),
    pytest.param(
        '[queues.sales]\nmembers = ["10 00"]\n',
        "queues.sales.members.0: must be an extension such as \"1000\", got string '10 00'",
        id="extension-with-space",
    ),
    pytest.param(
        '[queues.sales]\nmembers = ["1000", "1001", "1000"]\n',
        "queues.sales.members.2: '1000' is listed twice (also members.0)",
        id="duplicate-member",
    ),
    pytest.param(
        '[queues.sales]\nagents = ["1004", "1004"]\n',
        "queues.sales.agents.1: '1004' is listed twice (also agents.0)",
        id="duplicate-agent",
    ),
    pytest.param(
        '[queues.sales]\nmembers = ["1000"]\nagents = ["1004", "1000"]\n',
        "queues.sales.agents.1: '1000' is also a static member (members.0): list it in members "
        "(always logged in) or agents (logs in and out), not both",
        id="member-and-agent",
    ),
    pytest.param(
        SALES + 'strategy = "round_robin"\n',
        "queues.sales.strategy: unknown strategy 'round_robin' (did you mean 'round-robin'?): "
        "use longest-idle, round-robin, ring-all",
        id="misspelt-strategy",
    ),
    pytest.param(
        SALES + "strategy = 1\n",
        "queues.sales.strategy: must be a strategy name, got integer 1: "
        "use longest-idle, round-robin, ring-all",
        id="strategy-not-a-string",
    ),
    pytest.param(
        SALES + "ring_timeout = 0\n",
        "queues.sales.ring_timeout: must be a positive number, got 0",
        id="zero-ring-timeout",
    ),
    pytest.param(
        SALES + 'ring_timeout = "15"\n',
        "queues.sales.ring_timeout: must be a positive number of seconds, got string '15'",
        id="ring-timeout-not-a-number",
    ),
    pytest.param(
        SALES + "retry = -2\n",
        "queues.sales.retry: must be a positive number, got -2",
        id="negative-retry",
    ),
    pytest.param(
        SALES + "wrapup = -1\n",
        "queues.sales.wrapup: must be 0 or a positive number, got -1",
        id="negative-wrapup",
    ),
    pytest.param(
        SALES + "wrapup = true\n",
        "queues.sales.wrapup: must be a number of seconds, got boolean True",
        id="wrapup-not-a-number",
    ),
    pytest.param(
        SALES + "max_wait = -300\n",
        "queues.sales.max_wait: must be 0 or a positive number, got -300",
        id="negative-max-wait",
    ),
    pytest.param(
        SALES + 'max_wait = "none"\n',
        "queues.sales.max_wait: must be a number of seconds, got string 'none'",
        id="max-wait-word",
    ),
    pytest.param(
        SALES + "max_wait = inf\n",
        "queues.sales.max_wait: must be 0 or a positive number, got inf",
        id="infinite-max-wait",
    ),
    pytest.param(
        SALES + "max_callers = 0\n",
        "queues.sales.max_callers: must be at least 1, got 0",
        id="zero-max-callers",
    ),
    pytest.param(
        SALES + "max_callers = 2.5\n",
        "queues.sales.max_callers: must be a whole number, got number 2.5",
        id="fractional-max-callers",
    ),
    pytest.param(
        SALES + "greeting = true\n",
        "queues.sales.greeting: must be a prompt name, or false for no greeting, got true",
        id="greeting-true",
    ),
    pytest.param(
        SALES + 'greeting = "please hold"\n',
        "queues.sales.greeting: prompt name 'please hold' may only use letters, digits, '-', '_' "
        "and '/'",
        id="greeting-with-space",
    ),
    pytest.param(
        SALES + "announce_every = -30\n",
        "queues.sales.announce_every: must be 0 or a positive number, got -30",
        id="negative-announce-every",
    ),
    pytest.param(
        SALES + 'announce_position = "yes"\n',
        "queues.sales.announce_position: must be true or false, got string 'yes'",
        id="announce-position-not-a-boolean",
    ),
    pytest.param(
        SALES + "announce_wait = 1\n",
        "queues.sales.announce_wait: must be true or false, got integer 1",
        id="announce-wait-not-a-boolean",
    ),
    pytest.param(
        SALES + 'music = "jazz/cool"\n',
        "queues.sales.music: must be a music-on-hold class name (letters, digits, '-' and '_'), "
        "got string 'jazz/cool'",
        id="bad-music-class",
    ),
    pytest.param(
        SALES + "service_level = 0\n",
        "queues.sales.service_level: must be a positive number, got 0",
        id="zero-service-level",
    ),
    pytest.param(
        SALES + "on_max_wait = 3\n",
        'queues.sales.on_max_wait: must be a table such as { queue = "support" }, '
        '{ extension = "2000" } or { hangup = "queue-timeout" }, got integer 3',
        id="overflow-not-a-table",
    ),
    pytest.param(
        SALES + 'on_max_wait = "hangpu"\n',
        "queues.sales.on_max_wait: unknown overflow 'hangpu' (did you mean 'hangup'?): "
        'use "hangup" or a table such as { queue = "support" }',
        id="misspelt-overflow-word",
    ),
    pytest.param(
        SALES + 'on_max_wait = { queue = "support", hangup = "queue-timeout" }\n' + SUPPORT,
        "queues.sales.on_max_wait: an overflow needs exactly one of queue, extension, hangup; "
        "got queue and hangup",
        id="two-overflow-verbs",
    ),
    pytest.param(
        SALES + 'on_max_wait = { prompt = "transferring" }\n',
        "queues.sales.on_max_wait: an overflow needs exactly one of queue, extension, hangup; "
        "got none",
        id="no-overflow-verb",
    ),
    pytest.param(
        SALES + 'on_max_wait = { extension = "2000", promt = "transferring" }\n',
        "queues.sales.on_max_wait: unknown key 'promt' (did you mean 'prompt'?)",
        id="misspelt-overflow-key",
    ),
    pytest.param(
        SALES + 'on_max_wait = { hangup = "queue-timeout", prompt = "goodbye" }\n',
        "queues.sales.on_max_wait: unknown key 'prompt'",
        id="hangup-with-prompt",
    ),
    pytest.param(
        SALES + "on_max_wait = { extension = 2000 }\n",
        'queues.sales.on_max_wait.extension: must be a string: write "2000" (quoted) rather '
        "than 2000",
        id="unquoted-overflow-extension",
    ),
    pytest.param(
        SALES + "on_max_wait = { queue = 2 }\n",
        "queues.sales.on_max_wait.queue: must be a queue name (a string), got integer 2",
        id="overflow-queue-not-a-string",
    ),
    pytest.param(
        SALES + "max_callers = 1\non_full = { hangup = 0 }\n",
        "queues.sales.on_full.hangup: must be a prompt name (a string), got integer 0",
        id="hangup-prompt-not-a-string",
    ),
    pytest.param(
        SALES + 'on_max_wait = { queue = "suport" }\n' + SUPPORT,
        "queues.sales.on_max_wait.queue: unknown queue 'suport' (did you mean 'support'?)",
        id="unknown-overflow-queue",
    ),
    pytest.param(
        SALES + 'max_callers = 4\non_full = { queue = "sales" }\n',
        "queues.sales.on_full.queue: a queue cannot overflow to itself",
        id="overflow-to-itself",
    ),
    pytest.param(
        SALES
        + 'on_max_wait = { queue = "support" }\n'
        + SUPPORT
        + 'on_max_wait = { queue = "sales" }\n',
        "queues.sales.on_max_wait: a caller could be sent round these queues forever: "
        "sales -> support -> sales",
        id="max-wait-loop",
    ),
    pytest.param(
        SALES
        + 'max_callers = 5\non_full = { queue = "support" }\n'
        + SUPPORT
        + 'max_callers = 5\non_full = { queue = "sales" }\n',
        "queues.sales.on_full: a caller could be sent round these queues forever: "
        "sales -> support -> sales",
        id="full-loop",
    ),
    pytest.param(
        SALES
        + 'on_max_wait = { queue = "support" }\n'
        + SUPPORT
        + 'max_callers = 5\non_full = { queue = "helpdesk" }\n'
        + '[queues.helpdesk]\nmembers = ["3000"]\non_max_wait = { queue = "sales" }\n',
        "queues.sales.on_max_wait: a caller could be sent round these queues forever: "
        "sales -> support -> helpdesk -> sales",
        id="mixed-three-queue-loop",
    ),
    pytest.param(
        SALES + 'max_wait = 0\non_max_wait = { hangup = "goodbye" }\n',
        "queues.sales.on_max_wait: is never used: max_wait = 0 lets callers wait forever",
        id="dead-on-max-wait",
    ),
    pytest.param(
        SALES + 'on_full = { hangup = "busy" }\n',
        "queues.sales.on_full: is never used: without max_callers the queue is never full",
        id="dead-on-full",
    ),
]


@pytest.mark.parametrize(("toml", "expected"), BAD)
def test_bad_queues_report_the_path(toml: str, expected: str) -> None:
    """Each kind of mistake is reported with its exact dotted path and a clear message."""
    assert expected in problems(toml)


def test_every_problem_is_reported_at_once() -> None:
    """Validation does not stop at the first mistake: each queue's keys in order, then cross
    references and loops."""
    toml = """
[queues.sales]
members = [1000]
on_max_wait = { queue = "support" }
retry = 0
[queues.support]
agents = ["2000", "2000"]
on_max_wait = { queue = "sales" }
max_callers = 2
on_full = { queue = "helpdsk" }
"""
    assert problems(toml) == [
        'queues.sales.members.0: must be a string: write "1000" (quoted) rather than 1000',
        "queues.sales.retry: must be a positive number, got 0",
        "queues.support.agents.1: '2000' is listed twice (also agents.0)",
        "queues.support.on_full.queue: unknown queue 'helpdsk'",
        "queues.sales.on_max_wait: a caller could be sent round these queues forever: "
        "sales -> support -> sales",
    ]


def test_a_loop_is_reported_once_however_many_ways_it_closes() -> None:
    """Both overflows of sales lead to support and back: still one loop, at the first one."""
    toml = (
        SALES
        + 'max_callers = 3\non_max_wait = { queue = "support" }\non_full = { queue = "support" }\n'
        + SUPPORT
        + 'on_max_wait = { queue = "sales" }\n'
    )
    assert problems(toml) == [
        "queues.sales.on_max_wait: a caller could be sent round these queues forever: "
        "sales -> support -> sales",
    ]


def _ladder(length: int, *, back: bool) -> str:
    """q0 .. q{length-1}, each overflowing to the next two; the last one back to q0 if ``back``."""
    text = ""
    for i in range(length):
        nxt, after = f"q{i + 1}", f"q{i + 2}"
        if i == length - 1:
            nxt = after = "q0" if back else ""
        elif i == length - 2:
            after = f"q{i + 1}"
        text += f'[queues.q{i}]\nmembers = ["{1000 + i}"]\n'
        if nxt:
            text += f'on_max_wait = {{ queue = "{nxt}" }}\nmax_callers = 1\n'
            text += f'on_full = {{ queue = "{after}" }}\n'
    return text


def test_many_overflow_paths_are_judged_without_trying_each() -> None:
    """60 queues each overflowing to the next two have ~10^12 paths; loops are still found, one
    per overflow that starts one."""
    assert len(build(_ladder(60, back=False)).queues) == 60
    found = problems(_ladder(60, back=True))
    assert [line.split(":")[0] for line in found] == [
        "queues.q0.on_max_wait", "queues.q0.on_full",
    ]  # fmt: skip
    assert found[0].endswith(": " + " -> ".join([*(f"q{i}" for i in range(60)), "q0"]))


def test_an_overflow_to_a_broken_queue_is_not_called_unknown() -> None:
    """A target whose own table is unreadable exists: one mistake is reported once."""
    assert problems(SALES + 'on_max_wait = { queue = "support" }\n[queues]\nsupport = 1\n') == [
        "queues.support: must be a table ([queues.support]), got integer 1",
    ]


# -- prompts -----------------------------------------------------------------------------------


def test_missing_prompts_are_reported_per_key_and_language() -> None:
    """Every prompt a queue can play is checked in every language, defaults included; several
    missing at one key make one problem naming the first few."""
    toml = SALES + 'max_callers = 4\non_full = { extension = "2000", prompt = "sorry" }\n'
    known = {("ko", "queue-hold"), ("en", "queue-hold"), ("ko", "queue-timeout")}
    known |= {(lang, p) for lang in ("ko", "en") for p in WAIT_PROMPTS}
    known |= {("ko", p) for p in POSITION_PROMPTS[1:]}
    with pytest.raises(IvrDefinitionError) as caught:
        parse(
            tomllib.loads(toml),
            "test.toml",
            prompt_exists=lambda lang, p: (lang, p) in known,
            languages=("ko", "en"),
        )
    assert [str(p) for p in caught.value.problems] == [
        "queues.sales.on_max_wait: prompt 'queue-timeout' has no sound file for language 'en'",
        "queues.sales.on_full.prompt: prompt 'sorry' has no sound file for language 'ko'",
        "queues.sales.on_full.prompt: prompt 'sorry' has no sound file for language 'en'",
        "queues.sales.announce_position: prompt 'queue-position-1' has no sound file for "
        "language 'ko'",
        "queues.sales.announce_position: prompts 'queue-position-1', 'queue-position-2', "
        "'queue-position-3' and 7 more have no sound files for language 'en'",
    ]


def test_prompts_nobody_hears_are_not_checked() -> None:
    """No greeting, no announcements, no max wait, no limit: nothing needs a sound file."""
    asked: list[str] = []

    def exists(_language: str, prompt: str) -> bool:
        asked.append(prompt)
        return False

    toml = SALES + "greeting = false\nannounce_every = 0\nmax_wait = 0\n"
    parse(tomllib.loads(toml), "test.toml", prompt_exists=exists)
    assert asked == []


def test_each_prompt_is_looked_up_once_per_language() -> None:
    """Two queues using the same prompts ask prompt_exists (which may list a folder) once."""
    asked: list[tuple[str, str]] = []

    def exists(language: str, prompt: str) -> bool:
        asked.append((language, prompt))
        return True

    parse(tomllib.loads(SALES + SUPPORT), "test.toml", prompt_exists=exists, languages=("ko", "en"))
    assert len(asked) == len(set(asked)) == 2 * len(QUEUE_PROMPTS - {"queue-full"})


def test_announcement_prompts_follow_the_model() -> None:
    """One prompt per position up to 9 and per minute up to 10, then a catch-all."""
    assert [position_prompt(n) for n in (1, 9, 10, 99)] == [
        "queue-position-1", "queue-position-9", "queue-position-many", "queue-position-many",
    ]  # fmt: skip
    assert [wait_prompt(m) for m in (1, 10, 11)] == [
        "queue-wait-1",
        "queue-wait-10",
        "queue-wait-long",
    ]
    assert (len(POSITION_PROMPTS), len(WAIT_PROMPTS)) == (10, 11)


# -- files -------------------------------------------------------------------------------------


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    """A file that is not valid TOML is one problem naming the file, line and column."""
    path = tmp_path / "queues.toml"
    path.write_text('[queues.sales\nmembers = ["1000"]\n', encoding="utf-8")
    with pytest.raises(IvrDefinitionError) as caught:
        load(path)
    assert caught.value.source == str(path)
    assert [str(p) for p in caught.value.problems] == [
        "TOML syntax error at line 1, column 14: Expected ']' at the end of a table declaration"
    ]


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    """load() never decides the file is optional: the worker does."""
    with pytest.raises(IvrDefinitionError) as caught:
        load(tmp_path / "queues.toml")
    assert [str(p) for p in caught.value.problems] == [
        "cannot read the file: No such file or directory"
    ]


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "queues.toml"
    path.write_bytes(b'[queues.sales]\nmembers = ["\xff"]\n')
    with pytest.raises(IvrDefinitionError, match="not UTF-8 text"):
        load(path)
