"""Business hours: when a menu is open, and how an ``[hours.NAME]`` table is written.

:class:`Hours` answers :meth:`Hours.is_open` for a moment it is given; it never reads a clock.
:func:`read_hours` builds one from decoded TOML for :mod:`stasis_app.ivr.loader`, reporting every
problem with its dotted path. Time zones come from the system's tz database (:mod:`zoneinfo`).

Ranges are half-open, ``[start, end)`` in minutes since local midnight: ``"09:00-18:00"`` is open at
17:59:59 and closed at 18:00. They are wall-clock times in the table's zone, so on a daylight saving
change a range keeps its local meaning and the day is simply an hour shorter or longer.
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from stasis_app.ivr.model import NAME, show, suggest

#: ``[start, end)`` in minutes since local midnight; ``end`` may be 1440 (24:00).
Range = tuple[int, int]
#: Day keys of an hours table, indexed like :meth:`date.weekday` (0 = Monday).
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOURS_KEYS = ("timezone", *DAYS, "holidays", "dates")
CLOSED = "closed"
MINUTES_PER_DAY = 24 * 60

_RANGE = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXAMPLE = '"09:00-18:00"'


@dataclass(frozen=True, slots=True)
class Hours:
    """A weekly schedule in one time zone, with holidays (closed) and special dates.

    On a date listed in ``dates`` only those ranges apply, even if it is also a holiday; on a
    holiday nothing is open; on any other day the ranges of its weekday. A weekday missing from
    ``weekly`` is closed. Ranges within a day are sorted and do not overlap.
    """

    name: str
    timezone: zoneinfo.ZoneInfo
    weekly: Mapping[int, tuple[Range, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    dates: Mapping[date, tuple[Range, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The loader only builds valid tables; this guards tables built in code.
        if not set(self.weekly) <= set(range(7)):
            days = sorted(self.weekly)
            raise ValueError(f"hours {self.name!r}: days are 0 (Monday) to 6 (Sunday), got {days}")
        for ranges in [*self.weekly.values(), *self.dates.values()]:
            problem = _day_problem(ranges)
            if problem:
                raise ValueError(f"hours {self.name!r}: {problem}")

    def ranges_on(self, day: date) -> tuple[Range, ...]:
        """The open ranges of ``day``, a date in the table's own time zone."""
        if day in self.dates:
            return self.dates[day]
        if day in self.holidays:
            return ()
        return self.weekly.get(day.weekday(), ())

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` (timezone-aware) falls in an open range, read in the table's zone."""
        if at.utcoffset() is None:
            raise ValueError(f"is_open needs a timezone-aware datetime, got {at!r}")
        local = at.astimezone(self.timezone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.ranges_on(local.date()))


def format_range(span: Range) -> str:
    """``(540, 1080)`` as ``'09:00-18:00'``, the way it is written."""
    return "-".join(f"{minute // 60:02d}:{minute % 60:02d}" for minute in span)


def _day_problem(ranges: tuple[Range, ...]) -> str | None:
    for start, end in ranges:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            return f"{(start, end)} is not a range within one day"
    for earlier, later in itertools.pairwise(ranges):
        if later[0] < earlier[1]:
            return f"{format_range(later)} overlaps or precedes {format_range(earlier)}"
    return None


# -- the written form ----------------------------------------------------------------------------


class Report(Protocol):
    """Where :func:`read_hours` sends problems: the loader's checker."""

    def add(self, path: str, message: str) -> None: ...

    def unknown_keys(self, table: Mapping[str, Any], known: tuple[str, ...], path: str) -> None: ...


def read_hours(raw_hours: object, report: Report) -> tuple[dict[str, Hours], set[str]]:
    """The ``[hours.NAME]`` tables that could be built, and the names of those that could not."""
    hours: dict[str, Hours] = {}
    broken: set[str] = set()
    if not isinstance(raw_hours, Mapping):
        report.add("hours", f"must be a table of hours ([hours.NAME]), got {show(raw_hours)}")
        return hours, broken
    for name, raw in raw_hours.items():
        path = f"hours.{name}"
        if not NAME.fullmatch(name):
            report.add(path, "hours names may only use letters, digits, '-' and '_'")
        table = None
        if isinstance(raw, Mapping):
            table = _table(name, raw, path, report)
        else:
            report.add(path, f"must be a table ([{path}]), got {show(raw)}")
        if table is None:
            broken.add(name)
        else:
            hours[name] = table
    return hours, broken


def _table(name: str, raw: Mapping[str, Any], path: str, report: Report) -> Hours | None:
    """Build one table, or report every problem in it and return None."""
    counting = _Counting(report)
    counting.unknown_keys(raw, HOURS_KEYS, path)
    timezone = _timezone(raw, path, counting)
    weekly: dict[int, tuple[Range, ...]] = {}
    for weekday, day in enumerate(DAYS):
        if day in raw:
            ranges = _day(raw[day], f"{path}.{day}", counting)
            if ranges:
                weekly[weekday] = ranges
    holidays = _holidays(raw.get("holidays", []), f"{path}.holidays", counting)
    dates = _dates(raw.get("dates", {}), f"{path}.dates", counting)
    if counting.count or timezone is None:
        return None
    return Hours(name, timezone, weekly, holidays, dates)


@dataclass
class _Counting:
    """Passes problems on, counting them, so a table with any problem is not built."""

    report: Report
    count: int = 0

    def add(self, path: str, message: str) -> None:
        self.count += 1
        self.report.add(path, message)

    def unknown_keys(self, table: Mapping[str, Any], known: tuple[str, ...], path: str) -> None:
        unknown = [key for key in table if key not in known]
        self.count += len(unknown)
        self.report.unknown_keys(table, known, path)


def _timezone(raw: Mapping[str, Any], path: str, report: Report) -> zoneinfo.ZoneInfo | None:
    if "timezone" not in raw:
        report.add(path, "missing required key 'timezone' (an IANA time zone such as 'Asia/Seoul')")
        return None
    value = raw["timezone"]
    if not isinstance(value, str) or not value:
        report.add(
            f"{path}.timezone", f"must be an IANA time zone such as 'Asia/Seoul', got {show(value)}"
        )
        return None
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # Listing every zone reads the tz database: only worth it to explain a mistake.
        known = zoneinfo.available_timezones()
        report.add(f"{path}.timezone", f"unknown time zone {value!r}{suggest(value, known)}")
        return None


def _day(value: object, path: str, report: Report) -> tuple[Range, ...] | None:
    """A day's ranges: ``"closed"``, one range, or a list of them. None after a problem."""
    if value == CLOSED:
        return ()
    if isinstance(value, str):
        items = [(path, value)]
    elif isinstance(value, list) and value:
        items = [(f"{path}.{i}", item) for i, item in enumerate(value)]
    else:
        report.add(
            path,
            f'must be "closed", a range such as {_EXAMPLE} or a list of ranges, got {show(value)}',
        )
        return None
    read = [(item_path, _range(item, item_path, report)) for item_path, item in items]
    spans = sorted((span, item_path) for item_path, span in read if span is not None)
    if len(spans) < len(read):
        return None
    latest: Range | None = None  # the range ending last so far: a later start must not precede it
    overlapping = False
    for span, item_path in spans:
        if latest is not None and span[0] < latest[1]:
            report.add(item_path, f"{format_range(span)} overlaps {format_range(latest)}")
            overlapping = True
        if latest is None or span[1] > latest[1]:
            latest = span
    return None if overlapping else tuple(span for span, _ in spans)


def _range(value: object, path: str, report: Report) -> Range | None:
    found = _RANGE.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        report.add(path, f"must be a range such as {_EXAMPLE} (HH:MM-HH:MM), got {show(value)}")
        return None
    start_h, start_m, end_h, end_m = (int(part) for part in found.groups())
    bad = [
        f"{hour:02d}:{minute:02d}"
        for hour, minute, may_be_24 in ((start_h, start_m, False), (end_h, end_m, True))
        if not (hour < 24 and minute < 60) and not (may_be_24 and (hour, minute) == (24, 0))
    ]
    if bad:
        report.add(
            path,
            f"{bad[0]!r} is not a time of day (00:00 to 23:59, and 24:00 only as an end)",
        )
        return None
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if end <= start:
        report.add(path, f"{value!r} must end after it starts{_midnight_hint(start, end)}")
        return None
    return start, end


def _midnight_hint(start: int, end: int) -> str:
    if end == 0:
        return ': write "24:00" for the midnight that ends the day'
    if end < start:
        this_day, next_day = format_range((start, MINUTES_PER_DAY)), format_range((0, end))
        return f': a range cannot cross midnight, so write "{this_day}" and "{next_day}" next day'
    return ""


def _date(value: object, path: str, report: Report) -> date | None:
    if isinstance(value, datetime):
        report.add(path, f'must be a date such as "2026-12-25", not a date and time: {value}')
        return None
    if isinstance(value, date):  # TOML's own date literal: holidays = [2026-12-25]
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        report.add(path, f'must be a date such as "2026-12-25", got {show(value)}')
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        report.add(path, f"{value!r} is not a date in the calendar")
        return None


def _holidays(value: object, path: str, report: Report) -> frozenset[date]:
    if not isinstance(value, list):
        report.add(path, f'must be a list of dates such as ["2026-12-25"], got {show(value)}')
        return frozenset()
    days = [_date(item, f"{path}.{i}", report) for i, item in enumerate(value)]
    return frozenset(day for day in days if day is not None)


def _dates(value: object, path: str, report: Report) -> dict[date, tuple[Range, ...]]:
    if not isinstance(value, Mapping):
        report.add(path, f"must be a table of date = ranges ([{path}]), got {show(value)}")
        return {}
    dates: dict[date, tuple[Range, ...]] = {}
    for key, raw_day in value.items():
        day = _date(key, f"{path}.{key}", report)
        ranges = _day(raw_day, f"{path}.{key}", report)
        if day is not None and ranges is not None:
            dates[day] = ranges
    return dates
