"""dashboards/cti-calls.ndjson is self-consistent and only uses fields the index template maps."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stasis_app.events.setup import DASHBOARDS, index_template

RECORDS = "___records___"  # Lens' pseudo-field for "count of documents"
_KQL_FIELD = re.compile(r"([A-Za-z@][\w.@]*)\s*:")


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


def _lens_columns(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return [(cid, col) for layer in layers.values() for cid, col in layer["columns"].items()]


def test_every_line_is_a_saved_object() -> None:
    """Each line is a JSON object with a type, an id, attributes and references."""
    objects = _objects()
    assert objects
    for obj in objects:
        assert {"type", "id", "attributes", "references"} <= obj.keys()
    ids = [(o["type"], o["id"]) for o in objects]
    assert len(ids) == len(set(ids))


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


def test_the_dashboard_panels_match_its_references() -> None:
    """Every panel names a reference the dashboard carries, and the panel set is complete."""
    (board,) = [o for o in _objects() if o["type"] == "dashboard"]
    assert board["attributes"]["title"] == "CTI calls"
    panels = json.loads(board["attributes"]["panelsJSON"])
    ref_names = {ref["name"] for ref in board["references"]}
    for panel in panels:
        assert f"{panel['panelIndex']}:{panel['panelRefName']}" in ref_names
    titles = {
        o["attributes"]["title"]
        for o in _objects()
        if any(ref["id"] == o["id"] for ref in board["references"])
    }
    assert titles == {
        "Calls over time",
        "Dispositions",
        "IVR option choices",
        "Call duration: average and p95",
        "Hangup causes",
        "Busiest extensions",
    }


@pytest.mark.parametrize(
    "obj", [o for o in _objects() if o["type"] == "lens"], ids=lambda o: o["id"]
)
def test_every_lens_field_is_mapped_with_a_fitting_type(obj: dict[str, Any]) -> None:
    """Columns, column filters and the query only use mapped fields; numbers are numeric."""
    for column_id, column in _lens_columns(obj):
        field = column["sourceField"]
        if field != RECORDS:
            assert field in MAPPED, (column_id, field)
            if column["operationType"] in ("average", "percentile", "sum", "max", "min"):
                assert MAPPED[field] in ("long", "float", "double"), field
            if column["operationType"] == "date_histogram":
                assert MAPPED[field] == "date", field
        queries = [column.get("filter", {}).get("query", "")]
        queries.append(obj["attributes"]["state"]["query"]["query"])
        for query in queries:
            for used in _KQL_FIELD.findall(query):
                assert used in MAPPED, (column_id, used)


@pytest.mark.parametrize(
    "obj", [o for o in _objects() if o["type"] == "lens"], ids=lambda o: o["id"]
)
def test_every_lens_accessor_names_a_column(obj: dict[str, Any]) -> None:
    """Visualization accessors, column order and terms ordering only name existing columns."""
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
    for vlayer in visual["layers"]:
        named = [vlayer.get("xAccessor"), vlayer.get("splitAccessor")]
        named += vlayer.get("accessors", []) + vlayer.get("primaryGroups", [])
        named += vlayer.get("metrics", [])
        all_columns = {cid for cid, _ in _lens_columns(obj)}
        assert {n for n in named if n} <= all_columns
