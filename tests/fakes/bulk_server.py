"""A fault-injecting stand-in for Elasticsearch/OpenSearch (and Kibana's import API).

A real HTTP server (aiohttp.web on 127.0.0.1) speaking the real ``_bulk`` protocol: NDJSON
action/source pairs, one ``items`` entry per action in request order, ``create`` that answers 409
``version_conflict_engine_exception`` when the ``_id`` already exists. Faults are scripted: each
``_bulk`` request consumes the next step of :attr:`BulkServer.plan` (empty plan: behave), and
:meth:`BulkServer.down` / :meth:`BulkServer.up` stop listening (connections are refused) and
start again on the same port.

Templates behave as the servers' do: ``GET`` answers 404 ``resource_not_found_exception`` for a
missing index template, component template or ILM policy; an index template naming a component
that does not exist is refused (unless Elasticsearch >= 8.7 is told to ignore it with
``ignore_missing_component_templates``, a key OpenSearch and older Elasticsearch reject); with
``read_only`` every PUT is a 403 ``security_exception`` (an API key without
``manage_index_templates``). A create into an index no template matches lands in
``plain_indices``: what a test asserts never happens.

What a test asserts on: ``docs`` (by _id), ``created`` (successful creates per _id: exactly-once
means every value is 1) and ``attempts`` (create actions received per _id).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
NDJSON_TYPES = ("application/x-ndjson", "application/json")
OPENSEARCH_REJECTS = frozenset({"constant_keyword", "match_only_text", "wildcard", "flattened"})


@dataclass(frozen=True)
class Status:
    """Answer the whole bulk request with ``code`` and process nothing."""

    code: int
    body: str = '{"error":"injected"}'


@dataclass(frozen=True)
class ItemStatus:
    """Process the request, but make every ``every``-th item (from the first) fail with ``code``."""

    code: int
    every: int = 2


@dataclass(frozen=True)
class AcceptThenFail:
    """Index every item, then answer ``code``: the client cannot know it got through."""

    code: int = 502


Step = Status | ItemStatus | AcceptThenFail


def _error_for(code: int) -> dict[str, str]:
    kind = {
        429: "es_rejected_execution_exception",
        500: "internal_server_error",
        503: "unavailable_shards_exception",
        403: "security_exception",
    }.get(code, "illegal_argument_exception")
    return {"type": kind, "reason": f"injected {code}"}


@dataclass
class BulkServer:
    """Start with ``await server.start()``; ``url`` is then http://127.0.0.1:<port>."""

    distribution: str = "elasticsearch"  # or "opensearch"
    version: str = "8.15.3"
    api_key: str | None = None  # when set, requests need "Authorization: ApiKey <api_key>"
    # A persistent content rule: returns a rejection reason for a document, or None.
    reject: Callable[[dict[str, Any]], str | None] | None = None
    plan: deque[Step] = field(default_factory=deque)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    indices: dict[str, str] = field(default_factory=dict)  # _id -> _index
    created: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    bulk_requests: int = 0
    read_only: bool = False  # PUTs of templates and policies answer 403
    templates: dict[str, Any] = field(default_factory=dict)
    components: dict[str, Any] = field(default_factory=dict)
    policies: dict[str, Any] = field(default_factory=dict)
    plain_indices: set[str] = field(default_factory=set)
    imports: list[list[dict[str, Any]]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_post("/_bulk", self._bulk)
        app.router.add_put("/_index_template/{name}", self._template)
        app.router.add_get("/_index_template/{name}", self._get_template)
        app.router.add_put("/_component_template/{name}", self._component)
        app.router.add_get("/_component_template/{name}", self._get_component)
        app.router.add_put("/_ilm/policy/{name}", self._policy)
        app.router.add_get("/_ilm/policy/{name}", self._get_policy)
        app.router.add_post("/api/saved_objects/_import", self._import)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = int(self._runner.addresses[0][1])
        return self.url

    async def down(self) -> None:
        """Stop listening and drop open connections: clients get 'connection refused'."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def up(self) -> None:
        """Listen again on the same port."""
        await self.start()

    stop = down

    # ---------------------------------------------------------------------------- handlers
    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self.api_key is None or request.headers.get("Authorization") == f"ApiKey {self.api_key}":
            return None
        body = {"error": {"type": "security_exception", "reason": "missing authentication"}}
        return web.json_response({**body, "status": 401}, status=401)

    async def _root(self, request: web.Request) -> web.Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        if self.distribution == "opensearch":
            version = {"distribution": "opensearch", "number": self.version}
            return web.json_response({"version": version, "tagline": "The OpenSearch Project"})
        return web.json_response(
            {
                "version": {"number": self.version, "build_flavor": "default"},
                "tagline": "You Know, for Search",
            },
            headers={"X-Elastic-Product": "Elasticsearch"},
        )

    async def _bulk(self, request: web.Request) -> web.Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        if request.content_type not in NDJSON_TYPES:
            return web.json_response(
                {"error": f"bad media type {request.content_type}"}, status=406
            )
        text = await request.text()
        if not text.endswith("\n"):
            reason = "The bulk request must be terminated by a newline [\\n]"
            return web.json_response(
                {"error": {"type": "illegal_argument_exception", "reason": reason}}, status=400
            )
        self.bulk_requests += 1
        step = self.plan.popleft() if self.plan else None
        if isinstance(step, Status):
            return web.Response(status=step.code, text=step.body, content_type="application/json")
        lines = text.splitlines()
        items = []
        for position in range(0, len(lines), 2):
            action = json.loads(lines[position])
            source = json.loads(lines[position + 1])
            forced = (
                step.code
                if isinstance(step, ItemStatus) and (position // 2) % step.every == 0
                else None
            )
            items.append(self._create(action["create"], source, forced))
        if isinstance(step, AcceptThenFail):
            return web.Response(status=step.code, text="bad gateway")
        errors = any(next(iter(i.values()))["status"] >= 300 for i in items)
        return web.json_response({"took": 1, "errors": errors, "items": items})

    def _create(
        self, action: dict[str, Any], source: dict[str, Any], forced: int | None
    ) -> dict[str, Any]:
        index, doc_id = action["_index"], action["_id"]
        self.attempts[doc_id] += 1
        head = {"_index": index, "_id": doc_id}
        if forced is not None:
            return {"create": {**head, "status": forced, "error": _error_for(forced)}}
        if doc_id in self.docs:
            error = {
                "type": "version_conflict_engine_exception",
                "reason": f"[{doc_id}]: version conflict, document already exists",
            }
            return {"create": {**head, "status": 409, "error": error}}
        rejection = self.reject(source) if self.reject is not None else None
        if rejection is not None:
            error = {"type": "mapper_parsing_exception", "reason": rejection}
            return {"create": {**head, "status": 400, "error": error}}
        if "@timestamp" not in source:  # what a data stream says
            error = {"type": "illegal_argument_exception", "reason": "data stream timestamp"}
            return {"create": {**head, "status": 400, "error": error}}
        if not any(_matches(t, index) for t in self.templates.values()):
            self.plain_indices.add(index)
        self.docs[doc_id] = source
        self.indices[doc_id] = index
        self.created[doc_id] += 1
        return {"create": {**head, "status": 201, "result": "created", "_version": 1}}

    def _refused(self, request: web.Request) -> web.Response | None:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        if not self.read_only:
            return None
        reason = f"action [{request.path}] is unauthorized for API key"
        body = {"error": {"type": "security_exception", "reason": reason}, "status": 403}
        return web.json_response(body, status=403)

    @property
    def _ignores_missing(self) -> bool:
        if self.distribution == "opensearch":
            return False
        major, minor = (int(p) for p in self.version.split(".")[:2])
        return (major, minor) >= (8, 7)

    async def _get_template(self, request: web.Request) -> web.Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        name = request.match_info["name"]
        if name not in self.templates:
            return _not_found(f"index template matching [{name}] not found")
        found = [{"name": name, "index_template": self.templates[name]}]
        return web.json_response({"index_templates": found})

    async def _component(self, request: web.Request) -> web.Response:
        if (denied := self._refused(request)) is not None:
            return denied
        self.components[request.match_info["name"]] = await request.json()
        return web.json_response({"acknowledged": True})

    async def _get_component(self, request: web.Request) -> web.Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        name = request.match_info["name"]
        if name not in self.components:
            return _not_found(f"component template matching [{name}] not found")
        found = [{"name": name, "component_template": self.components[name]}]
        return web.json_response({"component_templates": found})

    async def _get_policy(self, request: web.Request) -> web.Response:
        if (denied := self._unauthorized(request)) is not None:
            return denied
        name = request.match_info["name"]
        if self.distribution == "opensearch":
            return _bad(f"no handler found for uri [{request.path}] and method [GET]")
        if name not in self.policies:
            return _not_found(f"Lifecycle policy not found: {name}")
        return web.json_response({name: {"version": 1, "policy": self.policies[name]["policy"]}})

    async def _template(self, request: web.Request) -> web.Response:
        if (denied := self._refused(request)) is not None:
            return denied
        body = await request.json()
        ignored = body.get("ignore_missing_component_templates")
        if ignored is not None and not self._ignores_missing:
            return _bad("[index_template] unknown field [ignore_missing_component_templates]")
        missing = [
            c
            for c in body.get("composed_of", [])
            if c not in self.components and c not in (ignored or [])
        ]
        if missing:
            name = request.match_info["name"]
            return _bad(
                f"index template [{name}] specifies component templates {missing} that do not exist"
            )
        if self.distribution == "opensearch":
            settings = body.get("template", {}).get("settings", {})
            if "index.lifecycle.name" in settings:
                return _bad("unknown setting [index.lifecycle.name]")
            used = _mapping_types(body.get("template", {}).get("mappings", {}))
            if used & OPENSEARCH_REJECTS:
                return _bad(f"No handler for type {sorted(used & OPENSEARCH_REJECTS)}")
        self.templates[request.match_info["name"]] = body
        return web.json_response({"acknowledged": True})

    async def _policy(self, request: web.Request) -> web.Response:
        if (denied := self._refused(request)) is not None:
            return denied
        if self.distribution == "opensearch":
            return _bad(f"no handler found for uri [{request.path}] and method [PUT]")
        self.policies[request.match_info["name"]] = await request.json()
        return web.json_response({"acknowledged": True})

    async def _import(self, request: web.Request) -> web.Response:
        if request.headers.get("kbn-xsrf") is None:
            return _bad("Request must contain a kbn-xsrf header.")
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return _bad("[request body.file]: expected a file")
        objects = [json.loads(line) for line in upload.file.read().decode().splitlines() if line]
        self.imports.append(objects)
        known = {(o["type"], o["id"]) for o in objects}
        errors = [
            {"id": o["id"], "type": o["type"], "error": {"type": "missing_references"}}
            for o in objects
            for ref in o.get("references", [])
            if (ref["type"], ref["id"]) not in known
        ]
        return web.json_response(
            {"success": not errors, "successCount": len(objects) - len(errors), "errors": errors}
        )


def _bad(reason: str) -> web.Response:
    error = {"type": "illegal_argument_exception", "reason": reason}
    return web.json_response({"error": error, "status": 400}, status=400)


def _not_found(reason: str) -> web.Response:
    error = {"type": "resource_not_found_exception", "reason": reason}
    return web.json_response({"error": error, "status": 404}, status=404)


def _matches(template: dict[str, Any], index: str) -> bool:
    return any(fnmatch.fnmatchcase(index, p) for p in template.get("index_patterns", []))


def _mapping_types(mapping: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for spec in mapping.get("properties", {}).values():
        if "type" in spec:
            found.add(spec["type"])
        found |= _mapping_types(spec)
    return found


class ServerThread:
    """Runs a :class:`BulkServer` on its own event loop in a thread.

    Fault tests measure the *sink's* event loop: the server's own work (parsing thousands of
    documents) must not run on that loop, or the measurement would blame the sink for it.
    """

    def __init__(self, server: BulkServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="bulk-server", daemon=True
        )

    async def start(self) -> str:
        self._thread.start()
        return await self.call(self.server.start)

    async def call(self, action: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``action()`` on the server's loop and wait for it without blocking ours."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(action(), self._loop))

    async def down(self) -> None:
        await self.call(self.server.down)

    async def up(self) -> None:
        await self.call(self.server.up)

    async def stop(self) -> None:
        await self.call(self.server.down)
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 5)
        self._loop.close()
