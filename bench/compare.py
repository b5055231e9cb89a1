"""The ramp's targets side by side: our worker, the node ari-client peer, the dialplan IVR.

Issue #14's targets for the worker against the peer: at most half the peer's CPU per call, and a
higher clean rate. A program's CPU per call is its own process's (the worker for ``stasis``, node
for ``node``); the dialplan IVR has no program of its own. The ratio is taken at the highest rate
where both were clean: below saturation, and where each one's idle cost weighs least.
"""

from __future__ import annotations

from bench.ramp import Step

CPU_RATIO_TARGET = 0.5  # the worker's CPU per call at most this share of the peer's
OURS, PEER = "stasis", "node"


def app_cpu_ms(step: Step) -> float | None:
    """CPU per call of the program that served the step's calls (None: the dialplan's)."""
    if step.target == OURS:
        return step.worker_cpu_ms
    if step.target == PEER:
        return step.node_cpu_ms
    return None


def app_cpu_line(step: Step) -> str:
    """The bench's progress line after a step: the program's CPU and Asterisk's."""
    own = app_cpu_ms(step)
    who = {OURS: "worker", PEER: "node"}.get(step.target, "")
    mine = f"{who} {own:.2f} ms, " if own is not None else ""
    return f"{mine}Asterisk {step.asterisk_cpu_ms:.2f} ms per call"


def highest_clean(steps: list[Step], target: str) -> float | None:
    clean = [s.rate for s in steps if s.target == target and s.clean]
    return max(clean, default=None)


def _names(steps: list[Step]) -> list[str]:
    return list(dict.fromkeys(s.target for s in steps))


def cpu_ratio(steps: list[Step]) -> tuple[float, float] | None:
    """(rate, worker ÷ node CPU per call) at the highest rate where both were clean."""
    peers = {s.rate: s for s in steps if s.target == PEER and s.clean and s.node_cpu_ms}
    both = [s for s in steps if s.target == OURS and s.clean and s.rate in peers]
    if not both:
        return None
    ours = max(both, key=lambda s: s.rate)
    peer_ms = peers[ours.rate].node_cpu_ms
    assert peer_ms is not None  # kept in ``peers`` only when it was measured (and not 0)
    return ours.rate, ours.worker_cpu_ms / peer_ms


def clean_rate_verdict(steps: list[Step]) -> str:
    """Whether ours stayed clean at a higher rate than the peer: "yes", "**no**", or
    "undecided" when both were clean at the last rate the ramp ran (neither ceiling found)."""
    ours, peer = highest_clean(steps, OURS), highest_clean(steps, PEER)
    if ours is not None and (peer is None or ours > peer):
        return "yes"
    last = max((s.rate for s in steps), default=None)
    if ours is not None and ours == peer == last:
        return "undecided (both clean at every rate run)"
    return "**no**"


def rate_label(value: float | None) -> str:
    """A clean rate as the tables print it (``none`` when there was no clean step)."""
    return "none" if value is None else f"{value:g}/s"


def summary(steps: list[Step]) -> list[str]:
    """The per-rate comparison at the top of performance.md, and what it says of the targets."""
    names = _names(steps)
    if not names:
        return ["No ramp steps were run."]
    by = {(s.target, s.rate): s for s in steps}
    slash = " / ".join(names)
    out = [
        f"| rate/s | digit handled: {slash} | program CPU ms/call: "
        + " / ".join(n for n in names if n in (OURS, PEER))
        + f" | Asterisk CPU ms/call: {slash} |",
        "|---|---|---|---|",
    ]
    for rate in dict.fromkeys(s.rate for s in steps):
        row = [by.get((name, rate)) for name in names]
        handled = " / ".join("-" if s is None else f"{s.handled}/{s.attempted}" for s in row)
        own = " / ".join(
            "-" if s is None or app_cpu_ms(s) is None else f"{app_cpu_ms(s):.2f}"
            for s, name in zip(row, names, strict=True)
            if name in (OURS, PEER)
        )
        ast = " / ".join("-" if s is None else f"{s.asterisk_cpu_ms:.2f}" for s in row)
        out.append(f"| {rate:g} | {handled} | {own} | {ast} |")
    cleans = ", ".join(f"{name} {rate_label(highest_clean(steps, name))}" for name in names)
    out += ["", f"- Highest clean rate (every digit handled): {cleans}."]
    if PEER not in names:
        return [*out, "- No node peer in this run: nothing to compare the worker with."]
    ratio = cpu_ratio(steps)
    if ratio is None:
        out.append("- CPU per call: no rate where both the worker and the node peer were clean.")
    else:
        rate, share = ratio
        met = "met" if share <= CPU_RATIO_TARGET else "**not met**"
        out.append(
            f"- CPU per call at {rate:g}/s (the highest rate both were clean): the worker's is "
            f"{share:.2f} times the node peer's (target ≤ {CPU_RATIO_TARGET:g}: {met})."
        )
    out.append(f"- A higher clean rate than the node peer: {clean_rate_verdict(steps)}.")
    return out


def target_rows(steps: list[Step]) -> list[str]:
    """Issue #14's two rows for the targets table (none when the run had no node peer)."""
    if PEER not in _names(steps):
        return []
    ratio = cpu_ratio(steps)
    rows = []
    if ratio is not None:
        rate, share = ratio
        rows.append(
            f"| worker CPU per IVR call ≤ {CPU_RATIO_TARGET:g} times the node peer's "
            f"(at {rate:g}/s) "
            f"| {share:.2f} times | {'yes' if share <= CPU_RATIO_TARGET else '**no**'} |"
        )
    ours, peer = highest_clean(steps, OURS), highest_clean(steps, PEER)
    rows.append(
        f"| a higher clean rate than the node peer | {rate_label(ours)} vs {rate_label(peer)} "
        f"| {clean_rate_verdict(steps)} |"
    )
    return rows
