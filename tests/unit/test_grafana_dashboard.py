"""dashboards/grafana/cti.json: importable (its data source an input), and every PromQL query
names only series the worker's /metrics registry really exports, with labels they really have.

The exported names come from the registry the app builds (``metrics_registry``), fed a worker
state in which every optional family exists (sink, latency, tasks, HTTP requests, a health
problem), so a renamed
metric fails here instead of leaving a panel empty."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stasis_app.events.elastic import SinkStatus
from stasis_app.histogram import Histogram
from stasis_app.http.metrics import HttpCounts, metrics_registry
from stasis_app.supervisor import TaskState
from tests.unit.http_support import FakeStatus

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "grafana" / "cti.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# Labels Prometheus adds at scrape time; the worker never exports them itself.
SCRAPE_LABELS = frozenset({"instance", "job"})
# PromQL words that are not series names (only those the dashboard may use).
PROMQL = frozenset(
    {"sum", "min", "max", "avg", "count", "rate", "increase", "histogram_quantile", "by"}
)
# What the issue asks the dashboard to chart: each must appear in some query.
CHARTED = [
    "cti_calls_active",
    "cti_calls_ended_total",
    "cti_ivr_options_chosen_total",
    "cti_ari_request_duration_seconds_bucket",
    "cti_ari_reconnects_total",
    "cti_event_loop_lag_recent_p99_seconds",
    "cti_store_backlog",
    "cti_event_sink_pending",
    "cti_http_requests_total",
]


def _exported() -> dict[str, set[str]]:
    """Series name -> its label names, from one collection of the app's registry."""
    latency = Histogram((0.01, 0.1))
    latency.observe(0.004)
    status = FakeStatus(
        sink_status=SinkStatus("running", None, shipped=1, pending=0, dead_letters=0),
        calls_ended={"answered": 1},
        options_chosen={("main", "1"): 1},
        latency={"POST": latency},
        task_states=(
            TaskState("ari-events", essential=True, phase="running", restarts=0, last_error=None),
        ),
        endpoints_connected=False,  # a problem, so that cti_health_problems has a series
    )
    http = HttpCounts()
    http.add("GET", "/health", 200)
    out: dict[str, set[str]] = {}
    for family in metrics_registry(status, http).collect():
        for sample in family.samples:
            out.setdefault(sample.name, set()).update(sample.labels)
    return out


EXPORTED = _exported()
DASH: dict[str, Any] = json.loads(DASHBOARD.read_text())


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


TARGETS = [
    (panel["title"], target)
    for panel in _panels(DASH["panels"])
    for target in panel.get("targets", [])
]
EXPRS = [pytest.param(target["expr"], id=f"{title}:{target['refId']}") for title, target in TARGETS]


def series(expr: str) -> set[str]:
    """The series names ``expr`` reads: what is left once strings, label matchers, ranges,
    grouping clauses, template variables, numbers and PromQL's own words are taken out."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", text)
    text = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", text)
    text = re.sub(r"\$\w+|\b\d+(?:\.\d+)?\b", "", text)
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text)) - PROMQL


def grouping(expr: str) -> set[str]:
    """The labels ``expr`` groups by or matches on."""
    grouped = {
        label.strip()
        for clause in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
        for label in clause.split(",")
    }
    matched = set(
        re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", " ".join(re.findall(r"\{[^}]*\}", expr)))
    )
    return grouped | matched


@pytest.mark.parametrize(
    ("expr", "names", "labels"),
    [
        ('sum by (le) (rate(a_bucket{instance=~"$x"}[5m]))', {"a_bucket"}, {"le", "instance"}),
        ("histogram_quantile(0.99, sum(rate(b[1m])))", {"b"}, set()),
        (
            "60 * sum by (menu, digits) (increase(c_total[$__range]))",
            {"c_total"},
            {"menu", "digits"},
        ),
        ("up", {"up"}, set()),
    ],
)
def test_the_query_reader_finds_names_and_labels(
    expr: str, names: set[str], labels: set[str]
) -> None:
    """The reader the tests below rely on: it would see a series it does not know (``up``)."""
    assert (series(expr), grouping(expr)) == (names, labels)


@pytest.mark.parametrize("expr", EXPRS)
def test_every_query_reads_only_series_the_worker_exports(expr: str) -> None:
    names = series(expr)
    assert names, "no series found"
    assert names <= set(EXPORTED), names - set(EXPORTED)


@pytest.mark.parametrize("expr", EXPRS)
def test_every_query_groups_by_labels_its_series_have(expr: str) -> None:
    have = set().union(*(EXPORTED.get(name, set()) for name in series(expr))) | SCRAPE_LABELS
    assert grouping(expr) <= have, grouping(expr) - have


@pytest.mark.parametrize("name", CHARTED)
def test_each_figure_the_issue_asks_for_is_charted(name: str) -> None:
    assert any(name in series(target["expr"]) for _title, target in TARGETS), name


def test_the_variable_lists_instances_of_an_exported_series() -> None:
    (variable,) = DASH["templating"]["list"]
    found = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["query"]["query"])
    assert found is not None
    assert found[1] in EXPORTED
    assert found[2] in SCRAPE_LABELS
    assert variable["datasource"] == DATASOURCE


def test_it_imports_with_the_prometheus_data_source_as_an_input() -> None:
    """Grafana's import asks for DS_PROMETHEUS; every panel and query uses it; ids are unique."""
    assert [i["name"] for i in DASH["__inputs"]] == ["DS_PROMETHEUS"]
    assert DASH["__inputs"][0]["pluginId"] == "prometheus"
    assert DASH["id"] is None
    assert DASH["uid"] == "cti-worker"
    panels = list(_panels(DASH["panels"]))
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"] == DATASOURCE, panel["title"]
            assert panel["targets"], panel["title"]
    assert all(target["datasource"] == DATASOURCE for _title, target in TARGETS)
