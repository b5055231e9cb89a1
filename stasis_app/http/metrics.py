"""``GET /metrics``: the worker's figures in the Prometheus text format, read at scrape time.

Nothing here runs on a call's path. :class:`WorkerCollector` reads the worker's own state when
Prometheus scrapes (the live calls' count, the store's queue length, the sink's last counts, the
loop-lag window...), so a call pays nothing for being measured. The few things that must be
counted as they happen are O(1) on their path and kept next to what they count: call outcomes
and IVR options (:class:`~stasis_app.events.counters.CallCounters`, a call-event sink), ARI
request durations (:class:`~stasis_app.ari.transport.TimedTransport`) and HTTP requests
(:class:`RequestCounting`, below). Each app gets its own ``CollectorRegistry``, never the global
default, so two apps (or two tests) never share or clash over a series. The metric list, with
types, labels and meaning, is in docs/operations.md; why this library and this design, in
docs/decisions/0008-prometheus-metrics-read-at-scrape-time.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stasis_app.health import problems, verdict
from stasis_app.http.models import ErrorOut
from stasis_app.http.seams import WorkerStatus

UNMATCHED = "unmatched"  # the route label of a request no route matched (bounded cardinality)
SINK_STATES = (
    "starting",
    "running",
    "backing-off",
    "stopped-auth",
    "stopped-no-template",
    "stopped",
)


class HttpCounts:
    """Requests answered, by (method, route template, status). Updated once per request."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, method: str, route: str, status: int) -> None:
        self._counts[method, route, str(status)] += 1

    def snapshot(self) -> Mapping[tuple[str, str, str], int]:
        return dict(self._counts)


class RequestCounting:
    """ASGI middleware counting each HTTP request by its route *template*
    (``/channels/{channel_id}``), never its path, so ids cannot blow up the series count.

    Installed outermost, so it sees the status the client got, 500 envelopes included.
    """

    def __init__(self, app: ASGIApp, counts: HttpCounts) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = 500  # if nothing was sent, the server will drop the connection: a failure

        async def noting_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            # The router stores the matched route in the (shared) scope on its way in.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.counts.add(str(scope.get("method", "")), str(route), answered)


class WorkerCollector:
    """Builds every ``cti_*`` family from the worker's state at each scrape.

    It has no ``describe``: the registry then never calls ``collect`` at registration, so the
    only reads are the scrapes themselves.
    """

    def __init__(self, status: WorkerStatus, http: HttpCounts) -> None:
        self._status = status
        self._http = http

    def collect(self) -> Iterable[Metric]:
        s = self._status
        facts = s.health_facts
        found = problems(facts)
        ready = float(verdict(found) != "unavailable")
        yield GaugeMetricFamily("cti_ready", "1 when /health answers 200", value=ready)
        per_code: Counter[str] = Counter(p.code for p in found)
        problem = GaugeMetricFamily(
            "cti_health_problems",
            "Problems /health reports now, by code (absent: none)",
            labels=["code"],
        )
        for code, count in sorted(per_code.items()):
            problem.add_metric([code], count)
        yield problem
        info = GaugeMetricFamily(
            "cti_build_info", "Always 1; the versions as labels", labels=["version", "asterisk"]
        )
        info.add_metric([s.version, s.asterisk_version or ""], 1)
        yield info
        yield from self._ari(s, facts.endpoints_connected)
        yield from self._calls(s)
        yield from _loop(s)
        yield from _store(s)
        yield from _tasks(s)
        yield from _sink(s)
        yield self._requests()

    @staticmethod
    def _ari(s: WorkerStatus, endpoints_connected: bool) -> Iterable[Metric]:
        connected = GaugeMetricFamily(
            "cti_ari_connected", "1 while the ARI events websocket is up", labels=["stream"]
        )
        connected.add_metric(["calls"], float(s.ari_connected))
        connected.add_metric(["endpoints"], float(endpoints_connected))
        yield connected
        reconnects = CounterMetricFamily(
            "cti_ari_reconnects",
            "ARI events websocket connections after the first one",
            labels=["stream"],
        )
        reconnects.add_metric(["calls"], s.reconnects)
        reconnects.add_metric(["endpoints"], s.endpoint_reconnects)
        yield reconnects
        latency = HistogramMetricFamily(
            "cti_ari_request_duration_seconds",
            "ARI REST request durations (failures included), by HTTP method",
            labels=["method"],
        )
        for method, snap in sorted(s.ari_latency.items()):
            buckets = [(_le(bound), count) for bound, count in snap.buckets]
            latency.add_metric([method], buckets, snap.total)
        yield latency

    @staticmethod
    def _calls(s: WorkerStatus) -> Iterable[Metric]:
        yield GaugeMetricFamily("cti_calls_active", "Calls in progress", value=s.active_calls)
        yield GaugeMetricFamily(
            "cti_channels_live", "Live channels of our Stasis app", value=s.live_channels
        )
        ended = CounterMetricFamily(
            "cti_calls_ended", "Calls ended since start, by disposition", labels=["disposition"]
        )
        for disposition, count in sorted(s.calls_ended.items()):
            ended.add_metric([disposition], count)
        yield ended
        options = CounterMetricFamily(
            "cti_ivr_options_chosen",
            "IVR options chosen since start, by menu and digits",
            labels=["menu", "digits"],
        )
        for (menu, digits), count in sorted(s.options_chosen.items()):
            options.add_metric([menu, digits], count)
        yield options

    def _requests(self) -> Metric:
        family = CounterMetricFamily(
            "cti_http_requests",
            "REST requests answered, by method, route template and status",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in sorted(self._http.snapshot().items()):
            family.add_metric([method, route, status], count)
        return family


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else str(bound)


def _loop(s: WorkerStatus) -> Iterable[Metric]:
    lag = s.loop_lag
    for name, value, doc in (
        ("max", lag.max_ms, "Worst event-loop lag since start"),
        ("recent_p99", lag.recent_p99_ms, "Event-loop lag p99 over the last ~30 s"),
        ("recent_max", lag.recent_max_ms, "Worst event-loop lag over the last ~30 s"),
    ):
        yield GaugeMetricFamily(f"cti_event_loop_lag_{name}_seconds", doc, value=value / 1000)


def _store(s: WorkerStatus) -> Iterable[Metric]:
    store = s.store_status
    yield GaugeMetricFamily(
        "cti_store_writer_up", "1 while the history writer thread runs", value=store.writer_alive
    )
    yield GaugeMetricFamily(
        "cti_store_backlog", "Items queued for the history writer thread", value=store.backlog
    )
    yield CounterMetricFamily(
        "cti_store_events_written", "Call events committed to the store", value=store.events_written
    )
    yield CounterMetricFamily(
        "cti_store_write_failures",
        "Write transactions that failed (each is retried until it commits)",
        value=store.write_failures,
    )
    yield CounterMetricFamily(
        "cti_store_events_rejected",
        "Events the store could not write, kept in store_rejects with the reason",
        value=store.events_rejected,
    )


def _tasks(s: WorkerStatus) -> Iterable[Metric]:
    running = GaugeMetricFamily(
        "cti_task_running", "1 while the supervised background task runs", labels=["task"]
    )
    restarts = CounterMetricFamily(
        "cti_task_restarts", "Restarts of a background task after a crash", labels=["task"]
    )
    for task in s.task_states:
        running.add_metric([task.name], float(task.phase == "running"))
        restarts.add_metric([task.name], task.restarts)
    yield running
    yield restarts


def _sink(s: WorkerStatus) -> Iterable[Metric]:
    sink = s.sink_status
    if sink is None:  # no Elasticsearch configured: no cti_event_sink_* series at all
        return
    state = GaugeMetricFamily(
        "cti_event_sink_state", "1 for the Elasticsearch sink's current state", labels=["state"]
    )
    for name in SINK_STATES:
        state.add_metric([name], float(sink.state == name))
    yield state
    yield GaugeMetricFamily(
        "cti_event_sink_pending", "Events in the outbox waiting to ship", value=sink.pending
    )
    yield GaugeMetricFamily(
        "cti_event_sink_dead_letters", "Events refused for their content", value=sink.dead_letters
    )
    yield CounterMetricFamily(
        "cti_event_sink_shipped", "Events delivered by this process", value=sink.shipped
    )


def metrics_registry(status: WorkerStatus, http: HttpCounts) -> CollectorRegistry:
    """A registry of this app's own: the worker's figures plus the standard ``process_*``
    ones (read from /proc at scrape time)."""
    registry = CollectorRegistry()
    registry.register(WorkerCollector(status, http))
    ProcessCollector(registry=registry)
    return registry


def metrics_router(registry: CollectorRegistry, *, public: bool) -> APIRouter:
    router = APIRouter(tags=["health"])
    responses: dict[int | str, dict[str, Any]] = {
        200: {
            "description": "The Prometheus text format (OpenMetrics if the Accept header "
            "asks for it); the metrics are listed in docs/operations.md",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        400: {"model": ErrorOut},
    }
    if not public:
        responses[401] = {"model": ErrorOut}

    @router.get("/metrics", response_class=Response, responses=responses)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics, computed when scraped. Needs the token unless
        ``CTI_METRICS_PUBLIC=true``."""
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), media_type=content_type)

    return router


__all__ = [
    "HttpCounts",
    "RequestCounting",
    "WorkerCollector",
    "metrics_registry",
    "metrics_router",
]
