"""Ask the lab Asterisk what it thinks: contacts, channels, and what it logged since a moment.

Tests assert on Asterisk's side, not only on what a SIP client saw. Every helper takes anything
with a ``cli(command) -> str`` method (``stasis_app.lab.Lab`` is one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class AsteriskCli(Protocol):
    """Runs one Asterisk CLI command and returns its output (``Lab.cli``)."""

    def cli(self, command: str, *, timeout: float = ...) -> str: ...


_CONTACT = re.compile(r"^\s*Contact:\s+(?P<aor>[^/\s]+)/(?P<uri>\S+)\s+\S+\s+(?P<status>\S+)")
_ACTIVE_CHANNELS = re.compile(r"^(\d+) active channels?", re.MULTILINE)


@dataclass(frozen=True)
class Contact:
    """One registered contact as ``pjsip show contacts`` lists it."""

    aor: str
    uri: str
    status: str
    """Avail, Unavail, NonQual, Unknown, ..."""


def contacts(asterisk: AsteriskCli) -> list[Contact]:
    """Every contact of every AOR (``pjsip show contacts``)."""
    found = []
    for line in asterisk.cli("pjsip show contacts").splitlines():
        match = _CONTACT.match(line)
        if match and match["aor"] != "<Aor":  # the column header line
            found.append(Contact(match["aor"], match["uri"], match["status"]))
    return found


def asterisk_contacts(asterisk: AsteriskCli, aor: str) -> list[str]:
    """Contact URIs currently bound to ``aor`` (e.g. ``sip:1000-0x55d0...@127.0.0.1:25060``)."""
    return [c.uri for c in contacts(asterisk) if c.aor == aor]


def channel_count(asterisk: AsteriskCli) -> int:
    """Number of active channels (``core show channels count``)."""
    out = asterisk.cli("core show channels count")
    match = _ACTIVE_CHANNELS.search(out)
    if match is None:
        raise ValueError(f"unexpected `core show channels count` output: {out!r}")
    return int(match[1])


def channel_names(asterisk: AsteriskCli) -> list[str]:
    """Names of the active channels (``PJSIP/1000-00000003`` ...; ``core show channels concise``
    prints one ``!``-separated line per channel, its name first)."""
    out = asterisk.cli("core show channels concise")
    return [line.split("!", 1)[0] for line in out.splitlines() if "!" in line]


class LogCursor:
    """What an Asterisk log file gained after a given moment (e.g. the start of a test).

    ``LogCursor(path)`` remembers the file's current size; :meth:`text` returns what was appended
    since. Asterisk writes its logs line by line, so polling :meth:`text` is enough to wait for a
    line to appear.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def text(self) -> str:
        """Everything logged since this cursor was made."""
        if not self.path.exists():
            return ""
        with self.path.open("rb") as log:
            if log.seek(0, 2) < self.start:  # rotated or truncated: all of it is new
                self.start = 0
            log.seek(self.start)
            return log.read().decode(errors="replace")

    def lines(self, containing: str = "") -> list[str]:
        """New lines, optionally only those containing ``containing``."""
        return [line for line in self.text().splitlines() if containing in line]
