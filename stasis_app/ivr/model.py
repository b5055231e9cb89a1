"""The IVR definition: menus, what each key does, and the checks that tie menus together.

Pure data. :mod:`stasis_app.ivr.loader` builds it from TOML; tests may build it directly. Either
way :class:`IvrDefinition` checks its cross references when constructed (every ``goto``, ``back``
and ``parent`` names a menu that exists, no menu is unreachable, exhaustion cannot loop), so the
engine never meets a dangling menu name and needs no defensive branches for one.

The option actions are called ``TransferCall``/``HangupCall`` (not ``Transfer``/``Hangup``) so they
cannot be confused with the engine's actions of those names, which the call task executes.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from stasis_app.errors import IvrDefinitionError, Problem

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


MenuAction = GotoMenu | TransferCall | PlayAndReturn | GoBack | RepeatMenu | HangupCall


@dataclass(frozen=True, slots=True)
class DirectDial:
    """Callers may key an extension of exactly ``digits`` digits instead of choosing an option."""

    digits: int = 4
    inter_digit_timeout: float = 3.0
    terminator: str = "#"
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Menu:
    """One menu. ``greeting`` plays only on entry; ``prompts`` on entry and on every replay."""

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


@dataclass(frozen=True, slots=True)
class IvrDefinition:
    """A complete, valid IVR. Construction raises :class:`IvrDefinitionError` if it is not."""

    language: str
    start: str
    menus: Mapping[str, Menu]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        problems = reference_problems(self.start, self.menus)
        if problems:
            raise IvrDefinitionError(self.source, problems)


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


def reference_problems(
    start: str,
    menus: Mapping[str, Menu],
    *,
    broken: Collection[str] = (),
    judge_reachability: bool = True,
) -> list[Problem]:
    """Every problem in how menus refer to each other.

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
                    "must end the menu: use hangup, transfer, goto or back "
                    "(repeat/play would keep a silent caller forever)",
                )
            )
    problems.extend(_exhaustion_loops(menus, known))
    if judge_reachability and start in menus and not broken:
        problems.extend(_unreachable(start, menus))
    return problems


def _exhaustion_loops(menus: Mapping[str, Menu], known: Collection[str]) -> list[Problem]:
    """A silent caller follows on_exhausted from menu to menu; that chain must end."""
    problems: list[Problem] = []
    reported: set[str] = set()
    for first in menus:
        chain = [first]
        while True:
            menu = menus.get(chain[-1])
            nexts = [] if menu is None else _targets(menu, menu.on_exhausted)
            if not nexts or nexts[0] not in known:
                break
            if nexts[0] in chain:
                loop = chain[chain.index(nexts[0]) :]
                if not reported.intersection(loop):
                    reported.update(loop)
                    shown = " -> ".join([*loop, nexts[0]])
                    problems.append(
                        Problem(
                            f"menus.{loop[0]}.on_exhausted",
                            f"a caller who never presses a key would loop forever: {shown}",
                        )
                    )
                break
            chain.append(nexts[0])
    return problems


def _unreachable(start: str, menus: Mapping[str, Menu]) -> list[Problem]:
    """Menus no path from ``start`` leads to: dead configuration or a mistyped ``goto``."""
    seen = {start}
    todo = [start]
    while todo:
        menu = menus[todo.pop()]
        for action in [*menu.options.values(), menu.on_exhausted]:
            for target in _targets(menu, action):
                if target in menus and target not in seen:
                    seen.add(target)
                    todo.append(target)
    return [
        Problem(
            f"menus.{name}",
            f"unreachable: no option or on_exhausted leads here from the start menu {start!r}",
        )
        for name in menus
        if name not in seen
    ]
