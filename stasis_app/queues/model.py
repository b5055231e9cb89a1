"""What a queue is: pure data, built by :mod:`stasis_app.queues.loader` from ``queues.toml``.

Construction checks nothing; the loader reports every problem with its dotted path before a
:class:`QueueConfig` is built (the same way the IVR loader does), so the ACD and the call machine
never meet a dangling queue name or an overflow loop.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

# Announcements are played from one prompt per number up to these, then a catch-all prompt
# (``queue-position-many``, ``queue-wait-long``); the loader checks every one exists.
MAX_POSITION_PROMPT = 9
MAX_WAIT_PROMPT = 10  # minutes


def position_prompt(position: int) -> str:
    """The prompt announcing ``position`` (1: next to be served)."""
    return (
        f"queue-position-{position}" if position <= MAX_POSITION_PROMPT else "queue-position-many"
    )


def wait_prompt(minutes: int) -> str:
    """The prompt announcing an estimated wait of ``minutes`` (at least 1)."""
    return f"queue-wait-{minutes}" if minutes <= MAX_WAIT_PROMPT else "queue-wait-long"


POSITION_PROMPTS = tuple(position_prompt(n) for n in range(1, MAX_POSITION_PROMPT + 2))
WAIT_PROMPTS = tuple(wait_prompt(m) for m in range(1, MAX_WAIT_PROMPT + 2))


class Strategy(enum.Enum):
    LONGEST_IDLE = "longest-idle"  # the available agent idle the longest (since its last call)
    ROUND_ROBIN = "round-robin"  # the next available agent after the last one offered, in order
    RING_ALL = "ring-all"  # every available agent at once; the first to answer takes the call


class OverflowKind(enum.Enum):
    QUEUE = "queue"  # join another queue (at the back)
    EXTENSION = "extension"  # be routed to an extension (a phone, 500, 7777)
    HANGUP = "hangup"  # hear a prompt, then the call ends


@dataclass(frozen=True, slots=True)
class Overflow:
    """Where a caller goes when the queue will not keep them (waited too long, or full)."""

    kind: OverflowKind
    target: str | None = None  # the queue or extension; None for HANGUP
    prompt: str | None = None  # played first (for HANGUP: the last thing the caller hears)

    def __str__(self) -> str:
        if self.kind is OverflowKind.HANGUP:
            return f"hang up after {self.prompt}" if self.prompt else "hang up"
        return f"{self.kind.value} {self.target}"


@dataclass(frozen=True, slots=True)
class QueueDef:
    """One ``[queues.NAME]`` table. Times are seconds; ``None`` stands for the file's ``0``
    where 0 means "never" (``max_wait``: wait forever, ``announce_every``: no announcements)
    and for an absent ``max_callers`` (no limit) or ``greeting = false`` (no greeting)."""

    name: str
    members: tuple[str, ...] = ()  # static: always logged in (unless paused)
    agents: tuple[str, ...] = ()  # may log in and out (REST, CLI)
    strategy: Strategy = Strategy.LONGEST_IDLE
    ring_timeout: float = 15.0  # seconds an offered agent's phone rings before the next one
    retry: float = 2.0  # pause before a caller is offered again after everyone was tried
    wrapup: float = 5.0  # seconds after a queue call before the agent is offered another
    max_wait: float | None = 300.0  # None: wait forever
    on_max_wait: Overflow = Overflow(OverflowKind.HANGUP, prompt="queue-timeout")
    max_callers: int | None = None  # None: no limit
    on_full: Overflow = Overflow(OverflowKind.HANGUP, prompt="queue-full")
    greeting: str | None = "queue-hold"  # played once, when the caller joins
    announce_every: float | None = 30.0  # None: never announce
    announce_position: bool = True
    announce_wait: bool = True
    music: str = "default"  # Asterisk music-on-hold class
    service_level: float = 20.0  # seconds: "answered within" threshold for the service level

    @property
    def staff(self) -> tuple[str, ...]:
        """Every extension that can ever take this queue's calls (members, then agents)."""
        return self.members + tuple(a for a in self.agents if a not in self.members)


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """Every queue of the site by name (none is valid: a site without queues)."""

    queues: Mapping[str, QueueDef] = field(default_factory=dict)
    source: str = "<memory>"

    def agents(self) -> tuple[str, ...]:
        """Every extension named by any queue, sorted."""
        return tuple(sorted({ext for q in self.queues.values() for ext in q.staff}))


__all__ = [
    "MAX_POSITION_PROMPT",
    "MAX_WAIT_PROMPT",
    "POSITION_PROMPTS",
    "WAIT_PROMPTS",
    "Overflow",
    "OverflowKind",
    "QueueConfig",
    "QueueDef",
    "Strategy",
    "position_prompt",
    "wait_prompt",
]
