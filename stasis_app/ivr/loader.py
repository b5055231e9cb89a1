"""Build an :class:`IvrDefinition` from TOML, reporting every problem with its dotted path.

:func:`parse` is pure: it takes the already-decoded TOML mapping. :func:`load` reads a file and
turns TOML syntax errors into an :class:`IvrDefinitionError` naming the line and column. Nothing is
half-loaded: the result is a complete valid definition, or an error listing all problems found
(structure and types first, in document order, then cross references, then missing sound files).
The format is documented in docs/ivr-format.md; ``[hours.NAME]`` tables are read by
:mod:`stasis_app.ivr.hours`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from stasis_app.errors import IvrDefinitionError, Problem
from stasis_app.ivr.hours import read_hours
from stasis_app.ivr.model import (
    NAME,
    OPTION_KEYS,
    DirectDial,
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
    reference_problems,
    show,
    suggest,
)

PromptExists = Callable[[str, str], bool]

_TOP_KEYS = ("language", "start", "menus", "hours")
_MENU_KEYS = (
    "greeting",
    "prompts",
    "options",
    "timeout",
    "max_retries",
    "invalid_prompt",
    "timeout_prompt",
    "on_exhausted",
    "parent",
    "direct_dial",
    "hours",
    "closed",
)
_DIRECT_DIAL_KEYS = ("digits", "inter_digit_timeout", "terminator", "prompt")
_VERBS = ("goto", "transfer", "queue", "play", "hangup")
_PROMPTED_VERBS = ("transfer", "queue")  # the verbs that also take `prompt`
_WORDS: dict[str, MenuAction] = {"repeat": RepeatMenu(), "back": GoBack(), "hangup": HangupCall()}

_PROMPT = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
_EXTENSION = re.compile(r"[A-Za-z0-9_+*#-]+")
_MAX_EXTENSION_DIGITS = 15  # E.164


class _Checker:
    """Collects problems and prompt references while building menus best-effort.

    ``queues``, when given, are the queue names a ``queue`` action may use.
    """

    def __init__(self, queues: Collection[str] | None = None) -> None:
        self.problems: list[Problem] = []
        self.prompts: list[tuple[str, str]] = []  # (path, prompt name) for the sound-file check
        self.actions_broken = False
        self.queues = queues

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def unknown_keys(self, table: Mapping[str, Any], known: tuple[str, ...], path: str) -> None:
        for key in table:
            if key not in known:
                where = path if path else ""
                what = f"unknown key {key!r}" if path else f"unknown top-level key {key!r}"
                self.add(where, f"{what}{suggest(key, known)}")

    def prompt(self, value: object, path: str) -> str | None:
        if not isinstance(value, str):
            self.add(path, f"must be a prompt name (a string), got {_show(value)}")
            return None
        if not _PROMPT.fullmatch(value):
            self.add(path, f"prompt name {value!r} may only use letters, digits, '-', '_' and '/'")
            return None
        self.prompts.append((path, value))
        return value

    def prompt_list(self, value: object, path: str, *, allow_empty: bool) -> tuple[str, ...]:
        if isinstance(value, str):  # a lone prompt reads naturally: play = "busy"
            value = [value]
        if not isinstance(value, list):
            self.add(path, f"must be a list of prompt names, got {_show(value)}")
            return ()
        if not value and not allow_empty:
            self.add(path, "must name at least one prompt")
        names = [self.prompt(item, f"{path}.{i}") for i, item in enumerate(value)]
        return tuple(name for name in names if name is not None)

    def seconds(self, value: object, path: str, default: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, f"must be a positive number of seconds, got {_show(value)}")
            return default
        if not math.isfinite(value) or value <= 0:
            self.add(path, f"must be a positive number, got {value}")
            return default
        return float(value)

    def whole(self, value: object, path: str, default: int, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"must be a whole number, got {_show(value)}")
            return default
        if not low <= value <= high:
            self.add(path, f"must be between {low} and {high}, got {value}")
            return default
        return value

    def menu_name(self, value: object, path: str) -> str | None:
        if not isinstance(value, str) or not value:
            self.add(path, f"must be a menu name (a string), got {_show(value)}")
            return None
        return value

    def action(self, raw: object, path: str) -> MenuAction | None:
        action = self._action(raw, path)
        if action is None:
            self.actions_broken = True
        return action

    def _action(self, raw: object, path: str) -> MenuAction | None:
        if isinstance(raw, str):
            if raw in _WORDS:
                return _WORDS[raw]
            self.add(
                path,
                f'unknown action {raw!r}{suggest(raw, _WORDS)}: use "repeat", "back", '
                '"hangup" or a table such as { transfer = "1000" }',
            )
            return None
        if not isinstance(raw, Mapping):
            self.add(path, f"must be an action (a string or an inline table), got {_show(raw)}")
            return None
        verbs = [verb for verb in _VERBS if verb in raw]
        if len(verbs) != 1:
            found = " and ".join(verbs) if verbs else "none"
            self.add(path, f"an action needs exactly one of {', '.join(_VERBS)}; got {found}")
            return None
        verb = verbs[0]
        self.unknown_keys(raw, (verb, "prompt") if verb in _PROMPTED_VERBS else (verb,), path)
        return self._verb_action(verb, raw, path)

    def _verb_action(self, verb: str, raw: Mapping[str, Any], path: str) -> MenuAction | None:
        value = raw[verb]
        action: MenuAction | None = None
        if verb == "goto":
            menu = self.menu_name(value, f"{path}.goto")
            action = None if menu is None else GotoMenu(menu)
        elif verb == "play":
            prompts = self.prompt_list(value, f"{path}.play", allow_empty=False)
            action = PlayAndReturn(prompts) if prompts else None
        elif verb == "hangup":
            prompt = self.prompt(value, f"{path}.hangup")
            action = None if prompt is None else HangupCall(prompt)
        else:
            prompt = self.prompt(raw["prompt"], f"{path}.prompt") if "prompt" in raw else None
            if verb == "queue":
                queue = self.queue_name(value, f"{path}.queue")
                action = None if queue is None else QueueCall(queue, prompt)
            else:
                extension = self.extension(value, f"{path}.transfer")
                action = None if extension is None else TransferCall(extension, prompt)
        return action

    def queue_name(self, value: object, path: str) -> str | None:
        if not isinstance(value, str) or not value:
            self.add(path, f"must be a queue name (a string), got {_show(value)}")
            return None
        if not NAME.fullmatch(value):
            self.add(path, f"queue name {value!r} may only use letters, digits, '-' and '_'")
            return None
        if self.queues is not None and value not in self.queues:
            # Still a readable action: the menus around it can be judged as usual.
            hint = suggest(value, self.queues) if self.queues else " (no queues are defined)"
            self.add(path, f"unknown queue {value!r}{hint}")
        return value

    def extension(self, value: object, path: str) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            # TOML would silently drop a leading zero from 0100; insist on quotes.
            self.add(path, f'must be a string: write "{value}" (quoted) rather than {value}')
            return None
        if not isinstance(value, str) or not _EXTENSION.fullmatch(value):
            self.add(path, f'must be an extension such as "1000", got {_show(value)}')
            return None
        return value

    def direct_dial(self, raw: object, path: str) -> DirectDial | None:
        if not isinstance(raw, Mapping):
            self.add(path, f"must be a table such as {{ digits = 4 }}, got {_show(raw)}")
            return None
        self.unknown_keys(raw, _DIRECT_DIAL_KEYS, path)
        default = DirectDial()
        terminator = raw.get("terminator", default.terminator)
        if terminator not in ("#", "*"):
            self.add(f"{path}.terminator", f'must be "#" or "*", got {_show(terminator)}')
            terminator = default.terminator
        prompt = raw.get("prompt")
        return DirectDial(
            digits=self.whole(
                raw.get("digits", default.digits),
                f"{path}.digits",
                default.digits,
                2,
                _MAX_EXTENSION_DIGITS,
            ),
            inter_digit_timeout=self.seconds(
                raw.get("inter_digit_timeout", default.inter_digit_timeout),
                f"{path}.inter_digit_timeout",
                default.inter_digit_timeout,
            ),
            terminator=terminator,
            prompt=None if prompt is None else self.prompt(prompt, f"{path}.prompt"),
        )

    def menu(self, name: str, raw: Mapping[str, Any], path: str) -> Menu:
        self.unknown_keys(raw, _MENU_KEYS, path)
        default = Menu(name, ())
        if "prompts" in raw:
            prompts = self.prompt_list(raw["prompts"], f"{path}.prompts", allow_empty=False)
        else:
            self.add(path, "missing required key 'prompts'")
            prompts = ()
        greeting = self.prompt_list(raw.get("greeting", []), f"{path}.greeting", allow_empty=True)
        options: dict[str, MenuAction] = {}
        raw_options = raw.get("options", {})
        if not isinstance(raw_options, Mapping):
            self.add(
                f"{path}.options", f"must be a table of key = action, got {_show(raw_options)}"
            )
            raw_options = {}
        for key, raw_action in raw_options.items():
            option_path = f"{path}.options.{key}"
            if key not in OPTION_KEYS:
                self.add(option_path, "option keys are single digits 0-9, * or #")
                self.actions_broken = True
                continue
            action = self.action(raw_action, option_path)
            if action is not None:
                options[key] = action
        on_exhausted = default.on_exhausted
        if "on_exhausted" in raw:
            on_exhausted = self.action(raw["on_exhausted"], f"{path}.on_exhausted") or on_exhausted
        else:
            self.prompts.append((f"{path}.on_exhausted", "goodbye"))  # the default's prompt
        invalid_prompt = self.prompt(
            raw.get("invalid_prompt", default.invalid_prompt), f"{path}.invalid_prompt"
        )
        timeout_prompt = self.prompt(
            raw.get("timeout_prompt", default.timeout_prompt), f"{path}.timeout_prompt"
        )
        hours, closed = self.hours_and_closed(raw, path, default.closed)
        parent = raw.get("parent")
        return Menu(
            name=name,
            greeting=greeting,
            prompts=prompts,
            options=options,
            timeout=self.seconds(raw.get("timeout", default.timeout), f"{path}.timeout", 5.0),
            max_retries=self.whole(
                raw.get("max_retries", default.max_retries), f"{path}.max_retries", 3, 0, 20
            ),
            invalid_prompt=invalid_prompt or default.invalid_prompt,
            timeout_prompt=timeout_prompt or default.timeout_prompt,
            on_exhausted=on_exhausted,
            parent=None if parent is None else self.menu_name(parent, f"{path}.parent"),
            direct_dial=(
                None
                if "direct_dial" not in raw
                else self.direct_dial(raw["direct_dial"], f"{path}.direct_dial")
            ),
            hours=hours,
            closed=closed,
        )

    def hours_and_closed(
        self, raw: Mapping[str, Any], path: str, default: MenuAction
    ) -> tuple[str | None, MenuAction]:
        """A menu's ``hours`` and ``closed`` keys, which only make sense together."""
        hours: str | None = None
        if "hours" in raw:
            value = raw["hours"]
            if isinstance(value, str) and value:  # whether it names a table is checked later
                hours = value
            else:
                self.add(f"{path}.hours", f"must be an hours name (a string), got {_show(value)}")
                self.actions_broken = True  # its closed action's menu would seem unreachable
        if "closed" not in raw:
            if hours is not None:
                self.prompts.append((f"{path}.closed", "closed"))  # the default's prompt
            return hours, default
        closed = self.action(raw["closed"], f"{path}.closed") or default
        if "hours" not in raw:
            self.add(f"{path}.closed", f"has no effect without hours (set {path}.hours)")
            self.actions_broken = True  # a menu only this closed leads to is the same mistake
        return hours, closed


# Under its old name too: stasis_app.queues.loader imports it from here.
_show = show


def parse(
    data: Mapping[str, Any],
    source: str,
    *,
    prompt_exists: PromptExists | None = None,
    queues: Collection[str] | None = None,
) -> IvrDefinition:
    """Validate decoded TOML and build the definition, or raise listing every problem.

    ``prompt_exists(language, prompt)`` says whether a sound file exists; when given, every prompt
    the IVR can play is checked with it. ``queues``, when given, are the queues that exist; every
    ``queue`` action must name one of them. Without it queue names are only checked for form.
    """
    check = _Checker(queues)
    check.unknown_keys(data, _TOP_KEYS, "")
    language: str | None = None
    raw_language = data.get("language", "ko")
    if isinstance(raw_language, str) and _LANGUAGE.fullmatch(raw_language):
        language = raw_language
    else:
        check.add("language", f'must be a code such as "ko" or "en", got {_show(raw_language)}')
    start: str | None = None
    if "start" in data:
        start = check.menu_name(data["start"], "start")
    else:
        check.add("start", 'is required: name the first menu, e.g. start = "main"')

    menus: dict[str, Menu] = {}
    broken: set[str] = set()
    raw_menus = data.get("menus")
    if not isinstance(raw_menus, Mapping) or not raw_menus:
        check.add("menus", "at least one menu is required, e.g. [menus.main]")
        raw_menus = {}
    for name, raw in raw_menus.items():
        path = f"menus.{name}"
        if not NAME.fullmatch(name):
            check.add(path, "menu names may only use letters, digits, '-' and '_'")
        if not isinstance(raw, Mapping):
            check.add(path, f"must be a table ([{path}]), got {_show(raw)}")
            broken.add(name)
            continue
        menus[name] = check.menu(name, raw, path)
    hours, broken_hours = read_hours(data.get("hours", {}), check)

    problems = check.problems
    problems.extend(
        reference_problems(
            start or "",
            menus,
            hours=[*hours, *broken_hours],
            broken=broken,
            judge_reachability=not check.actions_broken,
        )
    )
    if prompt_exists is not None and language is not None:
        for path, prompt in check.prompts:
            if not prompt_exists(language, prompt):
                problems.append(
                    Problem(path, f"prompt {prompt!r} has no sound file for language {language!r}")
                )
    if problems or language is None or start is None:
        raise IvrDefinitionError(source, problems)
    return IvrDefinition(language=language, start=start, menus=menus, source=source, hours=hours)


def load(
    path: str | os.PathLike[str],
    *,
    prompt_exists: PromptExists | None = None,
    queues: Collection[str] | None = None,
) -> IvrDefinition:
    """Read and parse an IVR file. Unreadable files and TOML syntax errors are problems too."""
    source, data = read_toml(path)
    return parse(data, source, prompt_exists=prompt_exists, queues=queues)


def read_toml(path: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """(source name, decoded TOML) of a definition file; an unreadable file, text that is not
    UTF-8 and a TOML syntax error (with its line and column) raise IvrDefinitionError."""
    source = os.fspath(path)
    try:
        text = Path(source).read_bytes().decode("utf-8")
    except OSError as exc:
        raise IvrDefinitionError(
            source, [Problem("", f"cannot read the file: {exc.strerror}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise IvrDefinitionError(source, [Problem("", f"not UTF-8 text: {exc.reason}")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IvrDefinitionError(source, [_syntax_problem(str(exc), text)]) from exc
    return source, data


def _syntax_problem(message: str, text: str) -> Problem:
    """tomllib (3.11) puts the position only in its message: normalise it to 'line L, column C'."""
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found:
        line, column = int(found[1]), int(found[2])
        message = message[: found.start()]
    else:
        message = re.sub(r"\s*\(at end of document\)$", "", message)
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    return Problem("", f"TOML syntax error at line {line}, column {column}: {message}")


def sound_files(root: str | os.PathLike[str]) -> PromptExists:
    """A ``prompt_exists`` that looks for ``root/<language>/<prompt>.<any extension>``."""
    base = Path(root)

    def exists(language: str, prompt: str) -> bool:
        folder = base / language / Path(prompt).parent
        stem = Path(prompt).name
        return folder.is_dir() and any(p.stem == stem for p in folder.iterdir() if p.is_file())

    return exists
