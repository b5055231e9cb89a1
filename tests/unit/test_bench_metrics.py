"""The bench's reading of Asterisk's log: which lines count as which warnings."""

from __future__ import annotations

import pytest

from bench.metrics import (
    all_warnings,
    innermost_id,
    session_limit_warnings,
    taskprocessor_warnings,
)


@pytest.mark.parametrize(
    ("line", "counted"),
    [
        ("[2026-12-05 09:13:44.846] WARNING[32549] http.c: HTTP session count exceeded 100 "
         "sessions.",
         (1, 1, 0)),
        ("[2026-12-05 09:13:44.846] WARNING[32549] taskprocessor.c: The 'stasis/m:cache' task "
         "processor queue reached 500 scheduled tasks again.", (0, 1, 1)),
        ("[2026-12-05 09:13:44.846] WARNING[32549][C-00000001] res_stasis_playback.c: "
         "Playback failed for sound:cti/welcome", (0, 1, 0)),
        ("[2026-12-05 09:13:43.510] NOTICE[32483] loader.c: 84 modules will be loaded.", (0, 0, 0)),
        ("[2026-12-05 09:13:43.510] VERBOSE[32483] http.c: WARNING HTTP session count exceeded",
         (0, 0, 0)),
    ],
)  # fmt: skip
def test_the_bench_counts_asterisks_warnings_by_kind(
    line: str, counted: tuple[int, int, int]
) -> None:
    """Session-limit refusals, all WARNING lines and taskprocessor ones, from Asterisk's log."""
    lines = [line]
    assert (session_limit_warnings(lines), all_warnings(lines), taskprocessor_warnings(lines)) == (
        counted
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Name:\tasterisk\nNSpid:\t31052\t1\nNgid:\t0\n", "1"),  # in the lab's PID namespace
        ("Name:\tasterisk\nNSpid:\t4242\n", "4242"),  # on the host's
        ("Name:\tasterisk\n", None),  # a kernel without NSpid
    ],
)
def test_innermost_id_is_the_id_asterisk_itself_reports(status: str, expected: str | None) -> None:
    assert innermost_id(status) == expected
