"""Specification of GET /metrics: the Prometheus text for a seeded worker state, the token rule,
reads at scrape time, and HTTP requests counted by route template. In process (ASGITransport);
the text is parsed back with prometheus_client's own parser."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stasis_app.events.elastic import SinkStatus
from stasis_app.health import DeadTask
from stasis_app.histogram import Histogram
from stasis_app.lagmonitor import LoopLag
from tests.unit.http_support import FakeStatus, client, healthy_store, make_app


def seeded() -> FakeStatus:
    post = Histogram((0.01, 0.1))
    for seconds in (0.002, 0.004, 0.05):
        post.observe(seconds)
    return FakeStatus(
        reconnects=3,
        endpoint_reconnects=1,
        endpoints_connected=False,
        loop_lag=LoopLag(120.0, 2.5, 8.0),
        store_status=healthy_store(
            backlog=7, events_written=900, write_failures=1, events_rejected=2
        ),
        sink_status=SinkStatus("backing-off", "timeout", shipped=850, pending=50, dead_letters=2),
        dead_tasks=(DeadTask("loop-lag-monitor", None, essential=False),),
        active_calls=4,
        live_channels=6,
        calls_ended={"answered": 10, "abandoned": 2},
        options_chosen={("main", "1"): 8, ("main", "2"): 3},
        latency={"POST": post},
    )


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as {(name, sorted labels): value}."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(status: FakeStatus, *, public: bool = False, auth: bool = True) -> str:
    async with client(make_app(status=status, metrics_public=public), auth=auth) as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


EXPECTED = [
    ("cti_ready", {}, 1.0),
    ("cti_health_problems", {"code": "endpoints-disconnected"}, 1.0),
    ("cti_health_problems", {"code": "shipping-backing-off"}, 1.0),
    ("cti_health_problems", {"code": "task-dead"}, 1.0),
    ("cti_build_info", {"version": "0.1.0", "asterisk": "22.5.0"}, 1.0),
    ("cti_ari_connected", {"stream": "calls"}, 1.0),
    ("cti_ari_connected", {"stream": "endpoints"}, 0.0),
    ("cti_ari_reconnects_total", {"stream": "calls"}, 3.0),
    ("cti_ari_reconnects_total", {"stream": "endpoints"}, 1.0),
    ("cti_ari_request_duration_seconds_bucket", {"method": "POST", "le": "0.01"}, 2.0),
    ("cti_ari_request_duration_seconds_bucket", {"method": "POST", "le": "0.1"}, 3.0),
    ("cti_ari_request_duration_seconds_bucket", {"method": "POST", "le": "+Inf"}, 3.0),
    ("cti_ari_request_duration_seconds_count", {"method": "POST"}, 3.0),
    ("cti_calls_active", {}, 4.0),
    ("cti_channels_live", {}, 6.0),
    ("cti_calls_ended_total", {"disposition": "answered"}, 10.0),
    ("cti_calls_ended_total", {"disposition": "abandoned"}, 2.0),
    ("cti_ivr_options_chosen_total", {"menu": "main", "digits": "1"}, 8.0),
    ("cti_ivr_options_chosen_total", {"menu": "main", "digits": "2"}, 3.0),
    ("cti_event_loop_lag_max_seconds", {}, 0.12),
    ("cti_event_loop_lag_recent_p99_seconds", {}, 0.0025),
    ("cti_event_loop_lag_recent_max_seconds", {}, 0.008),
    ("cti_store_writer_up", {}, 1.0),
    ("cti_store_backlog", {}, 7.0),
    ("cti_store_events_rejected_total", {}, 2.0),
    ("cti_store_events_written_total", {}, 900.0),
    ("cti_store_write_failures_total", {}, 1.0),
    ("cti_event_sink_state", {"state": "backing-off"}, 1.0),
    ("cti_event_sink_state", {"state": "running"}, 0.0),
    ("cti_event_sink_pending", {}, 50.0),
    ("cti_event_sink_dead_letters", {}, 2.0),
    ("cti_event_sink_shipped_total", {}, 850.0),
]


@pytest.mark.asyncio
async def test_metrics_expose_the_seeded_state() -> None:
    """Every cti_* series carries the worker's figure, with its labels, in base units."""
    found = samples(await scrape(seeded()))
    for name, labels, value in EXPECTED:
        key = (name, tuple(sorted(labels.items())))
        assert found.get(key) == pytest.approx(value), key
    assert found[("cti_ari_request_duration_seconds_sum", (("method", "POST"),))] == (
        pytest.approx(0.056)
    )


@pytest.mark.asyncio
async def test_no_sink_no_sink_series_and_not_ready_when_blocked() -> None:
    """Without Elasticsearch there is no cti_event_sink_* series; ARI down makes cti_ready 0."""
    found = samples(await scrape(FakeStatus(ari_connected=False)))
    assert not [name for name, _ in found if name.startswith("cti_event_sink")]
    assert found[("cti_ready", ())] == 0.0
    assert found[("cti_health_problems", (("code", "ari-disconnected"),))] == 1.0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("public", "auth", "http_status"),
    [(False, False, 401), (False, True, 200), (True, False, 200), (True, True, 200)],
)
async def test_token_required_unless_public(public: bool, auth: bool, http_status: int) -> None:
    """/metrics needs the bearer token like other routes, unless CTI_METRICS_PUBLIC."""
    async with client(make_app(metrics_public=public), auth=auth) as http:
        answer = await http.get("/metrics")
    assert answer.status_code == http_status
    if http_status == 401:
        assert answer.json()["error"]["code"] == "unauthorized"


@pytest.mark.asyncio
async def test_metrics_are_read_at_scrape_time() -> None:
    """Nothing is read when the app is built; each scrape reads the state as it is then."""
    status = FakeStatus()
    async with client(make_app(status=status)) as http:
        assert status.reads == 0
        first = samples((await http.get("/metrics")).text)
        status.active_calls = 9
        status.calls_ended = {"answered": 1}
        second = samples((await http.get("/metrics")).text)
    assert status.reads == 2
    assert first[("cti_calls_active", ())] == 0.0
    assert second[("cti_calls_active", ())] == 9.0
    assert second[("cti_calls_ended_total", (("disposition", "answered"),))] == 1.0


@pytest.mark.asyncio
async def test_http_requests_are_counted_by_route_template() -> None:
    """Ids never become labels: /channels/{channel_id} whatever the id, unknown paths pooled."""
    async with client(make_app()) as http:
        for channel in ("1.1", "2.2"):
            assert (await http.get(f"/channels/{channel}")).status_code == 404
        await http.get("/no/such/path")
        await http.get("/health")
        found = samples((await http.get("/metrics")).text)

    def count(route: str, code: str) -> float:
        labels = (("method", "GET"), ("route", route), ("status", code))
        return found.get(("cti_http_requests_total", labels), 0.0)

    assert count("/channels/{channel_id}", "404") == 2.0
    assert count("unmatched", "404") == 1.0
    assert count("/health", "200") == 1.0


@pytest.mark.asyncio
async def test_each_app_has_its_own_registry() -> None:
    """Two apps never share a series (no global default registry)."""
    one, two = FakeStatus(active_calls=1), FakeStatus(active_calls=2)
    assert samples(await scrape(one))[("cti_calls_active", ())] == 1.0
    assert samples(await scrape(two))[("cti_calls_active", ())] == 2.0
