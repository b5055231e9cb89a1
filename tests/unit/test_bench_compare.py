"""The bench's three targets side by side: the worker against the node peer, and their tables."""

from __future__ import annotations

import pytest

from bench.compare import (
    app_cpu_ms,
    clean_rate_verdict,
    cpu_ratio,
    highest_clean,
    summary,
    target_rows,
)
from bench.node_peer import needs_install, peer_environ
from bench.ramp import Step
from bench.report import Results, asterisk_table, ceiling, ramp_table, targets
from stasis_app.lab.credentials import LAB_ARI_PASSWORD


def step(
    target: str,
    rate: float,
    *,
    handled: int = 100,
    worker: float = 1.0,
    node: float | None = 0.2,
    asterisk: float = 12.0,
) -> Step:
    """A step of 100 calls; ``handled`` below 100 makes it unclean."""
    return Step(
        target=target,
        rate=rate,
        attempted=100,
        answered=100,
        handled=handled,
        invite_p50=4.0,
        invite_p99=8.0,
        bye_p50=2104.0,
        bye_p99=2110.0,
        worker_cpu_ms=worker,
        asterisk_cpu_ms=asterisk,
        d2p_p50=None,
        d2p_p99=None,
        loop_lag_ms=None,
        tp_warnings=0,
        asterisk_groups={},
        sipp_cpu_ms=1.0,
        node_cpu_ms=node,
    )


def run(ours: list[tuple[float, int, float]], peer: list[tuple[float, int, float]]) -> list[Step]:
    """A ramp from (rate, handled, program CPU) per rate for the worker and the node peer, each
    rate ending with a clean dialplan step, in the order the bench runs them."""
    steps = []
    for (rate, handled, cpu), (peer_rate, peer_handled, peer_cpu) in zip(ours, peer, strict=True):
        assert rate == peer_rate
        steps.append(step("stasis", rate, handled=handled, worker=cpu, node=0.1))
        steps.append(step("node", rate, handled=peer_handled, worker=0.8, node=peer_cpu))
        steps.append(step("dialplan", rate, worker=0.8, node=0.1))
    return steps


PROGRAM_CPU = [
    # (target, worker CPU, node CPU, the program's CPU per call)
    pytest.param("stasis", 3.0, 0.1, 3.0, id="stasis: the worker's"),
    pytest.param("node", 0.9, 6.0, 6.0, id="node: the node process's"),
    pytest.param("node", 0.9, None, None, id="node, not measured: unknown"),
    pytest.param("dialplan", 0.9, 0.1, None, id="dialplan: no program of its own"),
]


@pytest.mark.parametrize(("target", "worker", "node", "expected"), PROGRAM_CPU)
def test_a_steps_program_cpu_is_the_process_that_served_its_calls(
    target: str, worker: float, node: float | None, expected: float | None
) -> None:
    assert app_cpu_ms(step(target, 10, worker=worker, node=node)) == expected


RATIOS = [
    # (worker per rate, node peer per rate, expected (rate, worker / node) or None)
    pytest.param(
        [(10, 100, 3.0), (30, 100, 2.0)],
        [(10, 100, 6.0), (30, 100, 5.0)],
        (30, 0.4),
        id="at the highest rate both were clean",
    ),
    pytest.param(
        [(10, 100, 3.0), (30, 100, 2.0)],
        [(10, 100, 6.0), (30, 90, 5.0)],
        (10, 0.5),
        id="not where the peer dropped calls",
    ),
    pytest.param(
        [(10, 100, 3.0), (30, 90, 2.0)],
        [(10, 100, 6.0), (30, 100, 5.0)],
        (10, 0.5),
        id="not where the worker dropped calls",
    ),
    pytest.param([(10, 90, 3.0)], [(10, 100, 6.0)], None, id="never both clean: none"),
    pytest.param([(10, 100, 3.0)], [(10, 100, 0.0)], None, id="peer CPU not seen: none"),
]


@pytest.mark.parametrize(("ours", "peer", "expected"), RATIOS)
def test_the_cpu_ratio_is_taken_where_both_were_clean(
    ours: list[tuple[float, int, float]],
    peer: list[tuple[float, int, float]],
    expected: tuple[float, float] | None,
) -> None:
    ratio = cpu_ratio(run(ours, peer))
    if expected is None:
        assert ratio is None
    else:
        assert ratio == pytest.approx(expected)


VERDICTS = [
    # (handled per rate for the worker, for the peer, verdict on "a higher clean rate")
    pytest.param([100, 100, 80], [100, 70, 60], "yes", id="ours clean one rate higher"),
    pytest.param([100, 100, 100], [100, 70, 60], "yes", id="ours clean throughout, the peer not"),
    pytest.param([100, 50, 40], [100, 100, 60], "**no**", id="peer clean one rate higher"),
    pytest.param([100, 100, 50], [100, 100, 50], "**no**", id="same ceiling: not higher"),
    pytest.param([90, 90, 90], [90, 90, 90], "**no**", id="neither ever clean"),
    pytest.param(
        [100, 100, 100],
        [100, 100, 100],
        "undecided (both clean at every rate run)",
        id="both clean to the last rate: no ceiling found",
    ),
]


@pytest.mark.parametrize(("ours", "peer", "verdict"), VERDICTS)
def test_a_higher_clean_rate_is_judged_on_the_ramp_that_ran(
    ours: list[int], peer: list[int], verdict: str
) -> None:
    rates = [10.0, 30.0, 60.0]
    steps = run(
        [(r, h, 1.0) for r, h in zip(rates, ours, strict=True)],
        [(r, h, 2.0) for r, h in zip(rates, peer, strict=True)],
    )
    assert clean_rate_verdict(steps) == verdict


def test_highest_clean_is_per_target() -> None:
    steps = run([(10, 100, 1.0), (30, 99, 1.0)], [(10, 100, 2.0), (30, 100, 2.0)])
    assert (highest_clean(steps, "stasis"), highest_clean(steps, "node")) == (10, 30)
    assert highest_clean(steps, "absent") is None


def test_the_summary_puts_the_three_targets_side_by_side_per_rate() -> None:
    steps = run([(10, 100, 3.0), (30, 100, 2.0)], [(10, 100, 6.0), (30, 100, 5.0)])
    lines = summary(steps)
    assert lines[:4] == [
        "| rate/s | digit handled: stasis / node / dialplan | program CPU ms/call: stasis / node "
        "| Asterisk CPU ms/call: stasis / node / dialplan |",
        "|---|---|---|---|",
        "| 10 | 100/100 / 100/100 / 100/100 | 3.00 / 6.00 | 12.00 / 12.00 / 12.00 |",
        "| 30 | 100/100 / 100/100 / 100/100 | 2.00 / 5.00 | 12.00 / 12.00 / 12.00 |",
    ]
    assert "- Highest clean rate (every digit handled): stasis 30/s, node 30/s, dialplan 30/s." in (
        lines
    )
    assert (
        "- CPU per call at 30/s (the highest rate both were clean): the worker's is 0.40 times "
        "the node peer's (target ≤ 0.5: met)." in lines
    )


def test_without_a_node_peer_the_summary_says_there_is_nothing_to_compare() -> None:
    steps = [step("stasis", 10), step("dialplan", 10)]
    lines = summary(steps)
    assert lines[-1] == "- No node peer in this run: nothing to compare the worker with."
    assert target_rows(steps) == []


def test_the_targets_table_gains_issue_14s_two_rows() -> None:
    steps = run([(10, 100, 4.0)], [(10, 100, 5.0)])
    assert target_rows(steps) == [
        "| worker CPU per IVR call ≤ 0.5 times the node peer's (at 10/s) | 0.80 times | **no** |",
        "| a higher clean rate than the node peer | 10/s vs 10/s "
        "| undecided (both clean at every rate run) |",
    ]


def test_the_ramp_and_asterisk_tables_have_a_node_cpu_column() -> None:
    ramp = ramp_table([step("node", 30, node=5.25), step("stasis", 30, node=None)])
    header = [cell.strip() for cell in ramp[0].split("|")]
    node_at = header.index("node CPU ms/call")
    assert [row.split("|")[node_at].strip() for row in ramp[2:]] == ["5.25", "-"]

    table = asterisk_table([step("node", 30, node=5.25)])
    header = [cell.strip() for cell in table[0].split("|")]
    assert table[2].split("|")[header.index("+ node")].strip() == "5.25"


INSTALLS = [
    # (stamp in node_modules, digest of package.json + lock, install?)
    pytest.param(None, "abc", True, id="no node_modules: install"),
    pytest.param("abc\n", "abc", False, id="installed from this lock: keep"),
    pytest.param("abd\n", "abc", True, id="installed from another lock: stale"),
    pytest.param("", "abc", True, id="empty stamp: install"),
]


@pytest.mark.parametrize(("stamp", "digest", "install"), INSTALLS)
def test_npm_ci_runs_only_when_node_modules_is_missing_or_stale(
    stamp: str | None, digest: str, install: bool
) -> None:
    assert needs_install(stamp, digest) is install


def test_the_peer_gets_the_labs_ari_credentials_under_its_own_names() -> None:
    env = peer_environ({"PATH": "/usr/bin", "CTI_ARI_PASSWORD": "from-the-shell"})
    assert env["PATH"] == "/usr/bin"
    assert env["ARI_APP"] == "cti-node-peer"
    assert env["ARI_URL"] == "http://127.0.0.1:8088"
    assert env["ARI_USERNAME"] == "cti"
    # As the worker's: the lab's password, whatever CTI_ setting the shell had.
    assert env["ARI_PASSWORD"] == LAB_ARI_PASSWORD
    assert not any(name.startswith("CTI_") for name in env)


def _ramp(ours_clean_to: float, dial_clean_to: float, worker: float) -> list[Step]:
    rates = (30.0, 60.0, 90.0, 120.0, 150.0)
    return [
        *(step("stasis", r, worker=worker, handled=100 if r <= ours_clean_to else 40)
          for r in rates),
        *(step("dialplan", r, node=None, handled=100 if r <= dial_clean_to else 90)
          for r in rates),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("ours", "dial", "worker", "rows"),
    [
        (90.0, 120.0, 3.39, [
            "| Stasis IVR clean at ≥ 0.85 times the dialplan IVR's highest clean rate (120/s) "
            "| 90/s (0.75 times) | **no** |",
            "| worker CPU per IVR call ≤ 2 ms (at 90/s, its highest clean rate) "
            "| 3.39 ms | **no** |",
        ]),
        (120.0, 120.0, 1.9, [
            "| Stasis IVR clean at ≥ 0.85 times the dialplan IVR's highest clean rate (120/s) "
            "| 120/s (1.00 times) | yes |",
            "| worker CPU per IVR call ≤ 2 ms (at 120/s, its highest clean rate) | 1.90 ms | yes |",
        ]),
        (0.0, 150.0, 1.0, [
            "| Stasis IVR clean at ≥ 0.85 times the dialplan IVR's highest clean rate (150/s) "
            "| none (0.00 times) | **no** |",
        ]),
    ],
)  # fmt: skip
def test_issue_14_targets_are_judged_at_the_workers_own_clean_rate(
    ours: float, dial: float, worker: float, rows: list[str]
) -> None:
    results = Results("full", "./bench.sh --full", "22", steps=_ramp(ours, dial, worker))
    got = targets(results)
    assert got[2 : 2 + len(rows)] == rows
    assert got[2 + len(rows)] == f"| no taskprocessor warnings below {dial:g}/s | 0 | yes |"


def test_the_ceiling_line_names_the_first_failing_rate_and_the_machine_share() -> None:
    steps = _ramp(90.0, 120.0, 3.0)  # per call: Asterisk 12 + worker 3 (+ node 0.2) + SIPp 1
    assert ceiling(steps, cores=2) == [
        "- Where the ceiling is: the Stasis IVR first failed calls at 120/s, where Asterisk, the "
        "worker and SIPp needed 97 % of the machine's cores (the dialplan IVR at that rate: "
        "84 %). Past 100 % the scheduler decides which calls fail: the ceiling is CPU per call, "
        "the worker's and Asterisk's. What it is spent on, and the next lever: the last section."
    ]
    assert ceiling(_ramp(150.0, 150.0, 3.0), cores=2) == [
        "- The Stasis IVR was clean at every rate run: its ceiling was not reached."
    ]
