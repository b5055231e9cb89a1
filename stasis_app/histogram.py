"""A fixed-bucket latency histogram cheap enough for the ARI request path.

``observe`` is a bisect over a dozen bounds and two additions: no lock (one event loop writes it),
no allocation, no I/O. Readers (``/metrics``) take a :meth:`Histogram.snapshot` at scrape time.
It is ours rather than ``prometheus_client.Histogram`` so that the ARI layer does not depend on
the exposition library, and so each worker (and each test) owns its own counts.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# Seconds. A local Asterisk answers most requests in ~1 ms; the top buckets catch a loaded or
# remote one, and the transport's 10 s timeout.
ARI_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """Cumulative counts per upper bound (``+Inf`` last, equal to ``count``) and the sum."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    total: float


class Histogram:
    def __init__(self, bounds: Sequence[float] = ARI_BUCKETS) -> None:
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError(f"bucket bounds must be distinct and ascending, got {bounds!r}")
        self._bounds = tuple(bounds)
        self._counts = [0] * (len(self._bounds) + 1)  # the last one: above every bound
        self._sum = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (Prometheus' "le").
        self._counts[bisect_left(self._bounds, value)] += 1
        self._sum += value

    def snapshot(self) -> HistogramSnapshot:
        cumulative: list[tuple[float, int]] = []
        running = 0
        for bound, count in zip((*self._bounds, float("inf")), self._counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return HistogramSnapshot(tuple(cumulative), running, self._sum)


__all__ = ["ARI_BUCKETS", "Histogram", "HistogramSnapshot"]
