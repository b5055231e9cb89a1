"""Event-loop lag: how late a 50 ms sleep wakes up, the cheapest sign of a blocked loop.

Asterisk drops an ARI websocket reader that stalls for 100 ms, so a loop that wakes late is the
first thing to look at when calls go wrong under load. The monitor keeps the worst lag since start
and a window of recent samples (p99 and max), logs them once per minute and feeds GET /health.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

import structlog

log = structlog.get_logger("cti.loop")

INTERVAL = 0.05
WINDOW = 600  # samples: the last ~30 s
LOG_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class LoopLag:
    """The figures /health and the periodic log line report, in ms to 0.1."""

    max_ms: float
    recent_p99_ms: float
    recent_max_ms: float


class LoopLagMonitor:
    def __init__(self, interval: float = INTERVAL, window: int = WINDOW) -> None:
        self.interval = interval
        self.max_ms = 0.0
        self._recent: deque[float] = deque(maxlen=window)

    @property
    def recent_p99_ms(self) -> float:
        if not self._recent:
            return 0.0
        ordered = sorted(self._recent)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    @property
    def recent_max_ms(self) -> float:
        return max(self._recent, default=0.0)

    def snapshot(self) -> LoopLag:
        return LoopLag(
            round(self.max_ms, 1), round(self.recent_p99_ms, 1), round(self.recent_max_ms, 1)
        )

    def record(self, lag_ms: float) -> None:
        self._recent.append(lag_ms)
        self.max_ms = max(self.max_ms, lag_ms)

    async def run(self) -> None:
        """Sample until cancelled."""
        next_log = time.monotonic() + LOG_EVERY
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval)
            woke = time.monotonic()
            self.record(max(0.0, (woke - before - self.interval) * 1000))
            if woke >= next_log:
                next_log = woke + LOG_EVERY
                lag = self.snapshot()
                log.info(
                    "loop.lag",
                    max_ms=lag.max_ms,
                    recent_p99_ms=lag.recent_p99_ms,
                    recent_max_ms=lag.recent_max_ms,
                )


__all__ = ["LoopLag", "LoopLagMonitor"]
