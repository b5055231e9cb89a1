"""The queue bench's arithmetic: which agent gaps count, and its section of performance.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.queue import agent_moments, free_to_offer
from bench.report import QUEUE_BEGIN, QUEUE_END, queue_section, with_queue_section

WAITING = [(10.0, 12.0)]  # one caller joined at 10 s and was first offered at 12 s

GAPS = [
    # (what the agents' SIPp logged, expected gaps in ms)
    pytest.param(
        [("3101", "offered", 5.0), ("3101", "free", 11.0), ("3101", "offered", 11.002)],
        [2.0],
        id="freed while a caller waited: counted",
    ),
    pytest.param(
        [("3101", "free", 9.0), ("3101", "offered", 10.001)],
        [],
        id="freed before anyone waited: idle time, not counted",
    ),
    pytest.param(
        [("3101", "free", 12.0), ("3101", "offered", 13.0)],
        [],
        id="freed when the caller was already offered: not counted",
    ),
    pytest.param(
        [("3101", "free", 11.0), ("3101", "free", 11.5), ("3101", "offered", 12.0)],
        [500.0],
        id="only the last call end before the offer",
    ),
    pytest.param(
        [("3101", "offered", 11.5), ("3101", "free", 11.0)],
        [500.0],
        id="lines out of order are put in time order",
    ),
    pytest.param(
        [
            ("3101", "free", 11.0),
            ("3102", "free", 11.1),
            ("3102", "offered", 11.104),
            ("3101", "offered", 13.0),
        ],
        [4.0, 2000.0],
        id="each agent's own next offer",
    ),
]


@pytest.mark.parametrize(("moments", "gaps"), GAPS)
def test_free_to_offer_counts_only_gaps_where_a_caller_waited_unoffered(
    moments: list[tuple[str, str, float]], gaps: list[float]
) -> None:
    assert sorted(free_to_offer(moments, WAITING)) == pytest.approx(sorted(gaps))


def test_the_agents_log_is_read_as_wall_clock_moments(tmp_path: Path) -> None:
    log = tmp_path / "queue-agent_1_logs.log"
    log.write_text(
        "offered 3101 1796453091 5000\nsome other line\nfree 3102 1796453092.000000 250000\n"
    )
    moments = agent_moments(log)
    assert [(agent, what) for agent, what, _ in moments] == [("3101", "offered"), ("3102", "free")]
    assert [at for _, _, at in moments] == pytest.approx([1796453091.005, 1796453092.25])
    assert agent_moments(tmp_path / "absent.log") == []


SECTION = f"{QUEUE_BEGIN}\n## Queues\nnew figures\n{QUEUE_END}"

SPLICES = [
    # (performance.md before, section, after)
    pytest.param("# Perf\n", SECTION, f"# Perf\n\n{SECTION}\n", id="appended when absent"),
    pytest.param(
        f"# Perf\n\n{QUEUE_BEGIN}\nold\n{QUEUE_END}\n\nmore\n",
        SECTION,
        f"# Perf\n\n{SECTION}\n\nmore\n",
        id="replaced in place",
    ),
    pytest.param("# Perf\n", "", "# Perf\n", id="nothing to keep: unchanged"),
    pytest.param(
        f"# Perf\n{QUEUE_BEGIN}\nno end marker\n",
        SECTION,
        f"# Perf\n{QUEUE_BEGIN}\nno end marker\n\n{SECTION}\n",
        id="a cut-off section is not taken for one",
    ),
]


@pytest.mark.parametrize(("before", "section", "after"), SPLICES)
def test_the_queue_section_is_spliced_into_performance_md(
    before: str, section: str, after: str
) -> None:
    assert with_queue_section(before, section) == after


def test_the_full_bench_keeps_the_queue_section_it_did_not_write() -> None:
    old = f"# Perf (old run)\n\n{SECTION}\n"
    new = "# Perf (new run)\n"

    assert with_queue_section(new, queue_section(old)) == f"# Perf (new run)\n\n{SECTION}\n"
