"""dashboards/cti-calls.ndjson is self-consistent and only uses fields the index template maps."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stasis_app.events import catalogue
from stasis_app.events.setup import DASHBOARDS, index_template

RECORDS = "___records___"  # Lens' pseudo-field for "count of documents"
_KQL_FIELD = re.compile(r"([A-Za-z@][\w.@]*)\s*:")
_KQL_VALUE = re.compile(r'([A-Za-z@][\w.@]*)\s*:\s*"([^"]*)"')
NUMERIC_OPERATIONS = ("average", "percentile", "sum", "max", "min", "median")
# What each dashboard shows, by panel title.
DASHBOARD_PANELS: dict[str, set[str]] = {
    "CTI calls": {
        "Calls over time",
        "Dispositions",
        "IVR option choices",
        "Call duration: average and p95",
        "Hangup causes",
        "Busiest extensions",
    },
    "CTI queues": {
        "Service level per queue",
        "Waiting time per queue: average and maximum",
        "Queue outcomes over time",
        "Calls answered per agent",
        "Missed offers per agent",
    },
}


def _objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(DASHBOARDS).read_text().splitlines() if line]


def _mapped_fields(mapping: dict[str, Any], prefix: str = "") -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, spec in mapping.get("properties", {}).items():
        if "type" in spec and spec["type"] != "object":
            fields[prefix + name] = spec["type"]
        fields |= _mapped_fields(spec, f"{prefix}{name}.")
    return fields


MAPPED = _mapped_fields(index_template()["template"]["mappings"])
LENSES = [o for o in _objects() if o["type"] == "lens"]
BOARDS = {o["attributes"]["title"]: o for o in _objects() if o["type"] == "dashboard"}


def _lens(title: str) -> dict[str, Any]:
    (found,) = [o for o in LENSES if o["attributes"]["title"] == title]
    return found


def _lens_columns(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return [(cid, col) for layer in layers.values() for cid, col in layer["columns"].items()]


def _queries(obj: dict[str, Any]) -> Iterator[str]:
    """Every KQL text of a lens: its query and its column filters."""
    yield obj["attributes"]["state"]["query"]["query"]
    for _, column in _lens_columns(obj):
        yield column.get("filter", {}).get("query", "")


def field_problems(obj: dict[str, Any]) -> list[str]:
    """What a lens uses that the template does not map (or maps as an unfitting type)."""
    problems: list[str] = []
    for column_id, column in _lens_columns(obj):
        field = column["sourceField"]
        if field == RECORDS:
            continue
        kind = MAPPED.get(field)
        if kind is None:
            problems.append(f"{column_id}: {field} is not mapped")
        elif column["operationType"] in NUMERIC_OPERATIONS and kind not in ("long", "float"):
            problems.append(f"{column_id}: {column['operationType']} of {kind} {field}")
        elif column["operationType"] == "date_histogram" and kind != "date":
            problems.append(f"{column_id}: date histogram of {kind} {field}")
        elif column["operationType"] == "terms" and kind != "keyword":
            problems.append(f"{column_id}: top values of {kind} {field}")
    for pill in obj["attributes"]["state"].get("filters", []):
        key = pill.get("meta", {}).get("key")
        if key is not None and key not in MAPPED:
            problems.append(f"filter pill: {key} is not mapped")
    for query in _queries(obj):
        used = _KQL_FIELD.findall(query)
        problems += [f"query: {field} is not mapped" for field in used if field not in MAPPED]
    return problems


# -- the file -------------------------------------------------------------------------------------


def test_every_line_is_a_saved_object() -> None:
    """Each line is a JSON object with a type, an id, attributes and references."""
    objects = _objects()
    assert objects
    for obj in objects:
        assert {"type", "id", "attributes", "references"} <= obj.keys()
    ids = [(o["type"], o["id"]) for o in objects]
    assert len(ids) == len(set(ids))


def test_every_saved_object_has_the_same_style() -> None:
    """Same migration versions as the rest: Kibana migrates every object of the file alike."""
    versions = {
        (o["type"], o.get("coreMigrationVersion"), o.get("typeMigrationVersion"))
        for o in _objects()
    }
    assert versions == {
        ("index-pattern", "8.8.0", "8.0.0"),
        ("lens", "8.8.0", "8.9.0"),
        ("dashboard", "8.8.0", "8.9.0"),
    }


def test_every_reference_resolves_within_the_file() -> None:
    """Importing the file alone never leaves a missing reference."""
    objects = _objects()
    known = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in known, (obj["id"], ref)


def test_the_data_view_covers_the_data_stream_by_timestamp() -> None:
    """The data view matches logs-cti.calls-* and uses a mapped date as its time field."""
    (view,) = [o for o in _objects() if o["type"] == "index-pattern"]
    assert view["attributes"]["title"] == "logs-cti.calls-*"
    assert MAPPED[view["attributes"]["timeFieldName"]] == "date"


# -- the dashboards -------------------------------------------------------------------------------


def test_the_file_holds_the_calls_and_the_queues_dashboards() -> None:
    """One import (``cti es setup``) brings both; every lens is on one of them."""
    assert set(BOARDS) == set(DASHBOARD_PANELS)
    on_a_board = {ref["id"] for board in BOARDS.values() for ref in board["references"]}
    assert {o["id"] for o in LENSES} == on_a_board


@pytest.mark.parametrize("title", sorted(DASHBOARD_PANELS))
def test_the_dashboard_panels_match_its_references(title: str) -> None:
    """Every panel names a reference the dashboard carries, and the panel set is complete."""
    board = BOARDS[title]
    panels = json.loads(board["attributes"]["panelsJSON"])
    ref_names = {ref["name"] for ref in board["references"]}
    assert {f"{panel['panelIndex']}:{panel['panelRefName']}" for panel in panels} == ref_names
    titles = {
        o["attributes"]["title"]
        for o in _objects()
        if any(ref["id"] == o["id"] for ref in board["references"])
    }
    assert titles == DASHBOARD_PANELS[title]


@pytest.mark.parametrize("title", sorted(DASHBOARD_PANELS))
def test_the_panels_do_not_overlap_and_fit_the_grid(title: str) -> None:
    """Kibana's grid is 48 columns wide; overlapping panels would be pushed around on import."""
    panels = json.loads(BOARDS[title]["attributes"]["panelsJSON"])
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"]
        assert grid["x"] >= 0, panel["panelIndex"]
        assert grid["x"] + grid["w"] <= 48, panel["panelIndex"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, panel["panelIndex"]
        cells |= mine


# -- the lens panels ------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", LENSES, ids=lambda o: o["id"])
def test_every_lens_field_is_mapped_with_a_fitting_type(obj: dict[str, Any]) -> None:
    """Columns, column filters, filter pills and the query only use mapped fields; numbers
    are numeric, dates dates, top values keywords."""
    assert field_problems(obj) == []


@pytest.mark.parametrize(
    ("doctor", "problem"),
    [
        pytest.param(
            lambda col: col.update(sourceField="cti.queue.agent_name"),
            "sl: cti.queue.agent_name is not mapped",
            id="column-field",
        ),
        pytest.param(
            lambda col: col.update(sourceField="cti.queue.name"),
            "sl: average of keyword cti.queue.name",
            id="average-of-keyword",
        ),
        pytest.param(
            lambda col: col["filter"].update(query="cti.queue.result : *"),
            "query: cti.queue.result is not mapped",
            id="column-filter",
        ),
    ],
)
def test_a_panel_naming_a_field_the_template_lacks_is_caught(
    doctor: Callable[[dict[str, Any]], object], problem: str
) -> None:
    """The check above is not vacuous: a queue panel broken on purpose is reported."""
    broken = copy.deepcopy(_lens("Service level per queue"))
    (column,) = [col for cid, col in _lens_columns(broken) if cid == "sl"]
    doctor(column)
    assert field_problems(broken) == [problem]


def test_a_query_or_filter_pill_on_a_missing_field_is_caught() -> None:
    broken = copy.deepcopy(_lens("Calls answered per agent"))
    state = broken["attributes"]["state"]
    state["query"]["query"] = 'cti.queue.skill : "fr"'
    state["filters"] = [{"meta": {"key": "cti.agent"}, "query": {"match_phrase": {}}}]
    assert field_problems(broken) == [
        "filter pill: cti.agent is not mapped",
        "query: cti.queue.skill is not mapped",
    ]


@pytest.mark.parametrize("obj", LENSES, ids=lambda o: o["id"])
def test_every_lens_accessor_names_a_column(obj: dict[str, Any]) -> None:
    """Visualization accessors, column order and terms ordering only name existing columns;
    every metric column is shown."""
    layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    for layer_id, layer in layers.items():
        columns = set(layer["columns"])
        assert set(layer["columnOrder"]) == columns
        for column in layer["columns"].values():
            order = column.get("params", {}).get("orderBy", {})
            if order.get("type") == "column":
                assert order["columnId"] in columns
        ref_names = {ref["name"] for ref in obj["references"]}
        assert f"indexpattern-datasource-layer-{layer_id}" in ref_names
    visual = obj["attributes"]["state"]["visualization"]
    all_columns = {cid for cid, _ in _lens_columns(obj)}
    shown: set[str] = set()
    for vlayer in visual["layers"]:
        named = [vlayer.get("xAccessor"), vlayer.get("splitAccessor")]
        named += vlayer.get("accessors", []) + vlayer.get("primaryGroups", [])
        named += vlayer.get("metrics", [])
        assert {n for n in named if n} <= all_columns
        shown |= {n for n in named if n}
    metrics = {cid for cid, col in _lens_columns(obj) if not col["isBucketed"]}
    assert metrics <= shown, metrics - shown


# -- the queue panels mean what docs/call-events.md says ------------------------------------------

OUTCOME_NAMES: set[str] = {
    str(field.default)
    for fact in catalogue.QUEUE_OUTCOMES
    for field in dataclasses.fields(fact)
    if field.name == "outcome"
}


@pytest.mark.parametrize("obj", LENSES, ids=lambda o: o["id"])
def test_queries_only_name_catalogue_actions_and_outcomes(obj: dict[str, Any]) -> None:
    """A renamed action or queue outcome cannot silently empty a panel."""
    for query in _queries(obj):
        for field, value in _KQL_VALUE.findall(query):
            if field == "event.action":
                assert value in catalogue.BY_ACTION, value
            if field == "cti.queue.outcome":
                assert value in OUTCOME_NAMES, value


def test_cti_queue_outcome_is_on_exactly_the_outcome_facts() -> None:
    """So ``cti.queue.outcome : *`` (the queue panels' filter) selects the outcome events: every
    caller who joined, once."""
    having = {
        fact
        for fact in catalogue.CATALOGUE
        if "cti.queue.outcome" in dict(catalogue.placements(fact)).values()
    }
    assert having == set(catalogue.QUEUE_OUTCOMES)
    assert sorted(OUTCOME_NAMES) == ["abandoned", "answered", "overflowed"]


def test_the_service_level_is_the_average_of_within_sl_over_the_outcome_events() -> None:
    """Per queue, as a percentage."""
    obj = _lens("Service level per queue")
    columns = dict(_lens_columns(obj))
    (metric,) = [col for col in columns.values() if not col["isBucketed"]]
    assert (metric["operationType"], metric["sourceField"]) == ("average", "cti.queue.within_sl")
    assert metric["filter"]["query"] == "cti.queue.outcome : *"
    assert metric["params"]["format"]["id"] == "percent"
    assert {col["sourceField"] for col in columns.values() if col["isBucketed"]} == {
        "cti.queue.name"
    }


def test_the_waiting_time_is_average_and_maximum_per_queue_over_time() -> None:
    columns = dict(_lens_columns(_lens("Waiting time per queue: average and maximum")))
    metrics = {col["operationType"]: col for col in columns.values() if not col["isBucketed"]}
    assert set(metrics) == {"average", "max"}
    for metric in metrics.values():
        assert metric["sourceField"] == "cti.queue.wait"
        assert metric["filter"]["query"] == 'cti.queue.outcome : * and not cti.reason : "full"'
    buckets = {col["operationType"]: col["sourceField"] for col in columns.values()}
    assert (buckets["terms"], buckets["date_histogram"]) == ("cti.queue.name", "@timestamp")


def test_the_outcomes_and_agent_panels_count_what_their_titles_say() -> None:
    outcomes = dict(_lens_columns(_lens("Queue outcomes over time")))
    assert {c["sourceField"] for c in outcomes.values()} == {
        "@timestamp",
        "cti.queue.outcome",
        RECORDS,
    }
    for title, action in [
        ("Calls answered per agent", "agent-answered"),
        ("Missed offers per agent", "agent-missed"),
    ]:
        columns = dict(_lens_columns(_lens(title)))
        (count,) = [c for c in columns.values() if c["operationType"] == "count"]
        assert count["filter"]["query"] == f'event.action : "{action}"'
        xaccessor = _lens(title)["attributes"]["state"]["visualization"]["layers"][0]["xAccessor"]
        assert columns[xaccessor]["sourceField"] == "cti.queue.agent"
