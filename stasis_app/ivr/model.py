"""The IVR definition: menus, what each key does, and the checks that tie menus together.

Pure data. :mod:`stasis_app.ivr.loader` builds it from TOML; tests may build it directly. Either
way :class:`IvrDefinition` checks its cross references when constructed (every ``goto``, ``back``
and ``parent`` names a menu that exists, every ``hours`` a table that exists, no menu is
unreachable, nothing that runs without a key press can loop), so the engine never meets a dangling
name and needs no defensive branches for one. Business hours live in :mod:`stasis_app.ivr.hours`.

The option actions are called ``TransferCall``/``HangupCall`` (not ``Transfer``/``Hangup``) so they
cannot be confused with the engine's actions of those names, which the call task executes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stasis_app.errors import IvrDefinitionError, Problem

if TYPE_CHECKING:  # hours.py builds on this module's helpers, so it is imported the other way
    from stasis_app.ivr.hours import Hours

#: Menu, hours and queue names end up in dotted paths and call events: keep them plain.
NAME = re.compile(r"[A-Za-z0-9_-]+")
#: Digits that can make up a direct-dial extension.
EXTENSION_DIGITS = frozenset("0123456789")
#: Keys a caller can press that may be bound to an option.
OPTION_KEYS = frozenset("0123456789*#")


@dataclass(frozen=True, slots=True)
class GotoMenu:
    """Enter another menu (its greeting and prompts play; its retry count starts at zero)."""

    menu: str

    def __str__(self) -> str:
        return f"go to menu {self.menu}"


@dataclass(frozen=True, slots=True)
class TransferCall:
    """Transfer the caller to an extension, optionally after a prompt such as 'transferring'."""

    extension: str
    prompt: str | None = None

    def __str__(self) -> str:
        return f"transfer to {self.extension}"


@dataclass(frozen=True, slots=True)
class QueueCall:
    """Put the caller in a call queue, optionally after a prompt such as 'transferring'."""

    queue: str
    prompt: str | None = None

    def __str__(self) -> str:
        return f"queue {self.queue}"


@dataclass(frozen=True, slots=True)
class PlayAndReturn:
    """Play some prompts, then the current menu's prompts again."""

    prompts: tuple[str, ...]

    def __str__(self) -> str:
        return f"play {', '.join(self.prompts)} and return"


@dataclass(frozen=True, slots=True)
class GoBack:
    """Enter the current menu's parent."""

    def __str__(self) -> str:
        return "back to the parent menu"


@dataclass(frozen=True, slots=True)
class RepeatMenu:
    """Play the current menu's prompts again (not counted as a retry)."""

    def __str__(self) -> str:
        return "repeat the menu"


@dataclass(frozen=True, slots=True)
class HangupCall:
    """Hang up, optionally after a prompt such as 'goodbye'."""

    prompt: str | None = None

    def __str__(self) -> str:
        return "hang up"


MenuAction = GotoMenu | TransferCall | QueueCall | PlayAndReturn | GoBack | RepeatMenu | HangupCall
#: What a menu's ``closed`` action may not be: the caller never entered the menu to come back to.
NOT_CLOSED_ACTIONS = (RepeatMenu, PlayAndReturn, GoBack)


@dataclass(frozen=True, slots=True)
class DirectDial:
    """Callers may key an extension of exactly ``digits`` digits instead of choosing an option."""

    digits: int = 4
    inter_digit_timeout: float = 3.0
    terminator: str = "#"
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Menu:
    """One menu. ``greeting`` plays only on entry; ``prompts`` on entry and on every replay.

    With ``hours``, a caller whose call arrived while those hours were closed does not enter the
    menu at all: ``closed`` runs instead.
    """

    name: str
    prompts: tuple[str, ...]
    options: Mapping[str, MenuAction] = field(default_factory=dict)
    timeout: float = 5.0
    max_retries: int = 3
    invalid_prompt: str = "invalid"
    timeout_prompt: str = "timeout"
    on_exhausted: MenuAction = HangupCall("goodbye")
    parent: str | None = None
    direct_dial: DirectDial | None = None
    greeting: tuple[str, ...] = ()
    hours: str | None = None
    closed: MenuAction = HangupCall("closed")


@dataclass(frozen=True, slots=True)
class IvrDefinition:
    """A complete, valid IVR. Construction raises :class:`IvrDefinitionError` if it is not."""

    language: str
    start: str
    menus: Mapping[str, Menu]
    source: str = "<memory>"
    hours: Mapping[str, Hours] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = [
            Problem(f"hours.{name}", f"hours object is named {table.name!r}, not {name!r}")
            for name, table in self.hours.items()
            if table.name != name
        ]
        problems += reference_problems(self.start, self.menus, hours=self.hours)
        if problems:
            raise IvrDefinitionError(self.source, problems)


def show(value: object) -> str:
    """A value as the TOML author would recognise it, with its type when that is the issue."""
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    kind = "table" if isinstance(value, Mapping) else kinds.get(type(value), type(value).__name__)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"{kind} {shown}"


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close to ``word``, else an empty string."""
    names = list(candidates)
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if not close:  # 'timeout' for 'inter_digit_timeout': a part of the name, if only one fits
        close = [name for name in names if len(word) >= 4 and word in name][:2]
    return f" (did you mean {close[0]!r}?)" if len(close) == 1 else ""


def _targets(menu: Menu, action: MenuAction) -> list[str]:
    """The menus ``action`` can lead to from ``menu``."""
    if isinstance(action, GotoMenu):
        return [action.menu]
    if isinstance(action, GoBack) and menu.parent is not None:
        return [menu.parent]
    return []


def _unattended(menu: Menu) -> list[tuple[str, str]]:
    """(key, menu) for each way ``menu`` can lead on with no key pressed: exhaustion, and its
    ``closed`` action when it has hours."""
    steps = [("on_exhausted", target) for target in _targets(menu, menu.on_exhausted)]
    if menu.hours is not None:
        steps += [("closed", target) for target in _targets(menu, menu.closed)]
    return steps


def reference_problems(
    start: str,
    menus: Mapping[str, Menu],
    *,
    hours: Collection[str] = (),
    broken: Collection[str] = (),
    judge_reachability: bool = True,
) -> list[Problem]:
    """Every problem in how menus refer to each other and to ``hours`` (the names of the hours
    tables, including any that could not be built).

    ``broken`` names menus that exist in the source but could not be built: references to them are
    not reported. Reachability is only judged when every menu and option could be read, because a
    menu reached only through an unreadable option would otherwise be reported twice.
    """
    known = set(menus) | set(broken)
    problems: list[Problem] = []

    def check_menu_name(path: str, name: str) -> None:
        if name not in known:
            problems.append(Problem(path, f"unknown menu {name!r}{suggest(name, known)}"))

    if start:
        check_menu_name("start", start)
    for name, menu in menus.items():
        path = f"menus.{name}"
        if menu.name != name:
            problems.append(Problem(path, f"menu object is named {menu.name!r}, not {name!r}"))
        if menu.parent is not None:
            if menu.parent == name:
                problems.append(Problem(f"{path}.parent", "a menu cannot be its own parent"))
            else:
                check_menu_name(f"{path}.parent", menu.parent)
        if not menu.options and menu.direct_dial is None:
            problems.append(
                Problem(path, "has no options and no direct_dial, so a caller can only time out")
            )
        actions = [(f"{path}.options.{key}", action) for key, action in menu.options.items()]
        actions.append((f"{path}.on_exhausted", menu.on_exhausted))
        for action_path, action in actions:
            if isinstance(action, GotoMenu):
                check_menu_name(action_path, action.menu)
            elif isinstance(action, GoBack) and menu.parent is None:
                problems.append(
                    Problem(
                        action_path,
                        f"'back' needs a parent menu, and menu {name!r} has none "
                        f"(set {path}.parent)",
                    )
                )
        if isinstance(menu.on_exhausted, RepeatMenu | PlayAndReturn):
            problems.append(
                Problem(
                    f"{path}.on_exhausted",
                    "must end the menu: use hangup, transfer, queue, goto or back "
                    "(repeat/play would keep a silent caller forever)",
                )
            )
        problems.extend(_hours_problems(menu, path, hours, check_menu_name))
    problems.extend(_endless_loops(menus))
    if judge_reachability and start in menus and not broken:
        problems.extend(_unreachable(start, menus))
    return problems


def _hours_problems(
    menu: Menu, path: str, hours: Collection[str], check_menu_name: Callable[[str, str], None]
) -> list[Problem]:
    problems: list[Problem] = []
    if menu.hours is not None and menu.hours not in hours:
        problems.append(
            Problem(f"{path}.hours", f"unknown hours {menu.hours!r}{suggest(menu.hours, hours)}")
        )
    if isinstance(menu.closed, GotoMenu):
        check_menu_name(f"{path}.closed", menu.closed.menu)
    elif isinstance(menu.closed, NOT_CLOSED_ACTIONS):
        problems.append(
            Problem(
                f"{path}.closed",
                "must end the call or go to another menu: use hangup, transfer, queue or goto "
                "(not repeat, play or back: the caller never entered this menu)",
            )
        )
    return problems


def _endless_loops(menus: Mapping[str, Menu]) -> list[Problem]:
    """What happens without a key press (exhaustion, a closed menu) must end, not go round."""
    problems: list[Problem] = []
    reported: set[str] = set()
    done: set[str] = set()

    def visit(name: str, trail: list[tuple[str, str]]) -> None:
        """``trail``: the (menu, key) steps that led to ``name``."""
        on_trail = [menu for menu, _ in trail]
        if name in on_trail:
            loop = trail[on_trail.index(name) :]
            looping = [menu for menu, _ in loop]
            if not reported.intersection(looping):
                reported.update(looping)
                problems.append(_loop_problem(loop, name))
            return
        if name in done or name not in menus:
            return
        for key, target in _unattended(menus[name]):
            visit(target, [*trail, (name, key)])
        done.add(name)

    for first in menus:
        visit(first, [])
    return problems


def _loop_problem(loop: list[tuple[str, str]], back_to: str) -> Problem:
    keys = {key for _, key in loop}
    if keys == {"on_exhausted"}:
        who = "a caller who never presses a key would loop forever"
    elif keys == {"closed"}:
        who = "a caller arriving out of hours would loop forever"
    else:
        who = "a caller who never presses a key would loop forever out of hours"
    first_menu, first_key = loop[0]
    shown = " -> ".join([*(menu for menu, _ in loop), back_to])
    return Problem(f"menus.{first_menu}.{first_key}", f"{who}: {shown}")


def _unreachable(start: str, menus: Mapping[str, Menu]) -> list[Problem]:
    """Menus no path from ``start`` leads to: dead configuration or a mistyped ``goto``."""
    seen = {start}
    todo = [start]
    while todo:
        menu = menus[todo.pop()]
        targets = [t for action in menu.options.values() for t in _targets(menu, action)]
        targets += [target for _, target in _unattended(menu)]
        for target in targets:
            if target in menus and target not in seen:
                seen.add(target)
                todo.append(target)
    return [
        Problem(
            f"menus.{name}",
            "unreachable: no option, on_exhausted or closed action leads here "
            f"from the start menu {start!r}",
        )
        for name in menus
        if name not in seen
    ]
