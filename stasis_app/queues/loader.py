"""Build a :class:`QueueConfig` from ``queues.toml``, reporting every problem with its dotted path.

The same contract as the IVR loader (:mod:`stasis_app.ivr.loader`), whose checks and messages it
reuses: :func:`parse` is pure and takes decoded TOML; :func:`load` reads a file and turns an
unreadable file or a TOML syntax error into an :class:`IvrDefinitionError` too. Nothing is
half-loaded: the result is complete and valid, or the error lists every problem (each queue's
keys in document order, then cross references and overflow loops, then missing sound files).
No ``[queues]`` at all is valid: a site without queues. The format is in docs/queues.md.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from stasis_app.errors import IvrDefinitionError, Problem

# The IVR loader's checker gives extensions, prompts and numbers the same messages here as
# there (e.g. 'write "1000" (quoted)'). Private names, imported on purpose until the IVR
# loader makes them public.
from stasis_app.ivr.loader import PromptExists, _show, read_toml
from stasis_app.ivr.loader import _Checker as _IvrChecker
from stasis_app.ivr.model import suggest
from stasis_app.queues.model import (
    POSITION_PROMPTS,
    WAIT_PROMPTS,
    Overflow,
    OverflowKind,
    QueueConfig,
    QueueDef,
    Strategy,
)

_TOP_KEYS = ("queues",)
_QUEUE_KEYS = (
    "members",
    "agents",
    "strategy",
    "ring_timeout",
    "retry",
    "wrapup",
    "max_wait",
    "on_max_wait",
    "max_callers",
    "on_full",
    "greeting",
    "announce_every",
    "announce_position",
    "announce_wait",
    "music",
    "service_level",
)
_VERBS = ("queue", "extension", "hangup")
_STRATEGIES = {strategy.value: strategy for strategy in Strategy}
# Queue names appear in dotted paths, call events and REST URLs; MOH classes in musiconhold.conf.
_NAME = re.compile(r"[A-Za-z0-9_-]+")

_LISTED = 3  # missing prompts named in one problem (an announcement uses ten or more)

_Edge = tuple[str, str, str]  # (from queue, path of the overflow, to queue)


class _Checker:
    """Collects problems, prompt references and overflow edges while building queues."""

    def __init__(self) -> None:
        # Used, not extended: the IVR's checker grows IVR-only methods of its own.
        self.base = _IvrChecker()
        self.problems = self.base.problems
        self.prompts = self.base.prompts  # (path, prompt name) for the sound-file check
        self.edges: list[_Edge] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def queue(self, name: str, raw: Mapping[str, Any], path: str) -> QueueDef:
        """The queue ``name``, its keys checked in the order docs/queues.md lists them."""
        self.base.unknown_keys(raw, _QUEUE_KEYS, path)
        d = QueueDef(name)
        members, agents = self.staff(raw, path)
        strategy = self.strategy(raw.get("strategy", d.strategy.value), f"{path}.strategy")
        ring_timeout = self.base.seconds(
            raw.get("ring_timeout", d.ring_timeout), f"{path}.ring_timeout", d.ring_timeout
        )
        retry = self.base.seconds(raw.get("retry", d.retry), f"{path}.retry", d.retry)
        wrapup = self.zero_or_more(raw.get("wrapup", d.wrapup), f"{path}.wrapup", d.wrapup)
        max_wait = self.never(raw.get("max_wait", d.max_wait), f"{path}.max_wait", d.max_wait)
        on_max_wait = self.overflow_key(
            raw,
            "on_max_wait",
            path,
            d.on_max_wait,
            queue=name,
            dead="max_wait = 0 lets callers wait forever" if max_wait is None else None,
        )
        max_callers = self.max_callers(raw.get("max_callers"), f"{path}.max_callers")
        on_full = self.overflow_key(
            raw,
            "on_full",
            path,
            d.on_full,
            queue=name,
            # A bad max_callers is a problem of its own: then on_full is not judged.
            dead="without max_callers the queue is never full"
            if "max_callers" not in raw
            else None,
        )
        greeting = self.greeting(raw, path, d.greeting)
        announce_every = self.never(
            raw.get("announce_every", d.announce_every),
            f"{path}.announce_every",
            d.announce_every,
        )
        announce_position = self.flag(raw, "announce_position", path, d.announce_position)
        announce_wait = self.flag(raw, "announce_wait", path, d.announce_wait)
        if announce_every is not None:  # announcements are played: check their prompts
            for on, prompts, key in (
                (announce_position, POSITION_PROMPTS, "announce_position"),
                (announce_wait, WAIT_PROMPTS, "announce_wait"),
            ):
                self.prompts.extend((f"{path}.{key}", p) for p in prompts if on)
        music = self.music(raw.get("music", d.music), f"{path}.music", d.music)
        service_level = self.base.seconds(
            raw.get("service_level", d.service_level), f"{path}.service_level", d.service_level
        )
        return QueueDef(
            name=name,
            members=members,
            agents=agents,
            strategy=strategy,
            ring_timeout=ring_timeout,
            retry=retry,
            wrapup=wrapup,
            max_wait=max_wait,
            on_max_wait=on_max_wait,
            max_callers=max_callers,
            on_full=on_full,
            greeting=greeting,
            announce_every=announce_every,
            announce_position=announce_position,
            announce_wait=announce_wait,
            music=music,
            service_level=service_level,
        )

    def staff(self, raw: Mapping[str, Any], path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(members, agents); an extension may appear once, in one of the two lists."""
        seen: dict[str, str] = {}  # extension -> where it was first listed
        lists: list[tuple[str, ...]] = []
        listed = 0
        readable = True
        for key in ("members", "agents"):
            value = raw.get(key, [])
            if not isinstance(value, list):
                self.add(
                    f"{path}.{key}",
                    f'must be a list of extensions such as ["1000", "1001"], got {_show(value)}',
                )
                readable = False
                value = []
            listed += len(value)
            found: list[str] = []
            for i, item in enumerate(value):
                extension = self.base.extension(item, f"{path}.{key}.{i}")
                if extension is None:
                    continue
                first = seen.get(extension)
                if first is None:
                    seen[extension] = f"{key}.{i}"
                    found.append(extension)
                elif first.startswith(key):
                    self.add(f"{path}.{key}.{i}", f"{extension!r} is listed twice (also {first})")
                else:
                    self.add(
                        f"{path}.{key}.{i}",
                        f"{extension!r} is also a static member ({first}): list it in members "
                        "(always logged in) or agents (logs in and out), not both",
                    )
            lists.append(tuple(found))
        if readable and not listed:
            self.add(path, "has no members and no agents, so no one could take its calls")
        return lists[0], lists[1]

    def never(self, value: object, path: str, default: float | None) -> float | None:
        """Seconds where 0 means never (None)."""
        seconds = self._at_least_zero(value, path)
        if seconds is None:
            return default
        return None if seconds == 0 else seconds

    def zero_or_more(self, value: object, path: str, default: float) -> float:
        seconds = self._at_least_zero(value, path)
        return default if seconds is None else seconds

    def _at_least_zero(self, value: object, path: str) -> float | None:
        """``value`` as seconds >= 0, or None after reporting why it is not."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, f"must be a number of seconds, got {_show(value)}")
            return None
        if not math.isfinite(value) or value < 0:
            self.add(path, f"must be 0 or a positive number, got {value}")
            return None
        return float(value)

    def max_callers(self, value: object, path: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"must be a whole number, got {_show(value)}")
            return None
        if value < 1:
            self.add(path, f"must be at least 1, got {value}")
            return None
        return value

    def flag(self, raw: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.add(f"{path}.{key}", f"must be true or false, got {_show(value)}")
            return default
        return value

    def strategy(self, value: object, path: str) -> Strategy:
        if isinstance(value, str) and value in _STRATEGIES:
            return _STRATEGIES[value]
        named = (
            f"unknown strategy {value!r}{suggest(value, _STRATEGIES)}"
            if isinstance(value, str)
            else f"must be a strategy name, got {_show(value)}"
        )
        self.add(path, f"{named}: use {', '.join(_STRATEGIES)}")
        return Strategy.LONGEST_IDLE

    def greeting(self, raw: Mapping[str, Any], path: str, default: str | None) -> str | None:
        value = raw.get("greeting", default)
        if value is False:
            return None
        if isinstance(value, bool):
            self.add(
                f"{path}.greeting", "must be a prompt name, or false for no greeting, got true"
            )
            return default
        return self.base.prompt(value, f"{path}.greeting")

    def music(self, value: object, path: str, default: str) -> str:
        if isinstance(value, str) and _NAME.fullmatch(value):
            return value
        self.add(
            path,
            "must be a music-on-hold class name (letters, digits, '-' and '_'), "
            f"got {_show(value)}",
        )
        return default

    def overflow_key(
        self,
        raw: Mapping[str, Any],
        key: str,
        path: str,
        default: Overflow,
        *,
        queue: str,
        dead: str | None,
    ) -> Overflow:
        """``raw[key]`` (or ``default``) for ``queue``; ``dead`` says why it never happens."""
        where = f"{path}.{key}"
        if key not in raw:
            if dead is None and default.prompt is not None:
                self.prompts.append((where, default.prompt))
            return default
        mark = len(self.prompts)
        overflow = self.overflow(raw[key], where)
        if dead is not None:
            self.add(where, f"is never used: {dead}")
            del self.prompts[mark:]  # nobody hears them: one problem is enough
        elif overflow is not None and overflow.kind is OverflowKind.QUEUE and overflow.target:
            self.edges.append((queue, where, overflow.target))
        return overflow or default

    def overflow(self, raw: object, path: str) -> Overflow | None:
        if isinstance(raw, str):
            if raw == "hangup":
                return Overflow(OverflowKind.HANGUP)
            self.add(
                path,
                f'unknown overflow {raw!r}{suggest(raw, ("hangup",))}: use "hangup" or a table '
                'such as { queue = "support" }',
            )
            return None
        if not isinstance(raw, Mapping):
            self.add(
                path,
                'must be a table such as { queue = "support" }, { extension = "2000" } or '
                f'{{ hangup = "queue-timeout" }}, got {_show(raw)}',
            )
            return None
        verbs = [verb for verb in _VERBS if verb in raw]
        if len(verbs) != 1:
            found = " and ".join(verbs) if verbs else "none"
            self.add(
                path, f"an overflow needs exactly one of queue, extension, hangup; got {found}"
            )
            return None
        verb = verbs[0]
        self.base.unknown_keys(raw, (verb,) if verb == "hangup" else (verb, "prompt"), path)
        return self._verb_overflow(verb, raw, path)

    def _verb_overflow(self, verb: str, raw: Mapping[str, Any], path: str) -> Overflow | None:
        value = raw[verb]
        if verb == "hangup":
            prompt = self.base.prompt(value, f"{path}.hangup")
            return None if prompt is None else Overflow(OverflowKind.HANGUP, prompt=prompt)
        prompt = self.base.prompt(raw["prompt"], f"{path}.prompt") if "prompt" in raw else None
        target: str | None
        if verb == "extension":
            target = self.base.extension(value, f"{path}.extension")
        elif isinstance(value, str) and value:
            target = value
        else:
            self.add(f"{path}.queue", f"must be a queue name (a string), got {_show(value)}")
            target = None
        return None if target is None else Overflow(OverflowKind(verb), target, prompt)


def _reference_problems(edges: Sequence[_Edge], names: Sequence[str]) -> list[Problem]:
    """Overflows to unknown queues or to the queue itself, and overflow loops."""
    problems: list[Problem] = []
    graph: dict[str, list[_Edge]] = {}
    for edge in edges:
        source, path, target = edge
        if target == source:
            problems.append(Problem(f"{path}.queue", "a queue cannot overflow to itself"))
        elif target not in names:
            others = [n for n in names if n != source]
            problems.append(
                Problem(f"{path}.queue", f"unknown queue {target!r}{suggest(target, others)}")
            )
        else:
            graph.setdefault(source, []).append(edge)
    # A loop is reported from its queue that comes first in the file, at the overflow that
    # starts it, once per overflow (a depth-first search per overflow: no path explosion).
    order = {name: i for i, name in enumerate(names)}
    seen: set[tuple[str, ...]] = set()
    for start in names:
        for _, path, target in graph.get(start, []):
            if order[target] < order[start]:
                continue
            loop = _path_back(graph, order, [start, target], set())
            if loop is not None and loop not in seen:
                seen.add(loop)
                message = "a caller could be sent round these queues forever: " + " -> ".join(loop)
                problems.append(Problem(path, message))
    return problems


def _path_back(
    graph: Mapping[str, list[_Edge]], order: Mapping[str, int], chain: list[str], done: set[str]
) -> tuple[str, ...] | None:
    """``chain`` extended back to its first queue through queues after it in the file, if it can
    be; ``done`` are the queues already known to lead nowhere back."""
    start, here = chain[0], chain[-1]
    for _, _, target in graph.get(here, []):
        if target == start:
            return (*chain, start)
        if order[target] > order[start] and target not in done and target not in chain:
            loop = _path_back(graph, order, [*chain, target], done)
            if loop is not None:
                return loop
    done.add(here)
    return None


def parse(
    data: Mapping[str, Any],
    source: str,
    *,
    prompt_exists: PromptExists | None = None,
    languages: Sequence[str] = ("ko",),
) -> QueueConfig:
    """Validate decoded TOML and build the queues, or raise listing every problem.

    ``prompt_exists(language, prompt)`` says whether a sound file exists; when given, every prompt
    a queue can play (greeting, announcements, overflow prompts, including the defaults) is
    checked in each of ``languages``.
    """
    check = _Checker()
    check.base.unknown_keys(data, _TOP_KEYS, "")
    raw_queues = data.get("queues", {})
    if not isinstance(raw_queues, Mapping):
        check.add("queues", f"must be a table of queues ([queues.NAME]), got {_show(raw_queues)}")
        raw_queues = {}
    queues: dict[str, QueueDef] = {}
    for name, raw in raw_queues.items():
        path = f"queues.{name}"
        if not _NAME.fullmatch(name):
            check.add(path, "queue names may only use letters, digits, '-' and '_'")
        if not isinstance(raw, Mapping):
            check.add(path, f"must be a table ([{path}]), got {_show(raw)}")
            continue
        queues[name] = check.queue(name, raw, path)

    problems = check.problems
    problems.extend(_reference_problems(check.edges, list(raw_queues)))
    if prompt_exists is not None:
        problems.extend(_missing_prompts(check.prompts, prompt_exists, languages))
    if problems:
        raise IvrDefinitionError(source, problems)
    return QueueConfig(queues=queues, source=source)


def _missing_prompts(
    used: Sequence[tuple[str, str]], prompt_exists: PromptExists, languages: Sequence[str]
) -> list[Problem]:
    """One problem per path and language, naming every prompt there without a sound file."""
    known: dict[tuple[str, str], bool] = {}
    missing: dict[tuple[str, str], list[str]] = {}
    for path, prompt in used:
        for language in languages:
            if (language, prompt) not in known:
                known[language, prompt] = prompt_exists(language, prompt)
            if not known[language, prompt]:
                missing.setdefault((path, language), []).append(prompt)
    problems: list[Problem] = []
    for (path, language), prompts in missing.items():
        if len(prompts) == 1:
            what = f"prompt {prompts[0]!r} has no sound file"
        else:
            names = ", ".join(repr(p) for p in prompts[:_LISTED])
            more = f" and {len(prompts) - _LISTED} more" if len(prompts) > _LISTED else ""
            what = f"prompts {names}{more} have no sound files"
        problems.append(Problem(path, f"{what} for language {language!r}"))
    return problems


def load(
    path: str | os.PathLike[str],
    *,
    prompt_exists: PromptExists | None = None,
    languages: Sequence[str] = ("ko",),
) -> QueueConfig:
    """Read and parse a queues file. A missing or unreadable file and TOML syntax errors are
    problems too (whether a site may go without the file is the caller's decision)."""
    source, data = read_toml(path)
    return parse(data, source, prompt_exists=prompt_exists, languages=languages)


__all__ = ["PromptExists", "load", "parse"]
