"""Business hours: when a table says open, and how a mistake in ``[hours.NAME]`` is reported.

Every moment is an injected, timezone-aware datetime; nothing here reads the clock. The office
below is in Seoul; the week of 21 December 2026 runs Monday 21 to Sunday 27.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stasis_app.errors import IvrDefinitionError
from stasis_app.ivr import Hours, parse

SEOUL = ZoneInfo("Asia/Seoul")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

MENU = """
start = "main"
[menus.main]
prompts = ["main-menu"]
hours = "office"
options = { "1" = "hangup" }
"""

OFFICE = """
[hours.office]
timezone = "Asia/Seoul"
monday = "09:00-18:00"
tuesday = "09:00-18:00"
wednesday = ["13:00-18:00", "09:00-12:00"]   # lunch closed; any order
thursday = "09:00-18:00"
friday = "09:00-18:00"
saturday = "closed"
# no sunday: closed
holidays = ["2026-12-25", 2027-01-01]        # a string or a TOML date
[hours.office.dates]
"2026-12-24" = "09:00-13:00"                 # Christmas Eve, a Thursday: mornings only
"2026-12-26" = "10:00-14:00"                 # a Saturday that opens
"2027-01-01" = "10:00-12:00"                 # a holiday too: the special date wins
"""


def hours_of(table: str, name: str = "office") -> Hours:
    """The hours table ``name`` as the loader builds it from ``table``."""
    return parse(tomllib.loads(MENU + table), "test.toml").hours[name]


def problems(table: str) -> list[str]:
    with pytest.raises(IvrDefinitionError) as caught:
        parse(tomllib.loads(MENU + table), "test.toml")
    return [str(p) for p in caught.value.problems]


def at(day: str, time: str, zone: tzinfo = SEOUL) -> datetime:
    """``day`` ("2026-12-21") at ``time`` ("09:00" or "09:00:59") in ``zone``."""
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=zone)


# -- when the office is open ---------------------------------------------------------------------

OPEN = [
    # range edges: open from the start minute, closed from the end minute
    pytest.param(at("2026-12-21", "08:59:59"), False, id="monday-just-before-opening"),
    pytest.param(at("2026-12-21", "09:00"), True, id="monday-at-opening"),
    pytest.param(at("2026-12-21", "17:59"), True, id="monday-last-minute"),
    pytest.param(at("2026-12-21", "17:59:59"), True, id="monday-last-second"),
    pytest.param(at("2026-12-21", "18:00"), False, id="monday-at-closing"),
    pytest.param(at("2026-12-22", "00:00"), False, id="tuesday-midnight"),
    # several ranges in a day
    pytest.param(at("2026-12-23", "11:59"), True, id="wednesday-before-lunch"),
    pytest.param(at("2026-12-23", "12:00"), False, id="wednesday-lunch"),
    pytest.param(at("2026-12-23", "13:00"), True, id="wednesday-after-lunch"),
    # weekend: "closed", and a day left out
    pytest.param(at("2026-12-19", "10:00"), False, id="saturday-closed"),
    pytest.param(at("2026-12-20", "10:00"), False, id="sunday-missing-is-closed"),
    # holidays and special dates
    pytest.param(at("2026-12-25", "10:00"), False, id="holiday-on-a-friday"),
    pytest.param(at("2026-12-24", "12:59"), True, id="special-date-morning"),
    pytest.param(at("2026-12-24", "13:00"), False, id="special-date-closes-early"),
    pytest.param(at("2026-12-26", "10:00"), True, id="special-date-opens-a-saturday"),
    pytest.param(at("2027-01-01", "11:00"), True, id="special-date-wins-over-holiday"),
    pytest.param(at("2027-01-01", "12:00"), False, id="special-date-on-holiday-closes"),
    pytest.param(at("2027-12-24", "15:00"), True, id="special-dates-are-one-year-only"),
    # other zones: the moment is read in Seoul time, across midnight
    pytest.param(at("2026-12-20", "23:59", UTC), False, id="utc-sunday-is-monday-08:59-kst"),
    pytest.param(at("2026-12-21", "00:00", UTC), True, id="utc-midnight-is-09:00-kst"),
    pytest.param(at("2026-12-21", "08:59", UTC), True, id="utc-morning-is-17:59-kst"),
    pytest.param(at("2026-12-21", "09:00", UTC), False, id="utc-09:00-is-18:00-kst"),
    pytest.param(at("2026-12-18", "23:00", UTC), False, id="utc-friday-night-is-saturday-kst"),
    pytest.param(at("2026-12-20", "19:30", NEW_YORK), True, id="new-york-sunday-is-monday-kst"),
    pytest.param(at("2026-12-24", "22:59", NEW_YORK), False, id="new-york-eve-is-holiday-kst"),
]


@pytest.mark.parametrize(("moment", "expected"), OPEN)
def test_is_open(moment: datetime, expected: bool) -> None:
    """is_open reads ``moment`` in the table's zone: special dates, then holidays, then weekday."""
    assert hours_of(OFFICE).is_open(moment) is expected


BERLIN_HOURS = """
[hours.office]
timezone = "Europe/Berlin"
friday = "09:00-18:00"
monday = "09:00-18:00"
sunday = "02:00-03:00"
"""

DST = [
    # Clocks went forward on Sunday 29 March 2026 (CET +01:00 -> CEST +02:00) ...
    pytest.param(at("2026-03-27", "08:00", UTC), True, id="friday-before-is-cet"),
    pytest.param(at("2026-03-30", "07:00", UTC), True, id="monday-after-is-cest"),
    pytest.param(at("2026-03-30", "07:59", UTC), True, id="wall-clock-not-fixed-offset"),
    pytest.param(at("2026-03-30", "06:59", UTC), False, id="08:59-cest-is-closed"),
    pytest.param(at("2026-03-29", "00:59", UTC), False, id="01:59-cet-before-the-gap"),
    pytest.param(at("2026-03-29", "01:00", UTC), False, id="the-gap-02:00-03:00-never-happens"),
    # ... and back on Sunday 25 October 2026: 02:00-03:00 happens twice, open both times.
    pytest.param(at("2026-10-25", "00:30", UTC), True, id="02:30-cest-first-time"),
    pytest.param(at("2026-10-25", "01:30", UTC), True, id="02:30-cet-second-time"),
    pytest.param(at("2026-10-25", "02:00", UTC), False, id="03:00-cet-closed"),
    pytest.param(at("2026-10-26", "07:59", UTC), False, id="monday-after-08:59-cet"),
    pytest.param(at("2026-10-26", "08:00", UTC), True, id="monday-after-09:00-cet"),
]


@pytest.mark.parametrize(("moment", "expected"), DST)
def test_is_open_keeps_wall_clock_hours_across_daylight_saving(
    moment: datetime, expected: bool
) -> None:
    """Ranges are local wall-clock times: 09:00 is 08:00 UTC in winter and 07:00 UTC in summer."""
    assert hours_of(BERLIN_HOURS).is_open(moment) is expected


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()
    ),
    shown_in=st.timezones(),
)
def test_is_open_depends_on_the_instant_only(moment: datetime, shown_in: tzinfo) -> None:
    """The same instant gets the same answer in whatever zone the caller's datetime is written."""
    office = hours_of(OFFICE)
    assert office.is_open(moment) == office.is_open(moment.astimezone(shown_in))


def test_is_open_refuses_a_naive_datetime() -> None:
    """A moment without a zone cannot be placed in the table's zone; that is a programming error."""
    with pytest.raises(ValueError, match="timezone-aware"):
        hours_of(OFFICE).is_open(datetime(2026, 12, 21, 10, 0))


# -- how a table is read -------------------------------------------------------------------------


def test_a_table_becomes_sorted_minute_ranges() -> None:
    """Days become sorted [start, end) minutes (0 = Monday); closed and missing days are absent."""
    hours = hours_of(OFFICE)
    assert hours.name == "office"
    assert hours.timezone is SEOUL
    assert hours.weekly == {
        0: ((540, 1080),),
        1: ((540, 1080),),
        2: ((540, 720), (780, 1080)),
        3: ((540, 1080),),
        4: ((540, 1080),),
    }
    assert hours.holidays == {date(2026, 12, 25), date(2027, 1, 1)}
    assert hours.dates == {
        date(2026, 12, 24): ((540, 780),),
        date(2026, 12, 26): ((600, 840),),
        date(2027, 1, 1): ((600, 720),),
    }


@pytest.mark.parametrize(
    ("day", "ranges"),
    [
        pytest.param('"00:00-24:00"', ((0, 1440),), id="all-day"),
        pytest.param('["09:00-12:00", "12:00-18:00"]', ((540, 720), (720, 1080)), id="adjacent"),
        pytest.param('["22:00-24:00"]', ((1320, 1440),), id="until-midnight"),
        pytest.param('"closed"', None, id="closed"),
    ],
)
def test_day_forms(day: str, ranges: tuple[tuple[int, int], ...] | None) -> None:
    """A day is one range, a list of ranges, or "closed"; 24:00 ends a day; ranges may touch."""
    hours = hours_of(f'[hours.office]\ntimezone = "UTC"\nmonday = {day}\n')
    assert hours.weekly.get(0) == ranges


TABLE = '[hours.office]\ntimezone = "Asia/Seoul"\n'
RANGE_HELP = 'must be a range such as "09:00-18:00" (HH:MM-HH:MM)'

BAD = [
    pytest.param(
        '[hours.office]\nmonday = "09:00-18:00"\n',
        "hours.office: missing required key 'timezone' (an IANA time zone such as 'Asia/Seoul')",
        id="missing-timezone",
    ),
    pytest.param(
        '[hours.office]\ntimezone = "Asia/Seol"\n',
        "hours.office.timezone: unknown time zone 'Asia/Seol' (did you mean 'Asia/Seoul'?)",
        id="misspelt-timezone",
    ),
    pytest.param(
        '[hours.office]\ntimezone = "Seoul"\n',
        "hours.office.timezone: unknown time zone 'Seoul' (did you mean 'Asia/Seoul'?)",
        id="city-without-region",
    ),
    pytest.param(
        '[hours.office]\ntimezone = "../../etc/passwd"\n',
        "hours.office.timezone: unknown time zone '../../etc/passwd'",
        id="timezone-path",
    ),
    pytest.param(
        "[hours.office]\ntimezone = 9\n",
        "hours.office.timezone: must be an IANA time zone such as 'Asia/Seoul', got integer 9",
        id="timezone-not-a-string",
    ),
    pytest.param(
        TABLE + "monday = 9\n",
        'hours.office.monday: must be "closed", a range such as "09:00-18:00" or a list of '
        "ranges, got integer 9",
        id="day-not-a-range",
    ),
    pytest.param(
        TABLE + "monday = []\n",
        'hours.office.monday: must be "closed", a range such as "09:00-18:00" or a list of '
        "ranges, got array []",
        id="day-empty-list",
    ),
    pytest.param(
        TABLE + 'monday = "9:00-18:00"\n',
        f"hours.office.monday: {RANGE_HELP}, got string '9:00-18:00'",
        id="one-digit-hour",
    ),
    pytest.param(
        TABLE + 'monday = "open"\n',
        f"hours.office.monday: {RANGE_HELP}, got string 'open'",
        id="not-a-range",
    ),
    pytest.param(
        TABLE + 'monday = ["09:00-12:00", 13]\n',
        f"hours.office.monday.1: {RANGE_HELP}, got integer 13",
        id="list-item-not-a-range",
    ),
    pytest.param(
        TABLE + 'monday = "09:60-10:00"\n',
        "hours.office.monday: '09:60' is not a time of day (00:00 to 23:59, and 24:00 only as "
        "an end)",
        id="minute-60",
    ),
    pytest.param(
        TABLE + 'monday = "24:00-24:00"\n',
        "hours.office.monday: '24:00' is not a time of day (00:00 to 23:59, and 24:00 only as "
        "an end)",
        id="24:00-as-a-start",
    ),
    pytest.param(
        TABLE + 'monday = "09:00-24:30"\n',
        "hours.office.monday: '24:30' is not a time of day (00:00 to 23:59, and 24:00 only as "
        "an end)",
        id="past-24:00",
    ),
    pytest.param(
        TABLE + 'friday = "22:00-02:00"\n',
        "hours.office.friday: '22:00-02:00' must end after it starts: a range cannot cross "
        'midnight, so write "22:00-24:00" and "00:00-02:00" next day',
        id="across-midnight",
    ),
    pytest.param(
        TABLE + 'friday = "18:00-00:00"\n',
        "hours.office.friday: '18:00-00:00' must end after it starts: write \"24:00\" for the "
        "midnight that ends the day",
        id="ends-at-00:00",
    ),
    pytest.param(
        TABLE + 'monday = "09:00-09:00"\n',
        "hours.office.monday: '09:00-09:00' must end after it starts",
        id="empty-range",
    ),
    pytest.param(
        TABLE + 'monday = ["09:00-12:00", "11:00-14:00"]\n',
        "hours.office.monday.1: 11:00-14:00 overlaps 09:00-12:00",
        id="overlap",
    ),
    pytest.param(
        TABLE + 'monday = ["13:00-14:00", "09:00-18:00"]\n',
        "hours.office.monday.0: 13:00-14:00 overlaps 09:00-18:00",
        id="range-inside-another",
    ),
    pytest.param(
        TABLE + 'tuesdy = "09:00-18:00"\n',
        "hours.office: unknown key 'tuesdy' (did you mean 'tuesday'?)",
        id="misspelt-day",
    ),
    pytest.param(
        TABLE + 'holiday = ["2026-12-25"]\n',
        "hours.office: unknown key 'holiday' (did you mean 'holidays'?)",
        id="misspelt-holidays",
    ),
    pytest.param(
        TABLE + 'holidays = "2026-12-25"\n',
        'hours.office.holidays: must be a list of dates such as ["2026-12-25"], got string '
        "'2026-12-25'",
        id="holidays-not-a-list",
    ),
    pytest.param(
        TABLE + 'holidays = ["2026-12-25", "25.12.2026"]\n',
        "hours.office.holidays.1: must be a date such as \"2026-12-25\", got string '25.12.2026'",
        id="holiday-not-iso",
    ),
    pytest.param(
        TABLE + 'holidays = ["2026-02-30"]\n',
        "hours.office.holidays.0: '2026-02-30' is not a date in the calendar",
        id="holiday-not-in-calendar",
    ),
    pytest.param(
        TABLE + "holidays = [2026-12-25T10:00:00]\n",
        'hours.office.holidays.0: must be a date such as "2026-12-25", not a date and time: '
        "2026-12-25 10:00:00",
        id="holiday-with-a-time",
    ),
    pytest.param(
        TABLE + 'dates = "2026-12-24"\n',
        "hours.office.dates: must be a table of date = ranges ([hours.office.dates]), got "
        "string '2026-12-24'",
        id="dates-not-a-table",
    ),
    pytest.param(
        TABLE + '[hours.office.dates]\nchristmas = "closed"\n',
        'hours.office.dates.christmas: must be a date such as "2026-12-25", got string '
        "'christmas'",
        id="dates-key-not-a-date",
    ),
    pytest.param(
        TABLE + '[hours.office.dates]\n"2026-12-24" = "morning"\n',
        f"hours.office.dates.2026-12-24: {RANGE_HELP}, got string 'morning'",
        id="dates-value-not-a-range",
    ),
]


@pytest.mark.parametrize(("table", "expected"), BAD)
def test_bad_hours_report_the_path(table: str, expected: str) -> None:
    """Each mistake in an hours table is the only problem reported, at its exact dotted path."""
    assert problems(table) == [expected]


def test_every_problem_in_a_table_is_reported_at_once() -> None:
    """One run lists every mistake of every day, not just the first."""
    table = TABLE + 'monday = "9-18"\ntuesday = "18:00-09:00"\nholidays = ["someday"]\n'
    assert [p.split(":")[0] for p in problems(table)] == [
        "hours.office.monday",
        "hours.office.tuesday",
        "hours.office.holidays.0",
    ]


@pytest.mark.parametrize(
    ("weekly", "dates"),
    [
        pytest.param({7: ((540, 1080),)}, {}, id="no-eighth-weekday"),
        pytest.param({0: ((1080, 540),)}, {}, id="backwards-range"),
        pytest.param({0: ((0, 1441),)}, {}, id="past-the-day"),
        pytest.param({0: ((540, 720), (600, 1080))}, {}, id="overlap"),
        pytest.param({}, {date(2026, 12, 24): ((780, 1080), (540, 720))}, id="unsorted-date"),
    ],
)
def test_hours_built_in_code_are_checked_too(
    weekly: dict[int, tuple[tuple[int, int], ...]], dates: dict[date, tuple[tuple[int, int], ...]]
) -> None:
    """Hours built without the loader cannot hold ranges is_open would misread."""
    with pytest.raises(ValueError, match="office"):
        Hours("office", SEOUL, weekly, dates=dates)
