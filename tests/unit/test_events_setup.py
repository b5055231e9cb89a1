"""cti es setup: template, lifecycle and dashboards, against a local Elasticsearch fake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stasis_app.errors import DashboardImportError, EsAuthError, EsConnectionError, EsHttpError
from stasis_app.events.setup import (
    DASHBOARDS,
    Distribution,
    detect,
    import_dashboards,
    index_template,
    install_custom_component,
    install_template,
    lifecycle_policy,
    setup,
)
from tests.fakes.bulk_server import OPENSEARCH_REJECTS, BulkServer


def _types(mapping: dict[str, object]) -> set[str]:
    found: set[str] = set()
    properties = mapping.get("properties", {})
    assert isinstance(properties, dict)
    for spec in properties.values():
        if "type" in spec:
            found.add(spec["type"])
        found |= _types(spec)
    return found


def test_the_template_only_uses_types_all_three_servers_accept() -> None:
    """keyword/date/long/float/object: no constant_keyword, wildcard, flattened..."""
    body = index_template()
    assert body["index_patterns"] == ["logs-cti.calls-*"]
    assert body["priority"] >= 500
    assert body["data_stream"] == {}
    used = _types(body["template"]["mappings"])
    assert not used & OPENSEARCH_REJECTS
    assert used <= {"keyword", "date", "long", "float", "ip", "boolean", "text", "object"}
    assert "settings" not in body["template"]
    with_ilm = index_template(lifecycle="cti-calls")
    assert with_ilm["template"]["settings"] == {"index.lifecycle.name": "cti-calls"}


def _types_at(mapping: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, spec in mapping.get("properties", {}).items():
        if "type" in spec:
            out[prefix + name] = spec["type"]
        out |= _types_at(spec, f"{prefix}{name}.")
    return out


# (field, its type for Elasticsearch as ECS gives it, the stand-in OpenSearch gets)
ECS_TYPES = [
    ("message", "match_only_text", "text"),
    ("data_stream.type", "constant_keyword", "keyword"),
    ("data_stream.dataset", "constant_keyword", "keyword"),
    ("data_stream.namespace", "constant_keyword", "keyword"),
    ("service.name", "keyword", "keyword"),
    ("service.version", "keyword", "keyword"),
    ("service.node.name", "keyword", "keyword"),
    ("host.name", "keyword", "keyword"),
]


@pytest.mark.parametrize(("field", "ecs", "portable"), ECS_TYPES, ids=[f for f, _, _ in ECS_TYPES])
def test_ecs_types_for_elasticsearch_and_stand_ins_for_opensearch(
    field: str, ecs: str, portable: str
) -> None:
    """match_only_text and constant_keyword only where the server has them; nothing else moves."""
    native = _types_at(index_template(ecs_types=True)["template"]["mappings"])
    plain = _types_at(index_template()["template"]["mappings"])
    assert (native[field], plain[field]) == (ecs, portable)
    assert {k for k in native if native[k] != plain[k]} <= {f for f, e, p in ECS_TYPES if e != p}


@pytest.mark.parametrize(
    ("distribution", "version", "ecs_types"),
    [
        ("elasticsearch", "8.15.3", True),
        ("elasticsearch", "9.1.0", True),
        ("opensearch", "2.17.0", False),
    ],
)
def test_the_distribution_decides_the_types(
    distribution: str, version: str, ecs_types: bool
) -> None:
    assert Distribution(distribution, version).has_ecs_types is ecs_types


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("distribution", "version", "message_type"),
    [("elasticsearch", "8.15.3", "match_only_text"), ("opensearch", "2.17.0", "text")],
)
async def test_each_flavour_accepts_the_template_it_is_given(
    distribution: str, version: str, message_type: str
) -> None:
    """setup sends Elasticsearch the ECS types and OpenSearch (which refuses them, as the fake
    does: OPENSEARCH_REJECTS) their stand-ins; both accept it."""
    server = BulkServer(distribution=distribution, version=version)
    url = await server.start()
    try:
        await setup(url)
        mapping = server.templates["logs-cti.calls"]["template"]["mappings"]
        assert _types_at(mapping)["message"] == message_type
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_opensearch_refuses_the_ecs_types() -> None:
    """What the stand-ins are for: the fake, like OpenSearch, refuses match_only_text."""
    server = BulkServer(distribution="opensearch", version="2.17.0")
    url = await server.start()
    try:
        await install_custom_component(url)
        with pytest.raises(EsHttpError, match="match_only_text"):
            await install_template(url, ecs_types=True)
        assert server.templates == {}
    finally:
        await server.stop()


def test_the_lifecycle_deletes_after_the_retention() -> None:
    assert lifecycle_policy(30)["policy"]["phases"]["delete"]["min_age"] == "30d"


@pytest.mark.asyncio
async def test_setup_on_elasticsearch_installs_policy_template_and_dashboards() -> None:
    server = BulkServer()
    url = await server.start()
    try:
        lines: list[str] = []
        report = await setup(url, url, retention_days=90, progress=lines.append)
        assert report.distribution.name == "elasticsearch"
        assert server.policies["cti-calls"]["policy"]["phases"]["delete"]["min_age"] == "90d"
        template = server.templates["logs-cti.calls"]
        assert template["template"]["settings"]["index.lifecycle.name"] == "cti-calls"
        assert report.dashboards == len(server.imports[0]) > 0
        assert len(lines) == 5
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_setup_on_opensearch_skips_ilm() -> None:
    """OpenSearch has no ILM and rejects index.lifecycle.name: neither is sent."""
    server = BulkServer(distribution="opensearch", version="2.17.0")
    url = await server.start()
    try:
        report = await setup(url)
        assert report.distribution.name == "opensearch"
        assert report.lifecycle is None
        assert server.policies == {}
        assert "settings" not in server.templates["logs-cti.calls"]["template"]
        assert report.dashboards is None
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_bad_credentials_name_the_url_and_status() -> None:
    server = BulkServer(api_key="right")
    url = await server.start()
    try:
        with pytest.raises(EsAuthError) as caught:
            await install_template(url, headers={"Authorization": "ApiKey wrong"})
        assert caught.value.status == 401
        assert caught.value.url.endswith("/_index_template/logs-cti.calls")
        assert (await detect(url, headers={"Authorization": "ApiKey right"})).version == "8.15.3"
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_an_unreachable_server_is_a_connection_error() -> None:
    server = BulkServer()
    url = await server.start()
    await server.stop()
    with pytest.raises(EsConnectionError) as caught:
        await detect(url)
    assert url in str(caught.value)


@pytest.mark.asyncio
async def test_kibana_refusals_are_listed(tmp_path: Path) -> None:
    """Kibana answers 200 with success=false: each rejected object is named."""
    broken = tmp_path / "broken.ndjson"
    broken.write_text(
        '{"type":"dashboard","id":"d","attributes":{},'
        '"references":[{"type":"lens","id":"missing","name":"p1"}]}\n'
    )
    server = BulkServer()
    url = await server.start()
    try:
        assert await import_dashboards(url, DASHBOARDS) > 0
        with pytest.raises(DashboardImportError) as caught:
            await import_dashboards(url, broken)
        assert caught.value.problems == ('dashboard/d: {"type": "missing_references"}',)
    finally:
        await server.stop()
