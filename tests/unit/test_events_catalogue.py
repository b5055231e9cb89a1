"""The catalogue of call events is the one definition: the ECS mapping, the index template, the
docs and the dashboards all agree with it, fact by fact and field by field."""

from __future__ import annotations

import dataclasses
import json
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stasis_app.events import CallEvent, catalogue
from stasis_app.events.bus import EventBus
from stasis_app.events.catalogue import CATALOGUE, EXTRA, SPECIAL, Fact, Shape
from stasis_app.events.ecs import to_ecs
from stasis_app.events.setup import DASHBOARDS, index_template

DOC = Path(__file__).resolve().parents[2] / "docs" / "call-events.md"
DOTTED = re.compile(r"[a-z_]+(\.[a-z_]+)+")
KEBAB = re.compile(r"[a-z]+(-[a-z]+)*")
# Which index types hold each declared value type (a tuple is an array of keywords).
FITTING: dict[type, set[str]] = {
    str: {"keyword"},
    int: {"long", "integer"},
    float: {"float", "double"},
    tuple: {"keyword"},
}


def _mapping(spec: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, field in spec.get("properties", {}).items():
        if "type" in field:
            out[prefix + name] = field["type"]
        out |= _mapping(field, f"{prefix}{name}.")
    return out


MAPPING = _mapping(index_template()["template"]["mappings"])
PLACED = [(fact, name, target) for fact in CATALOGUE for name, target in catalogue.placements(fact)]


def _fields(keep: Callable[[str], object] = lambda _target: True) -> list[Any]:
    """(fact, field name, placement) test parameters for the placements ``keep`` accepts."""
    return [
        pytest.param(fact, name, target, id=f"{fact.ACTION}.{name}")
        for fact, name, target in PLACED
        if keep(target)
    ]


def _dotted(target: str) -> bool:
    return DOTTED.fullmatch(target) is not None


def _value(name: str, shape: Shape) -> Any:
    """A sample value that is told apart from every other field's in a document."""
    samples: dict[type, Any] = {
        str: f"{name}-sample",
        int: 17,
        float: 12.5,
        tuple: (f"{name}-1", f"{name}-2"),
    }
    return samples[shape.kind]


def sample(fact: type[Fact]) -> Fact:
    """``fact`` with every field set to a sample value (none left None)."""
    shapes = catalogue.shapes(fact)
    return fact(**{name: _value(name, shape) for name, shape in shapes.items()})


def sample_doc(fact: type[Fact]) -> dict[str, Any]:
    """The document of ``sample(fact)`` with the record's caller and dialed unset, so that the
    fact's own ``caller``/``dialed`` (call-started's) are what the document can show."""
    return to_ecs(CallEvent.of("c1", sample(fact), caller=None, dialed=None, at=1.0))


def _at(doc: dict[str, Any], dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        node = node[part]
    return node


def _leaves(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict) and f"{prefix}{key}" != "cti.extra":
            out |= _leaves(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = value
    return out


def _as_json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# -- the catalogue itself -------------------------------------------------------------------------


def test_actions_are_unique_and_kebab_case() -> None:
    """An action names one fact, and reads like the others (``transfer-started``)."""
    actions = [fact.ACTION for fact in CATALOGUE]
    assert len(actions) == len(set(actions)), actions
    assert [a for a in actions if not KEBAB.fullmatch(a)] == []
    assert dict(catalogue.BY_ACTION) == {fact.ACTION: fact for fact in CATALOGUE}


@pytest.mark.parametrize(("fact", "name", "target"), _fields())
def test_every_field_has_a_placement(fact: type[Fact], name: str, target: str) -> None:
    """Each field says where the document puts it: a dotted path, SPECIAL or EXTRA."""
    assert target in (SPECIAL, EXTRA) or DOTTED.fullmatch(target), (fact.__name__, name, target)


@pytest.mark.parametrize(
    "fact", [f for f in CATALOGUE if catalogue.shapes(f)], ids=lambda f: f.ACTION
)
def test_a_record_reads_back_as_its_fact(fact: type[Fact]) -> None:
    """``read(F.ACTION, f.data()) == f``, with every field set and with the optional ones None."""
    full = sample(fact)
    assert catalogue.read(fact.ACTION, full.data()) == full
    nones = {n: None for n, shape in catalogue.shapes(fact).items() if shape.optional}
    sparse = dataclasses.replace(full, **nones)
    assert set(sparse.data()) == set(catalogue.shapes(fact)) - set(nones)
    assert catalogue.read(fact.ACTION, sparse.data()) == sparse


def test_read_is_lenient_with_hand_written_records() -> None:
    """Unknown keys are ignored, missing fields take a default or an empty value."""
    dialing = catalogue.read("dialing", {"extension": "2000", "colour": "blue"})
    assert dialing == catalogue.Dialing(extension="2000", leg="")
    assert catalogue.read("bridged", {"bridge": "b"}) == catalogue.Bridged(None, "b")
    ended = catalogue.read("call-ended", {"ivr_path": ["main"]})
    assert ended == catalogue.CallEnded(disposition="", ivr_path=("main",))
    assert catalogue.read("no-such-action", {}) is None


def test_call_event_of_records_the_facts_action_and_fields() -> None:
    """CallEvent.of is how a call turns a fact into the stored record."""
    event = CallEvent.of(
        "c1", catalogue.Transferred(extension="2000", by="api"), caller="1000", dialed="500", at=2.0
    )
    assert (event.action, dict(event.data)) == ("transferred", {"extension": "2000", "by": "api"})
    assert (event.call_id, event.caller, event.dialed, event.at) == ("c1", "1000", "500", 2.0)
    assert event.fact() == catalogue.Transferred(extension="2000", by="api")


@pytest.mark.parametrize("fact", CATALOGUE, ids=lambda f: f.ACTION)
def test_every_fact_says_what_happened_in_its_own_words(fact: type[Fact]) -> None:
    """Each fact has its own SAYS (the ECS message), naming only fields the fact has, and its
    sample document's message fills every placeholder (no "unknown", no braces left)."""
    assert "SAYS" in vars(fact), f"{fact.__name__} inherits SAYS"
    names = {name for _text, name, _spec, _conv in string.Formatter().parse(fact.SAYS) if name}
    assert names <= set(catalogue.shapes(fact)), names - set(catalogue.shapes(fact))
    said = sample_doc(fact)["message"]
    assert "unknown" not in said
    assert "{" not in said
    assert said.startswith("call c1 ")


# -- the ECS mapping and the index template -------------------------------------------------------


@pytest.mark.parametrize(("fact", "name", "target"), _fields(_dotted))
def test_every_dotted_placement_is_mapped_with_a_fitting_type(
    fact: type[Fact], name: str, target: str
) -> None:
    """The template maps each path the catalogue uses, as a type the field's values fit."""
    assert target in MAPPING, f"{target} ({fact.__name__}.{name}) is not in the index template"
    kind = catalogue.shapes(fact)[name].kind
    assert MAPPING[target] in FITTING[kind], (target, MAPPING[target], kind)


@pytest.mark.parametrize(("fact", "name", "target"), _fields(_dotted))
def test_every_dotted_field_lands_at_its_path(fact: type[Fact], name: str, target: str) -> None:
    """A field placed at a path is found there, with its value."""
    assert _at(sample_doc(fact), target) == _as_json(getattr(sample(fact), name))


@pytest.mark.parametrize(("fact", "name", "target"), _fields(lambda target: target == SPECIAL))
def test_every_special_field_is_used_by_the_mapping(
    fact: type[Fact], name: str, target: str
) -> None:
    """The mapping derives something from each SPECIAL field: its value is in the document,
    outside cti.extra (a new SPECIAL field fails here until ecs.py reads it)."""
    value = _as_json(getattr(sample(fact), name))
    leaves = _leaves(sample_doc(fact))
    found = [path for path, leaf in leaves.items() if leaf == value and path != "cti.extra"]
    assert found, f"{fact.__name__}.{name}={value!r} is not in {leaves}"


@pytest.mark.parametrize(("fact", "name", "target"), _fields(lambda target: target == EXTRA))
def test_every_extra_field_is_kept_in_cti_extra(fact: type[Fact], name: str, target: str) -> None:
    """Stored, not indexed: the value is under cti.extra."""
    assert sample_doc(fact)["cti"]["extra"][name] == _as_json(getattr(sample(fact), name))


@pytest.mark.parametrize("fact", CATALOGUE, ids=lambda f: f.ACTION)
def test_nothing_of_a_fact_is_left_to_cti_extra_unless_it_says_so(fact: type[Fact]) -> None:
    """Only EXTRA fields end in cti.extra: no field of the fact is 'unknown' to the mapping."""
    extra = sample_doc(fact)["cti"].get("extra", {})
    assert set(extra) == {n for n, t in catalogue.placements(fact) if t == EXTRA}


@pytest.mark.parametrize("fact", CATALOGUE, ids=lambda f: f.ACTION)
def test_every_document_field_is_mapped_with_a_fitting_type(fact: type[Fact]) -> None:
    """No value of any fact relies on dynamic mapping (which is off: it would not be indexed)."""
    doc = to_ecs(CallEvent.of("c1", sample(fact), caller="1000", dialed="500", at=1.0))
    for name, value in _leaves(doc).items():
        assert name in MAPPING, name
        for item in value if isinstance(value, list) else [value]:
            kinds = [kind for kind, types in FITTING.items() if MAPPING[name] in types]
            if MAPPING[name] in ("date", "text"):
                kinds = [str]
            if MAPPING[name] == "object":
                kinds = [dict]
            assert isinstance(item, tuple(kinds)), (name, item)


@pytest.mark.parametrize("fact", CATALOGUE, ids=lambda f: f.ACTION)
def test_event_type_and_outcome_come_from_the_catalogue(fact: type[Fact]) -> None:
    """event.type is the fact's TYPES; event.outcome its OUTCOME (call-ended's: by disposition)."""
    event = sample_doc(fact)["event"]
    assert event["type"] == list(fact.TYPES)
    if fact is not catalogue.CallEnded:
        assert event.get("outcome") == fact.OUTCOME


# -- the docs and the dashboards ------------------------------------------------------------------

_CODE = re.compile(r"`([^`]+)`")


def _section(title: str) -> list[list[str]]:
    """The rows (cells) of the table in docs/call-events.md's section ``title``."""
    text = DOC.read_text()
    body = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in body.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows]


EVENT_ROWS = {_CODE.findall(row[0])[0]: row for row in _section("The events")}


def test_the_doc_lists_every_action_once() -> None:
    """docs/call-events.md has one row per catalogue action, and no other."""
    rows = [_CODE.findall(row[0])[0] for row in _section("The events")]
    assert len(rows) == len(set(rows)), rows
    assert set(rows) == set(catalogue.BY_ACTION)


@pytest.mark.parametrize("fact", CATALOGUE, ids=lambda f: f.ACTION)
def test_the_doc_gives_each_action_its_fields_types_and_outcome(fact: type[Fact]) -> None:
    """The row names exactly the fact's fields (``?`` when it may be absent), event.type and
    event.outcome."""
    row = EVENT_ROWS[fact.ACTION]
    fields = [
        name + ("?" if shape.optional else "") for name, shape in catalogue.shapes(fact).items()
    ]
    assert _CODE.findall(row[1]) == fields
    assert _CODE.findall(row[2]) == list(fact.TYPES)
    assert _CODE.findall(row[3]) == ([fact.OUTCOME] if fact.OUTCOME else [])


def _field_rows() -> dict[str, set[str]]:
    """Document field -> the actions its row says it is on ({'all'} for every event)."""
    rows: dict[str, set[str]] = {}
    for row in _section("The document (ECS 8.11)"):
        on = set(_CODE.findall(row[2])) | ({"all"} if row[2].startswith("all") else set())
        for name in _CODE.findall(row[0]):
            rows[name] = on
    return rows


def test_the_doc_describes_every_mapped_field() -> None:
    """Each field the index template maps has a row in the doc's field table."""
    documented = _field_rows()
    assert [name for name in MAPPING if name not in documented] == []


@pytest.mark.parametrize(("fact", "name", "target"), _fields(_dotted))
def test_the_doc_names_each_action_a_field_is_on(fact: type[Fact], name: str, target: str) -> None:
    """The field table's 'on' column lists every action that places a field at that path."""
    on = _field_rows()[target]
    assert fact.ACTION in on or "all" in on, (target, fact.ACTION)


def test_the_dashboards_only_filter_on_catalogue_actions() -> None:
    """A renamed action cannot silently empty a Kibana panel."""
    text = Path(DASHBOARDS).read_text()
    used = set(re.findall(r'event\.action\s*:\s*\\"([^"\\]+)\\"', text))
    assert used, "the pattern no longer finds the dashboards' action filters"
    assert used <= set(catalogue.BY_ACTION)


def test_the_template_is_valid_json_with_unique_paths() -> None:
    """The template file parses and maps no path twice (a pasted duplicate would be silent)."""
    text = (Path(catalogue.__file__).parent / "templates" / "index-template.json").read_text()

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    json.loads(text, object_pairs_hook=no_duplicates)


API_DOC = DOC.parent / "api.md"


async def _pop_type(fact: type[Fact]) -> str | None:
    """The screen-pop type the bus sends for ``sample(fact)`` on a fresh call, or None."""
    bus = EventBus()
    subscription = bus.subscribe()
    bus.emit(CallEvent.of("c1", sample(fact), caller="1000", dialed="2000", at=1.0))
    bus.close()
    pops = [pop async for pop in subscription]
    return str(pops[0]["type"]) if pops else None


@pytest.mark.asyncio
@pytest.mark.parametrize("fact", CATALOGUE, ids=lambda f: f.ACTION)
async def test_the_doc_gives_each_actions_screen_pop(fact: type[Fact]) -> None:
    """The events table's screen-pop column is what the bus sends for that fact."""
    cell = _CODE.findall(EVENT_ROWS[fact.ACTION][4])
    assert await _pop_type(fact) == (cell[0] if cell else None)


def test_every_screen_pop_type_is_described_in_the_api_doc() -> None:
    """docs/api.md's screen-pop table has a row for each type the events table names."""
    section = API_DOC.read_text().split("## Screen pops", 1)[1].split("\n## ", 1)[0]
    described = {
        name
        for line in section.splitlines()
        if line.startswith("| `")
        for name in _CODE.findall(line.split("|")[1])
    }
    named = {_CODE.findall(row[4])[0] for row in EVENT_ROWS.values() if _CODE.findall(row[4])}
    assert named <= described, named - described


def test_a_record_made_from_a_fact_hands_that_fact_back_as_read_would() -> None:
    """The bus and the store take the fact a record was made from (no second parse); it must
    be what reading the record's data back gives."""
    fact = catalogue.TransferStarted(transfer="T", extension="1001", moved="C", by="api")
    record = CallEvent.of("C", fact, caller="2000", dialed="1000")
    assert record.fact() is fact
    assert catalogue.read(record.action, record.data) == fact
    assert record == dataclasses.replace(record, made_from=None)  # not part of its identity
