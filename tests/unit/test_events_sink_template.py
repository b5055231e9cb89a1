"""The sink installs the index template when it is missing, or refuses to ship without it.

Against the fake server in both flavours: an event shipped before the template exists would
create a plain index (OpenSearch) or a data stream with the wrong mapping, for good.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from stasis_app import __version__
from stasis_app.events.ecs import DEFAULT_ORIGIN, Origin
from stasis_app.events.elastic import Backoff, ElasticSink
from stasis_app.events.record import CallEvent
from stasis_app.events.setup import CUSTOM_NAME, TEMPLATE_NAME, setup
from stasis_app.events.store import CallStore
from tests.fakes.bulk_server import BulkServer
from tests.waiting import async_wait_until

FAST = Backoff(initial=0.01, maximum=0.05)
FLAVOURS = [
    pytest.param(("elasticsearch", "8.15.3"), id="elasticsearch"),
    pytest.param(("opensearch", "2.17.0"), id="opensearch"),
]


@contextlib.asynccontextmanager
async def sinking(
    tmp_path: Path, server: BulkServer, url: str | None = None, origin: Origin = DEFAULT_ORIGIN
) -> AsyncIterator[tuple[CallStore, ElasticSink]]:
    store = CallStore(tmp_path / "calls.sqlite3", keep_unshipped=True, origin=origin)
    sink = ElasticSink(url or server.url, store, idle_poll=0.05, backoff=FAST)
    task = asyncio.create_task(sink.run())
    try:
        yield store, sink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(store.close)


def _event(store: CallStore) -> str:
    event = CallEvent("c-1", "call-started", {}, caller="1000", dialed="500", at=1_700_000_000)
    store.emit(event)
    return event.event_id


async def _state(sink: ElasticSink, wanted: str) -> None:
    async def reached() -> bool:
        return sink.status.state == wanted

    await async_wait_until(reached, timeout=10, interval=0.01, what=f"sink {wanted}")


async def _shipped(server: BulkServer, event_id: str) -> None:
    async def there() -> bool:
        return event_id in server.docs

    await async_wait_until(there, timeout=10, interval=0.01, what="event shipped")


@pytest.mark.asyncio
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_missing_template_is_installed_before_the_first_event(
    tmp_path: Path, flavour: tuple[str, str]
) -> None:
    """Template, empty custom component and (Elasticsearch) the policy, then the events."""
    server = BulkServer(distribution=flavour[0], version=flavour[1])
    await server.start()
    try:
        async with sinking(tmp_path, server) as (store, _sink):
            await _shipped(server, _event(store))
        assert server.plain_indices == set()
        assert server.components[CUSTOM_NAME]["template"] == {}
        template = server.templates[TEMPLATE_NAME]
        assert template["composed_of"] == [CUSTOM_NAME]
        if flavour[0] == "elasticsearch":
            assert template["ignore_missing_component_templates"] == [CUSTOM_NAME]
            assert template["template"]["settings"]["index.lifecycle.name"] == "cti-calls"
            assert "cti-calls" in server.policies
        else:
            assert "ignore_missing_component_templates" not in template
            assert "settings" not in template["template"]
    finally:
        await server.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_shipped_document_carries_the_ecs_context(
    tmp_path: Path, flavour: tuple[str, str]
) -> None:
    """message, service.*, host.name and data_stream.* naming the data stream it landed in."""
    server = BulkServer(distribution=flavour[0], version=flavour[1])
    await server.start()
    origin = Origin(node="pbx-1")
    try:
        async with sinking(tmp_path, server, origin=origin) as (store, _sink):
            event_id = _event(store)
            await _shipped(server, event_id)
        doc = server.docs[event_id]
        stream = doc["data_stream"]
        assert (
            f"{stream['type']}-{stream['dataset']}-{stream['namespace']}"
            == (server.indices[event_id])
        )
        assert doc["service"] == {"name": "cti", "version": __version__, "node": {"name": "pbx-1"}}
        assert doc["host"] == {"name": "pbx-1"}
        assert doc["message"] == "call c-1 from 1000 to 500 started"
    finally:
        await server.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_without_the_right_to_install_it_nothing_is_shipped(
    tmp_path: Path, flavour: tuple[str, str]
) -> None:
    """A 403 on the template: stopped-no-template, an ERROR naming the redacted URL and the
    template, no bulk request, the event kept in the outbox."""
    server = BulkServer(distribution=flavour[0], version=flavour[1], read_only=True)
    await server.start()
    secret_url = server.url.replace("http://", "http://cti:s3cret@")
    try:
        with structlog.testing.capture_logs() as logs:
            async with sinking(tmp_path, server, secret_url) as (store, sink):
                _event(store)
                await _state(sink, "stopped-no-template")
                await asyncio.to_thread(store.flush)
                pending, _dead = await asyncio.to_thread(store.outbox_counts)
        assert pending == 1
        assert server.bulk_requests == 0
        assert server.docs == {}
        error = sink.status.last_error or ""
        assert TEMPLATE_NAME in error
        assert server.url in error
        assert "s3cret" not in error
        stopped = [e for e in logs if e["event"] == "es.sink_stopped_no_template"]
        assert stopped[0]["log_level"] == "error"
        assert stopped[0]["template"] == TEMPLATE_NAME
        assert stopped[0]["url"] == server.url
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_an_existing_template_is_left_alone(tmp_path: Path) -> None:
    """Even without the right to write templates, a present template means: ship."""
    server = BulkServer(read_only=True)
    server.templates[TEMPLATE_NAME] = mine = {"index_patterns": ["logs-cti.calls-*"], "x": 1}
    await server.start()
    try:
        async with sinking(tmp_path, server) as (store, _sink):
            await _shipped(server, _event(store))
        assert server.templates[TEMPLATE_NAME] is mine
        assert server.components == {}
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_an_unreachable_server_is_retried_before_the_template_is_installed(
    tmp_path: Path,
) -> None:
    server = BulkServer()
    await server.start()
    await server.down()
    try:
        async with sinking(tmp_path, server) as (store, sink):
            event_id = _event(store)
            await _state(sink, "backing-off")
            assert "cannot reach" in (sink.status.last_error or "")
            await server.up()
            await _shipped(server, event_id)
        assert TEMPLATE_NAME in server.templates
        assert server.plain_indices == set()
    finally:
        await server.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_setup_twice_keeps_the_custom_component(flavour: tuple[str, str]) -> None:
    """What an operator put in cti-events@custom survives `cti es setup`."""
    server = BulkServer(distribution=flavour[0], version=flavour[1])
    url = await server.start()
    try:
        await setup(url)
        assert server.components[CUSTOM_NAME]["template"] == {}
        custom: dict[str, Any] = {"template": {"settings": {"index.number_of_replicas": 2}}}
        server.components[CUSTOM_NAME] = custom
        lines: list[str] = []
        await setup(url, progress=lines.append)
        assert server.components[CUSTOM_NAME] == custom
        assert any("exists, left as it is" in line for line in lines)
        assert server.templates[TEMPLATE_NAME]["composed_of"] == [CUSTOM_NAME]
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_elasticsearch_before_8_7_gets_no_ignore_missing_key() -> None:
    """ignore_missing_component_templates is an unknown field before 8.7: not sent."""
    server = BulkServer(version="8.5.3")
    url = await server.start()
    try:
        await setup(url)
        assert "ignore_missing_component_templates" not in server.templates[TEMPLATE_NAME]
    finally:
        await server.stop()
