"""`cti es setup` run as a user runs it (a separate process, settings from the environment)
against a server speaking Elasticsearch's and OpenSearch's setup APIs and Kibana's import API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from stasis_app.events.setup import DASHBOARDS
from tests.fakes.bulk_server import BulkServer, ServerThread
from tests.integration.cti import run_cti


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    return env | extra


@pytest_asyncio.fixture
async def elasticsearch() -> AsyncIterator[BulkServer]:
    server = BulkServer(api_key="s3cret")
    thread = ServerThread(server)
    await thread.start()
    yield server
    await thread.stop()


@pytest_asyncio.fixture
async def opensearch() -> AsyncIterator[BulkServer]:
    server = BulkServer(distribution="opensearch", version="2.17.1")
    thread = ServerThread(server)
    await thread.start()
    yield server
    await thread.stop()


@pytest.mark.asyncio
async def test_on_elasticsearch_it_installs_policy_template_and_dashboards(
    elasticsearch: BulkServer,
) -> None:
    env = _env(
        CTI_ELASTICSEARCH_URL=elasticsearch.url,
        CTI_KIBANA_URL=elasticsearch.url,
        CTI_ELASTICSEARCH_API_KEY="s3cret",
        CTI_RETENTION_DAYS="30",
    )
    done = run_cti("es", "setup", env=env)
    assert done.returncode == 0, done.stderr
    assert "done: elasticsearch 8.15.3" in done.stdout
    assert elasticsearch.policies["cti-calls"]["policy"]["phases"]["delete"]["min_age"] == "30d"
    template = elasticsearch.templates["logs-cti.calls"]
    assert template["template"]["settings"] == {"index.lifecycle.name": "cti-calls"}
    [imported] = elasticsearch.imports
    assert len(imported) == len(DASHBOARDS.read_text().splitlines())


@pytest.mark.asyncio
async def test_on_opensearch_there_is_no_lifecycle_policy(opensearch: BulkServer) -> None:
    done = run_cti("es", "setup", "--es-url", opensearch.url, env=_env())
    assert done.returncode == 0, done.stderr
    assert "done: opensearch 2.17.1" in done.stdout
    assert opensearch.policies == {}
    assert "settings" not in opensearch.templates["logs-cti.calls"]["template"]
    assert opensearch.imports == []
    assert "dashboards not imported" in done.stderr


@pytest.mark.asyncio
async def test_a_wrong_api_key_fails_naming_the_url_and_installs_nothing(
    elasticsearch: BulkServer,
) -> None:
    env = _env(CTI_ELASTICSEARCH_URL=elasticsearch.url, CTI_ELASTICSEARCH_API_KEY="wrong")
    done = run_cti("es", "setup", env=env)
    assert done.returncode != 0
    assert elasticsearch.url in done.stderr
    assert "401" in done.stderr
    assert (elasticsearch.templates, elasticsearch.policies) == ({}, {})
