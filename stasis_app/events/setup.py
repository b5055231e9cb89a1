"""``cti es setup``: the index template, the lifecycle policy and the Kibana dashboards.

The dashboards are one NDJSON file (:data:`DASHBOARDS`): the data view, the "CTI calls" and the
"CTI queues" dashboards and their panels, imported together.

The same calls work against Elasticsearch 8, 9 and OpenSearch 2 (plain REST, no client library;
see docs/decisions/0003). The one difference that matters is the lifecycle: ILM exists only on
Elasticsearch, and OpenSearch rejects a template naming ``index.lifecycle.name``, so the template
gets that setting only after ``GET /`` said the server is Elasticsearch.

The field types differ too. The template file gives the types ECS gives (``message`` as
``match_only_text``, ``data_stream.*`` as ``constant_keyword``); OpenSearch has neither and
refuses the whole template, so :func:`index_template` maps them to ``text`` and ``keyword``
(:data:`PORTABLE_TYPES`) unless asked for the ECS types, which only Elasticsearch gets. The
documents are the same either way.

Operators' own changes go in the component template ``cti-events@custom`` (:data:`CUSTOM_NAME`),
which the index template lists in ``composed_of``. Setup creates it empty only when it is absent
and never writes it again, so what an operator put there survives every ``cti es setup``. On
Elasticsearch 8.7 and later the template also names it in ``ignore_missing_component_templates``
(OpenSearch and older Elasticsearch reject that key), so deleting it does not break indexing.

The worker calls :func:`ensure_template` before it ships: an event shipped without the template
would create a plain index (OpenSearch) or a data stream with Elastic's generic ``logs`` mapping,
and later events could never get our mapping back without a reindex.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp

from stasis_app.errors import (
    DashboardImportError,
    EsAuthError,
    EsConnectionError,
    EsHttpError,
)
from stasis_app.redact import redact_url, without_credentials

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
DASHBOARDS: Final = Path(__file__).resolve().parents[2] / "dashboards" / "cti-calls.ndjson"
TEMPLATE_NAME: Final = "logs-cti.calls"
POLICY_NAME: Final = "cti-calls"
CUSTOM_NAME: Final = "cti-events@custom"
_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)
# The ECS types OpenSearch 2 lacks -> the nearest type it has (same queries, more disk).
PORTABLE_TYPES: Final = {"match_only_text": "text", "constant_keyword": "keyword"}


@dataclass(frozen=True, slots=True)
class Distribution:
    name: str  # "elasticsearch" or "opensearch"
    version: str

    @property
    def has_ilm(self) -> bool:
        return self.name == "elasticsearch"

    @property
    def has_ecs_types(self) -> bool:
        """``match_only_text`` and ``constant_keyword`` (Elasticsearch 7.14+, not OpenSearch)."""
        return self.name == "elasticsearch"

    @property
    def ignores_missing_components(self) -> bool:
        """``ignore_missing_component_templates``: Elasticsearch 8.7 and later, not OpenSearch."""
        if self.name != "elasticsearch":
            return False
        try:
            major, minor = (int(part) for part in self.version.split(".")[:2])
        except ValueError:
            return False
        return (major, minor) >= (8, 7)


@dataclass(frozen=True, slots=True)
class SetupReport:
    distribution: Distribution
    template: str
    lifecycle: str | None  # the ILM policy installed, if any
    dashboards: int | None  # saved objects imported, None when Kibana was not asked


def index_template(
    *, lifecycle: str | None = None, ignore_missing_custom: bool = False, ecs_types: bool = False
) -> dict[str, Any]:
    """The index template body; with ``lifecycle``, its backing indices use that ILM policy;
    with ``ignore_missing_custom``, a deleted ``cti-events@custom`` does not stop indexing; with
    ``ecs_types``, the ECS field types only Elasticsearch has, else :data:`PORTABLE_TYPES`."""
    body: dict[str, Any] = json.loads((TEMPLATES / "index-template.json").read_text())
    if not ecs_types:
        _portable(body["template"]["mappings"])
    if lifecycle is not None:
        body["template"].setdefault("settings", {})["index.lifecycle.name"] = lifecycle
    if ignore_missing_custom:
        body["ignore_missing_component_templates"] = [CUSTOM_NAME]
    return body


def _portable(mapping: dict[str, Any]) -> None:
    """Replace, in place, every type OpenSearch lacks by its :data:`PORTABLE_TYPES` stand-in."""
    for spec in mapping.get("properties", {}).values():
        if spec.get("type") in PORTABLE_TYPES:
            spec["type"] = PORTABLE_TYPES[spec["type"]]
        _portable(spec)


def lifecycle_policy(retention_days: float = 90) -> dict[str, Any]:
    """The ILM policy body: weekly rollover, delete ``retention_days`` after rollover."""
    body: dict[str, Any] = json.loads((TEMPLATES / "lifecycle-policy.json").read_text())
    policy = copy.deepcopy(body)
    policy["policy"]["phases"]["delete"]["min_age"] = f"{int(retention_days)}d"
    return policy


async def _call(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    data: Any = None,
) -> Any:
    """One request; the answer's JSON, or an EventsError naming the URL and the status."""
    url, headers = without_credentials(url, headers)
    try:
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT, headers=headers) as session,
            session.request(method, url, json=json_body, data=data) as response,
        ):
            text = await response.text()
            if response.status in (401, 403):
                raise EsAuthError(method, url, response.status, text)
            if not 200 <= response.status < 300:
                raise EsHttpError(method, url, response.status, text)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise EsConnectionError(url, f"{type(exc).__name__}: {exc}") from exc
    try:
        return json.loads(text) if text else {}
    except ValueError:
        raise EsHttpError(method, url, response.status, f"not JSON: {text[:200]}") from None


async def _exists(url: str, *, headers: Mapping[str, str] | None) -> bool:
    """``GET url``: True on 2xx, False on 404; any other answer raises as :func:`_call` does."""
    try:
        await _call("GET", url, headers=headers)
    except EsHttpError as exc:
        if exc.status == 404 and not isinstance(exc, EsAuthError):
            return False
        raise
    return True


async def detect(es_url: str, *, headers: Mapping[str, str] | None = None) -> Distribution:
    """Ask ``GET /`` which server this is: OpenSearch says ``version.distribution``."""
    answer = await _call("GET", es_url.rstrip("/") + "/", headers=headers)
    version = answer.get("version") if isinstance(answer, dict) else None
    if not isinstance(version, dict) or "number" not in version:
        raise EsHttpError("GET", es_url, 200, f"no version.number in {str(answer)[:200]}")
    name = "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
    return Distribution(name, str(version["number"]))


async def install_lifecycle(
    es_url: str, *, retention_days: float = 90, headers: Mapping[str, str] | None = None
) -> str:
    """PUT the ILM policy (Elasticsearch only). Returns its name."""
    url = f"{es_url.rstrip('/')}/_ilm/policy/{POLICY_NAME}"
    await _call("PUT", url, headers=headers, json_body=lifecycle_policy(retention_days))
    return POLICY_NAME


async def install_custom_component(
    es_url: str, *, headers: Mapping[str, str] | None = None
) -> bool:
    """Create ``cti-events@custom`` empty if it is absent; never touch an existing one.
    Returns True when it was created."""
    url = f"{es_url.rstrip('/')}/_component_template/{CUSTOM_NAME}"
    if await _exists(url, headers=headers):
        return False
    body = {"template": {}, "_meta": {"description": "operators' changes to cti events"}}
    await _call("PUT", url, headers=headers, json_body=body)
    return True


async def install_template(
    es_url: str,
    *,
    lifecycle: str | None = None,
    ignore_missing_custom: bool = False,
    ecs_types: bool = False,
    headers: Mapping[str, str] | None = None,
) -> str:
    """PUT the composable index template for ``logs-cti.calls-*``. Returns its name."""
    url = f"{es_url.rstrip('/')}/_index_template/{TEMPLATE_NAME}"
    body = index_template(
        lifecycle=lifecycle, ignore_missing_custom=ignore_missing_custom, ecs_types=ecs_types
    )
    await _call("PUT", url, headers=headers, json_body=body)
    return TEMPLATE_NAME


async def ensure_template(es_url: str, *, headers: Mapping[str, str] | None = None) -> bool:
    """Install the index template (with its custom component, and on Elasticsearch the lifecycle
    policy unless one exists) when it is missing; leave an existing one alone. Returns True when
    it installed it. Raises :class:`EsAuthError` when the credentials may not, and
    :class:`EsConnectionError` / :class:`EsHttpError` as :func:`setup` does."""
    base = es_url.rstrip("/")
    if await _exists(f"{base}/_index_template/{TEMPLATE_NAME}", headers=headers):
        return False
    distribution = await detect(es_url, headers=headers)
    await install_custom_component(es_url, headers=headers)
    lifecycle = None
    if distribution.has_ilm:
        lifecycle = POLICY_NAME
        if not await _exists(f"{base}/_ilm/policy/{POLICY_NAME}", headers=headers):
            await install_lifecycle(es_url, headers=headers)
    await install_template(
        es_url,
        lifecycle=lifecycle,
        ignore_missing_custom=distribution.ignores_missing_components,
        ecs_types=distribution.has_ecs_types,
        headers=headers,
    )
    return True


async def import_dashboards(
    kibana_url: str,
    ndjson_path: Path = DASHBOARDS,
    *,
    headers: Mapping[str, str] | None = None,
    space: str | None = None,
) -> int:
    """Import saved objects through Kibana's import API (overwriting ours). Returns the count."""
    prefix = f"/s/{space}" if space else ""
    url = f"{kibana_url.rstrip('/')}{prefix}/api/saved_objects/_import?overwrite=true"
    content = await asyncio.to_thread(Path(ndjson_path).read_bytes)
    form = aiohttp.FormData()
    form.add_field(
        "file",
        content,
        filename=Path(ndjson_path).name,
        content_type="application/ndjson",
    )
    answer = await _call("POST", url, headers={**(headers or {}), "kbn-xsrf": "true"}, data=form)
    if not isinstance(answer, dict):
        raise EsHttpError("POST", url, 200, f"unexpected answer {str(answer)[:200]}")
    if not answer.get("success", False):
        problems = tuple(
            f"{e.get('type')}/{e.get('id')}: {json.dumps(e.get('error'))}"
            for e in answer.get("errors") or []
            if isinstance(e, dict)
        )
        raise DashboardImportError(url, problems or (json.dumps(answer)[:300],))
    return int(answer.get("successCount", 0))


async def setup(
    es_url: str,
    kibana_url: str | None = None,
    *,
    retention_days: float = 90,
    headers: Mapping[str, str] | None = None,
    kibana_headers: Mapping[str, str] | None = None,
    dashboards: Path = DASHBOARDS,
    progress: Callable[[str], None] = lambda _line: None,
) -> SetupReport:
    """Everything ``cti es setup`` does, in order; safe to run again (every step overwrites)."""
    distribution = await detect(es_url, headers=headers)
    progress(f"{redact_url(es_url)}: {distribution.name} {distribution.version}")
    lifecycle = None
    if distribution.has_ilm and retention_days > 0:
        lifecycle = await install_lifecycle(es_url, retention_days=retention_days, headers=headers)
        progress(f"lifecycle policy {lifecycle}: delete after {int(retention_days)} days")
    if await install_custom_component(es_url, headers=headers):
        progress(f"component template {CUSTOM_NAME}: created empty, for your own changes")
    else:
        progress(f"component template {CUSTOM_NAME}: exists, left as it is")
    template = await install_template(
        es_url,
        lifecycle=lifecycle,
        ignore_missing_custom=distribution.ignores_missing_components,
        ecs_types=distribution.has_ecs_types,
        headers=headers,
    )
    progress(f"index template {template} (priority 500) for logs-cti.calls-*")
    imported = None
    if kibana_url:
        imported = await import_dashboards(
            kibana_url,
            dashboards,
            headers=kibana_headers if kibana_headers is not None else headers,
        )
        shown = redact_url(kibana_url)
        progress(f"{shown}: imported {imported} saved objects (CTI calls, CTI queues)")
    return SetupReport(distribution, template, lifecycle, imported)
