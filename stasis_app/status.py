"""The worker's :class:`~stasis_app.http.seams.WorkerStatus`: what /health and /metrics read.

Every member reads state the worker already keeps (the streams' flags, the store's and the
sink's counters, the lag window, the dispatcher's and the registry's sizes) when a probe or a
scrape asks: a call pays nothing for it, and nothing here does I/O. The background tasks are
watched the same way (through their supervisor): a task that has ended while the worker runs,
or is being restarted after a crash, is a health problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from stasis_app import __version__
from stasis_app.ari import EventStream
from stasis_app.calls.dispatcher import Dispatcher
from stasis_app.calls.registry import LiveRegistry
from stasis_app.events.counters import CallCounters
from stasis_app.events.elastic import ElasticSink, SinkStatus
from stasis_app.events.store import CallStore, StoreStatus
from stasis_app.health import DeadTask, HealthFacts
from stasis_app.histogram import Histogram, HistogramSnapshot
from stasis_app.lagmonitor import LoopLag, LoopLagMonitor
from stasis_app.supervisor import Supervisor, TaskState


@dataclass
class AriTimings:
    """ARI REST durations by HTTP method, for ``TimedTransport(observe=timings.observe)``."""

    by_method: dict[str, Histogram] = field(default_factory=dict)

    def observe(self, method: str, seconds: float) -> None:
        histogram = self.by_method.get(method)
        if histogram is None:  # a handful of methods: GET, POST, PUT, DELETE
            histogram = self.by_method[method] = Histogram()
        histogram.observe(seconds)


@dataclass
class WorkerStatusView:
    stream: EventStream
    endpoint_stream: EventStream
    store: CallStore
    shipper: ElasticSink | None
    lag: LoopLagMonitor
    dispatcher: Dispatcher
    registry: LiveRegistry
    counters: CallCounters
    timings: AriTimings
    asterisk_version: str | None = None
    asterisk_started: datetime | None = None
    # The background tasks, started by Worker.run; read here, never awaited.
    supervisor: Supervisor | None = None
    stopping: bool = False

    @property
    def ari_connected(self) -> bool:
        return self.stream.connected

    @property
    def reconnects(self) -> int:
        return self.stream.reconnects

    @property
    def endpoint_reconnects(self) -> int:
        return self.endpoint_stream.reconnects

    @property
    def version(self) -> str:
        return __version__

    @property
    def loop_lag(self) -> LoopLag:
        return self.lag.snapshot()

    @property
    def store_status(self) -> StoreStatus:
        return self.store.status()

    @property
    def sink_status(self) -> SinkStatus | None:
        return self.shipper.status if self.shipper is not None else None

    @property
    def active_calls(self) -> int:
        return self.dispatcher.active

    @property
    def live_channels(self) -> int:
        return self.registry.channel_count

    @property
    def calls_ended(self) -> Mapping[str, int]:
        return self.counters.ended

    @property
    def options_chosen(self) -> Mapping[tuple[str, str], int]:
        return self.counters.options

    @property
    def ari_latency(self) -> Mapping[str, HistogramSnapshot]:
        return {method: h.snapshot() for method, h in self.timings.by_method.items()}

    @property
    def task_states(self) -> tuple[TaskState, ...]:
        return self.supervisor.states() if self.supervisor is not None else ()

    @property
    def dead_tasks(self) -> tuple[DeadTask, ...]:
        if self.stopping:  # tasks end on purpose during shutdown
            return ()
        return tuple(
            DeadTask(t.name, t.last_error, t.essential, t.restarts)
            for t in self.task_states
            if t.phase in ("ended", "failed")
        )

    @property
    def restarting_tasks(self) -> tuple[DeadTask, ...]:
        if self.stopping:
            return ()
        return tuple(
            DeadTask(t.name, t.last_error, t.essential, t.restarts)
            for t in self.task_states
            if t.phase == "restarting"
        )

    @property
    def health_facts(self) -> HealthFacts:
        store = self.store.status()
        sink = self.sink_status
        return HealthFacts(
            ari_connected=self.stream.connected,
            endpoints_connected=self.endpoint_stream.connected,
            store_writer_alive=store.writer_alive,
            store_failing=store.failing,
            store_error=store.last_error,
            dead_tasks=self.dead_tasks,
            restarting_tasks=self.restarting_tasks,
            sink_state=sink.state if sink is not None else None,
        )


__all__ = ["AriTimings", "WorkerStatusView"]
