"""Ship call events from the store's outbox to Elasticsearch or OpenSearch with plain ``_bulk``.

Why ``_bulk`` by hand and not the official client: the client (9.x) refuses OpenSearch and
Elasticsearch 8 (docs/decisions/0003). The plain API with ``application/x-ndjson``,
``create`` and a deterministic ``_id`` is accepted by Elasticsearch 8, 9 and OpenSearch 2.

Delivery rules (one bulk request at a time, oldest pending events first):

==========================================  =================================================
answer                                       what happens
==========================================  =================================================
connection refused/reset, timeout            retry the batch after a backoff
429, 5xx, other request-level errors         retry the batch after a backoff
401 / 403 (request or item)                  stop the sink, ERROR log, status stopped-auth
413 (body too large)                         halve the batch size, retry
item 2xx, item 409 (the _id already exists)  delivered (409: an earlier attempt got through)
item 429 / 5xx / 408                         stays pending, retried after a backoff
item other 4xx (mapper_parsing_exception)    dead-lettered with its reason, never resent
==========================================  =================================================

Before the first request the sink makes sure the index template exists
(:func:`~stasis_app.events.setup.ensure_template`) and installs it when it is missing: an event
shipped without it would create an index with the wrong mapping for good. Unreachable or 5xx:
retried after a backoff like a batch. Refused (401/403, or any other answer): the sink stops in
state ``stopped-no-template`` with an ERROR log naming the URL and the template; nothing is sent.

Backoff is capped exponential with full jitter, reset after a request that delivered everything.
The store is the outbox, so a worker restart, an outage or a cancelled request loses nothing:
the ``_id`` is the event id, which turns every resend into a 409. SQLite only runs in worker
threads (``asyncio.to_thread``), so the sink never stalls the loop that reads the ARI websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import aiohttp
import structlog

from stasis_app.errors import EsAuthError, EsConnectionError, EsHttpError, EsTemplateMissing
from stasis_app.events.setup import TEMPLATE_NAME, ensure_template
from stasis_app.events.store import CallStore
from stasis_app.redact import without_credentials

log = structlog.get_logger("cti.events.elastic")

# filter_path trims the response to what we read: both Elasticsearch and OpenSearch support it.
_BULK_PATH: Final = (
    "/_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason"
)
_RETRYABLE_ITEM: Final = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with full jitter (delay drawn from [0, min(cap, base*2^n)])."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.maximum, self.initial * self.factor ** min(attempt, 32))
        return rng.uniform(0.0, ceiling)


@dataclass(frozen=True, slots=True)
class SinkStatus:
    """For /health. ``state``: starting, running, backing-off, stopped-auth,
    stopped-no-template or stopped."""

    state: str
    last_error: str | None
    shipped: int
    pending: int
    dead_letters: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Retry(Exception):
    """The batch (or part of it) must be sent again after a backoff."""


@dataclass(slots=True)
class _Batch:
    ids: list[str]
    body: bytes
    pending: int
    dead: int


@dataclass(slots=True)
class _Outcome:
    delivered: list[str] = field(default_factory=list)
    dead: list[tuple[str, str]] = field(default_factory=list)
    retry: str | None = None  # why some items must be resent
    auth: str | None = None  # an item was refused for lack of privilege


class ElasticSink:
    """Runs as one asyncio task (``await sink.run()``) next to the worker."""

    def __init__(
        self,
        url: str,
        store: CallStore,
        *,
        headers: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
        batch_size: int = 500,
        idle_poll: float = 5.0,
        request_timeout: float = 30.0,
        rng: random.Random | None = None,
        install_template: bool = True,
    ) -> None:
        self.url, self._headers = without_credentials(url, headers)
        self.store = store
        # Where the store's documents say they are written (data_stream.*): one definition.
        self.index = store.origin.stream.name
        self._backoff = backoff or Backoff()
        self._batch_size = batch_size
        self._idle_poll = idle_poll
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._install_template = install_template
        self._state = "starting"
        self._last_error: str | None = None
        self._shipped = 0
        self._pending = 0
        self._dead = 0

    @property
    def status(self) -> SinkStatus:
        return SinkStatus(self._state, self._last_error, self._shipped, self._pending, self._dead)

    async def run(self) -> None:
        """Ship until cancelled. Returns (after an ERROR log) if the credentials are refused."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notify() -> None:  # on the store's writer thread
            # RuntimeError: the loop has closed, nothing is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

        self.store.subscribe(notify)
        headers = {**self._headers, "Content-Type": "application/x-ndjson"}
        try:
            if self._install_template:
                await self._ensure_template()
            async with aiohttp.ClientSession(timeout=self._timeout, headers=headers) as session:
                await self._ship_forever(session, wake)
        except EsTemplateMissing as exc:
            self._state = "stopped-no-template"
            self._last_error = str(exc)
            log.error(  # noqa: TRY400 - an expected answer, a traceback would only add noise
                "es.sink_stopped_no_template",
                url=exc.url,
                template=exc.template,
                reason=exc.reason,
                hint="run `cti es setup` (or allow manage_index_templates) and restart; "
                "events stay queued in the call store",
            )
        except EsAuthError as exc:
            self._state = "stopped-auth"
            self._last_error = str(exc)
            log.error(  # noqa: TRY400 - an expected answer, a traceback would only add noise
                "es.sink_stopped_auth",
                url=exc.url,
                status=exc.status,
                body=exc.body[:300],
                hint="fix CTI_ELASTICSEARCH_API_KEY or _USER/_PASSWORD and restart; "
                "events stay queued in the call store",
            )
        except Exception as exc:
            self._last_error = f"{type(exc).__name__}: {exc}"
            log.exception("es.sink_crashed", url=self.url)
            raise
        finally:
            self.store.unsubscribe(notify)
            if self._state not in ("stopped-auth", "stopped-no-template"):
                self._state = "stopped"

    async def _ensure_template(self) -> None:
        """Install the index template if it is missing; retry while the server is unreachable
        or failing (5xx, 429), raise :class:`EsTemplateMissing` when it refuses."""
        attempt = 0
        while True:
            try:
                installed = await ensure_template(self.url, headers=self._headers)
            except EsHttpError as exc:
                if isinstance(exc, EsAuthError) and exc.status == 401:
                    raise  # the credentials themselves are wrong: stopped-auth, as for _bulk
                if not isinstance(exc, EsAuthError) and (exc.status >= 500 or exc.status == 429):
                    problem = str(exc)
                else:  # 403: allowed to write, not to manage templates; other 4xx: refused
                    raise EsTemplateMissing(self.url, TEMPLATE_NAME, str(exc)) from exc
            except EsConnectionError as exc:
                problem = str(exc)
            else:
                if installed:
                    log.info("es.template_installed", url=self.url, template=TEMPLATE_NAME)
                return
            self._state = "backing-off"
            self._last_error = problem
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            log.info(
                "es.retry", url=self.url, attempt=attempt, delay=round(delay, 3), error=problem
            )
            await asyncio.sleep(delay)

    async def _ship_forever(self, session: aiohttp.ClientSession, wake: asyncio.Event) -> None:
        attempt = 0
        batch: _Batch | None = None
        while True:
            wake.clear()  # before reading, so an event committed after the read still wakes us
            if batch is None:
                batch = await asyncio.to_thread(self._read, self._batch_size)
                self._pending, self._dead = batch.pending, batch.dead
            if not batch.ids:
                batch = None
                if self._state != "backing-off":
                    self._state = "running"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._idle_poll)
                continue
            sent = batch
            try:
                outcome = await self._send(session, sent)
                batch = None  # items change state: read the outbox again next time
                await self._record(outcome)
                problem = outcome.retry
            except _Retry as exc:
                # Nothing was recorded: resend the same body instead of rebuilding it from
                # SQLite on every attempt of a long outage (except after a 413: it must shrink).
                problem = str(exc)
                batch = None if len(sent.ids) > self._batch_size else sent
            if problem is not None:
                self._state = "backing-off"
                self._last_error = problem
                delay = self._backoff.delay(attempt, self._rng)
                attempt += 1
                log.info(
                    "es.retry",
                    url=self.url,
                    attempt=attempt,
                    delay=round(delay, 3),
                    error=problem,
                    pending=self._pending,
                )
                await asyncio.sleep(delay)
                continue
            if attempt:
                log.info("es.recovered", url=self.url, after_attempts=attempt)
            attempt = 0
            self._state = "running"

    def _read(self, limit: int) -> _Batch:
        """On a worker thread: the next batch as a ready NDJSON body, plus the outbox counts."""
        items = self.store.pending(limit)
        pending, dead = self.store.outbox_counts()
        lines: list[str] = []
        for item in items:
            lines.append(f'{{"create":{{"_index":"{self.index}","_id":"{item.event_id}"}}}}')
            lines.append(item.doc)
        body = ("\n".join(lines) + "\n").encode() if lines else b""
        return _Batch([item.event_id for item in items], body, pending, dead)

    async def _send(self, session: aiohttp.ClientSession, batch: _Batch) -> _Outcome:
        url = self.url + _BULK_PATH
        try:
            async with session.post(url, data=batch.body) as response:
                status = response.status
                if status in (401, 403):
                    raise EsAuthError("POST", self.url + "/_bulk", status, await response.text())
                if status == 413 and self._batch_size > 1:
                    self._batch_size = max(1, self._batch_size // 2)
                    raise _Retry(f"413 request too large: batch size now {self._batch_size}")
                if not 200 <= status < 300:
                    text = await response.text()
                    if status < 500 and status != 429:
                        # Our request is malformed: retrying cannot fix it, but dropping events
                        # is worse. Say so loudly and keep them queued.
                        log.error("es.bulk_rejected", url=url, status=status, body=text[:300])
                    raise _Retry(f"HTTP {status}: {text[:200]}")
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # a 2xx whose body is not JSON: a proxy, not Elasticsearch
            raise _Retry(f"unreadable bulk response: {exc}") from None
        return _classify(batch.ids, answer)

    async def _record(self, outcome: _Outcome) -> None:
        if outcome.delivered:
            await asyncio.wrap_future(self.store.mark_shipped(outcome.delivered))
            self._shipped += len(outcome.delivered)
        if outcome.dead:
            await asyncio.wrap_future(self.store.dead_letter(outcome.dead))
            self._dead += len(outcome.dead)
            for event_id, reason in outcome.dead:
                log.warning("es.dead_letter", event_id=event_id, reason=reason)
        if outcome.auth is not None:
            raise EsAuthError("POST", self.url + "/_bulk", 403, outcome.auth)


def _classify(ids: list[str], answer: Any) -> _Outcome:
    """Sort a bulk response's items (in request order) into delivered, dead and retry."""
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list) or len(items) != len(ids):
        raise _Retry(f"bulk response has {len(items or [])} items for {len(ids)} actions")
    outcome = _Outcome()
    retry_reasons: list[str] = []
    for event_id, item in zip(ids, items, strict=True):
        result: dict[str, Any] = next(iter(item.values()), {}) if isinstance(item, dict) else {}
        status = int(result.get("status", 0))
        error = result.get("error") or {}
        reason = (
            f"{status} {error.get('type', '?')}: {error.get('reason', '')}"
            if isinstance(error, dict)
            else f"{status} {error}"
        )
        if 200 <= status < 300 or status == 409:
            outcome.delivered.append(event_id)
        elif status in (401, 403):
            outcome.auth = reason
        elif status in _RETRYABLE_ITEM or status >= 500 or status == 0:
            retry_reasons.append(reason)
        else:
            outcome.dead.append((event_id, reason))
    if retry_reasons:
        outcome.retry = f"{len(retry_reasons)} item(s) to resend, e.g. {retry_reasons[0]}"
    return outcome
