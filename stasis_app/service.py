"""Composition root: builds the worker's objects from Settings, runs them, owns shutdown.

One process, one event loop: the ARI events reader, the call tasks, and the REST API on
``CTI_HTTP_PORT``. ``run_worker`` returns when asked to stop (SIGINT/SIGTERM), after every call it
owned was ended: no channel is left stranded in Stasis. SIGHUP reloads the IVR definition; calls
in progress keep the definition they started with.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from stasis_app import __version__
from stasis_app.ari import AriClient, Backoff, EventStream, Http11Transport
from stasis_app.ari.events import Event
from stasis_app.ari.ids import ChannelId
from stasis_app.ari.subscriptions import keep_endpoint_subscriptions
from stasis_app.ari.transport import TimedTransport
from stasis_app.calls import causes
from stasis_app.calls.call import CallDeps
from stasis_app.calls.control import WorkerControl
from stasis_app.calls.dispatcher import Dispatcher
from stasis_app.calls.messages import Shutdown
from stasis_app.calls.recovery import Snapshot, reconcile
from stasis_app.calls.registry import LiveRegistry
from stasis_app.errors import AriAuthError, AriError, IvrDefinitionError
from stasis_app.events import EventSink, LogSink, MultiSink
from stasis_app.events.bus import EventBus
from stasis_app.events.counters import CallCounters
from stasis_app.events.ecs import Origin
from stasis_app.events.elastic import ElasticSink
from stasis_app.events.store import CallStore
from stasis_app.http.app import create_app
from stasis_app.http.server import ApiServer
from stasis_app.ivr import IvrDefinition, load
from stasis_app.lagmonitor import LoopLagMonitor
from stasis_app.queues import loader as queues_loader
from stasis_app.queues.model import QueueConfig
from stasis_app.queues.service import QueueService
from stasis_app.settings import Settings
from stasis_app.status import AriTimings, WorkerStatusView
from stasis_app.supervisor import Supervisor

log = structlog.get_logger("cti.service")
DRAIN_SECONDS = 5.0
# Endpoint and contact changes come on a second app's websocket. Subscribing the call app itself
# to endpoint:PJSIP makes Asterisk deliver every channel event twice (once per subscription):
# a DTMF digit would count twice. The second app is filtered to these types at the source.
# Not EndpointStateChange: Asterisk sends it each time a channel comes or goes on an endpoint,
# with the endpoint's whole channel list, so a trunk (or the bench's SIPp) with N calls up costs
# two N-long events per call; the registry counts an endpoint's channels from its own channels,
# and PeerStatusChange carries every online/offline change (docs/decisions/0015).
ENDPOINT_EVENTS = ("ContactStatusChange", "PeerStatusChange")
ENDPOINT_SUBSCRIPTIONS = ("PJSIP",)
# Dropped by Asterisk for the call app (eventFilter), since no call logic reads them: about ten
# ChannelVarset per call; ChannelHangupRequest is followed at once by StasisEnd (a channel in
# Stasis) or ChannelDestroyed (a ringing leg), which end the call the same way.
UNUSED_EVENTS = ("ChannelVarset", "ChannelDialplan", "PlaybackStarted", "ChannelHangupRequest")
RECONNECT_CAP = 3.0


def load_queues(settings: Settings) -> QueueConfig:
    """The queues file; a site without one has no queues unless CTI_QUEUES_FILE names it."""
    path = settings.queues_file
    if settings.queues_file_setting is None and not path.exists():
        return QueueConfig(source=str(path))
    return queues_loader.load(path)


def load_ivr(settings: Settings, queues: QueueConfig | None = None) -> IvrDefinition:
    """Load and validate the IVR file (its queue options against ``queues``); any problem
    stops the worker with every path named."""
    known = queues if queues is not None else load_queues(settings)
    return load(settings.ivr_file, queues=tuple(known.queues))


@dataclass
class IvrHolder:
    """The IVR definition and queues in force. A call reads the IVR once, when it enters it."""

    path_settings: Settings
    current: IvrDefinition
    # Puts new queues in force; raises ValueError to refuse them (callers wait in a dropped one).
    apply_queues: Callable[[QueueConfig], None] = lambda _queues: None
    reloads: int = 0

    def reload(self) -> bool:
        """Re-read both files: both are taken, or neither (a bad one changes nothing)."""
        try:
            queues = load_queues(self.path_settings)
            ivr = load_ivr(self.path_settings, queues)
            self.apply_queues(queues)
        except (IvrDefinitionError, ValueError) as exc:
            # Every problem is in the message; a traceback would add nothing.
            log.error("ivr.reload_rejected", error=str(exc))  # noqa: TRY400
            return False
        self.current = ivr
        self.reloads += 1
        log.info(
            "ivr.reloaded",
            source=self.current.source,
            menus=len(self.current.menus),
            queues=len(queues.queues),
        )
        return True


@dataclass
class Worker:
    settings: Settings
    sink: EventSink = field(default_factory=LogSink)

    def __post_init__(self) -> None:
        s = self.settings
        queues = load_queues(s)
        self.ivr = IvrHolder(s, load_ivr(s, queues))
        self.registry = LiveRegistry()
        self.bus = EventBus(max_subscribers=s.max_subscribers)
        # The embedded history is also the Elasticsearch outbox; it writes on its own thread.
        self.store = CallStore.in_dir(
            s.data_dir,
            retention_days=s.retention_days,
            keep_unshipped=s.elasticsearch_url is not None,
            # host.name and service.node.name: which worker recorded an event.
            origin=Origin(node=socket.gethostname()),
        )
        self.counters = CallCounters()
        self._sinks = MultiSink([self.sink, self.bus, self.store, self.counters])
        self.shipper = (
            ElasticSink(s.elasticsearch_url, self.store, headers=s.elasticsearch_headers)
            if s.elasticsearch_url
            else None
        )
        self.ari_timings = AriTimings()
        self.transport = TimedTransport(
            Http11Transport(s.ari_url, s.ari_user, s.ari_password), self.ari_timings.observe
        )
        self.client = AriClient(self.transport, s.app, max_call_seconds=s.max_call_seconds)
        # Asterisk is local: retrying every few seconds at most costs nothing, and after an
        # Asterisk restart callers must be served again within seconds, not half a minute.
        self.stream = EventStream(
            s.ari_url, s.ari_user, s.ari_password, s.app, backoff=Backoff(cap=RECONNECT_CAP)
        )
        self.endpoint_client = self.client.for_app(f"{s.app}-endpoints")
        self.endpoint_stream = EventStream(
            s.ari_url,
            s.ari_user,
            s.ari_password,
            self.endpoint_client.app,
            backoff=Backoff(cap=RECONNECT_CAP),
        )
        self.queues = QueueService(
            queues,
            online=self.registry.online,
            busy=self.registry.busy,
            find_call=lambda call_id: self.dispatcher.owner(ChannelId(call_id)),
            keeper=self.store,
            publisher=self.bus,
            tz=zoneinfo.ZoneInfo(s.timezone) if s.timezone else None,
        )
        self.ivr.apply_queues = self.queues.reload
        self._kept_agents: dict[str, dict[str, Any]] | None = None
        self._today_facts: list[tuple[float, str, dict[str, Any]]] = []
        self.dispatcher = Dispatcher(self._deps)
        self.control = WorkerControl(
            self.client, self.dispatcher, self.registry, ring_timeout=s.ring_timeout
        )
        self.lag = LoopLagMonitor()
        self.supervisor = Supervisor()
        self.status = WorkerStatusView(
            stream=self.stream,
            endpoint_stream=self.endpoint_stream,
            store=self.store,
            shipper=self.shipper,
            lag=self.lag,
            dispatcher=self.dispatcher,
            registry=self.registry,
            counters=self.counters,
            timings=self.ari_timings,
        )
        self.api = ApiServer(
            create_app(
                registry=self.registry,
                bus=self.bus,
                queues=self.queues,
                control=self.control,
                status=self.status,
                token=s.api_token,
                history=self.store,
                cors_origins=s.cors_origins,
                metrics_public=s.metrics_public,
                max_body_bytes=s.max_body_bytes,
            ),
            s.http_host,
            s.http_port,
        )
        self.stopping = asyncio.Event()

    def _deps(self, dispatcher: Dispatcher) -> CallDeps:
        return CallDeps(
            client=self.client,
            sink=self._sinks,
            ivr=lambda: self.ivr.current,
            bind=dispatcher.bind,
            ring_timeout=self.settings.ring_timeout,
            on_menu=self.registry.set_menu,
            queues=self.queues,
        )

    def _on_event(self, event: Event) -> None:
        # On the websocket reader's stack: dict updates and queue puts, no I/O.
        self.registry.apply(event)
        self.dispatcher.on_event(event)
        self.queues.on_event(event)

    def _on_endpoint_event(self, event: Event) -> None:
        self.registry.apply(event)
        self.queues.on_event(event)

    def _read_queue_history(self) -> None:
        """Agents' kept state and today's queue facts (on a worker thread: SQLite reads)."""
        self._kept_agents = self.store.load_agents()
        midnight = datetime.now(self.queues.acd.tz).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self._today_facts = self.store.queue_outcomes_since(midnight.timestamp())

    async def _on_connected(self) -> None:
        log.info("ari.connected", url=self.settings.ari_url, app=self.settings.app)
        try:
            # Events no call logic reads are dropped by Asterisk instead of parsed by us.
            await self.client.set_event_filter(disallowed=UNUSED_EVENTS)
            info = await self.client.asterisk_info()
            self.status.asterisk_version = info.version
            self.status.asterisk_started = info.startup_time
            # One look at Asterisk serves both the live view and recovery.
            snapshot = await Snapshot.fetch(self.client)
            live = snapshot.live
            self.registry.reset(
                [c for c in snapshot.channels if c.id in live],
                [b for b in snapshot.bridges if set(b.channels) & live],
                [e for e in await self.client.list_endpoints() if e.technology == "PJSIP"],
            )
            if self._kept_agents is not None:
                # Once, after the first look at Asterisk: an agent's queue call goes on only if
                # its channel is still there.
                self.queues.restore(self._kept_agents, self._today_facts, live.__contains__)
                self._kept_agents = None
            await reconcile(self.client, self.dispatcher, snapshot)
        except AriError as exc:
            log.warning("recovery.failed", error=str(exc))

    async def _on_endpoints_connected(self) -> None:
        try:
            await self.endpoint_client.set_event_filter(allowed=ENDPOINT_EVENTS)
            await keep_endpoint_subscriptions(self.endpoint_client, ENDPOINT_SUBSCRIPTIONS)
        except AriError as exc:
            log.warning("endpoints.subscribe_failed", error=str(exc))

    async def run(self) -> None:
        """Serve until :meth:`stop`; then end every call and close the connections."""
        log.info("worker.starting", version=__version__, settings=repr(self.settings))
        await self.api.start()  # first: a port already taken fails before any call is touched
        await asyncio.to_thread(self._read_queue_history)
        log.info("api.listening", host=self.settings.http_host, port=self.api.bound_port)
        # Supervised: a crash is logged, counted and restarted with backoff (/health shows it);
        # the readers are what calls need, shipping and the lag monitor not. Bad credentials
        # are fatal: the reader ends with AriAuthError and the worker stops.
        tasks = self.supervisor
        self.status.supervisor = tasks
        reader = tasks.start(
            "ari-events",
            lambda: self.stream.run(self._on_event, self._on_connected),
            essential=True,
            fatal=(AriAuthError,),
        )
        tasks.start(
            "endpoint-events",
            lambda: self.endpoint_stream.run(self._on_endpoint_event, self._on_endpoints_connected),
            essential=True,
            fatal=(AriAuthError,),
        )
        if self.shipper is not None:
            tasks.start("elasticsearch-shipping", self.shipper.run, essential=False)
        tasks.start("loop-lag-monitor", self.lag.run, essential=False)
        stop = asyncio.create_task(self.stopping.wait())
        replaced = asyncio.create_task(self.dispatcher.replaced.wait())
        try:
            done, _ = await asyncio.wait(
                {reader, stop, replaced}, return_when=asyncio.FIRST_COMPLETED
            )
            if reader in done:
                reader.result()  # bad credentials: AriAuthError propagates to the CLI
        finally:
            self.status.stopping = True
            stop.cancel()
            replaced.cancel()
            try:
                await self._shutdown()
                self.queues.close()
                self.bus.close()
                await self.api.stop()
                await self.stream.close()
                await self.endpoint_stream.close()
                await tasks.stop()  # never raises, whatever a task died of
                await self.transport.aclose()
            finally:
                # Whatever failed above, what is queued for the history is written.
                await asyncio.to_thread(self.store.close)
                log.info("worker.stopped")

    def stop(self) -> None:
        self.stopping.set()

    async def _shutdown(self) -> None:
        """Refuse new calls, end the ones in progress (with a cause the phones understand)."""
        self.dispatcher.accepting = False
        calls = list(self.dispatcher.calls)
        if calls:
            log.info("worker.ending_calls", calls=len(calls))
        for call in calls:
            call.deliver(Shutdown(causes.TEMPORARY_FAILURE))
        if not await self.dispatcher.wait_idle(DRAIN_SECONDS):
            log.warning("worker.drain_timeout", left=len(list(self.dispatcher.calls)))


def install_signal_handlers(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, worker.stop)
    loop.add_signal_handler(signal.SIGINT, worker.stop)
    loop.add_signal_handler(signal.SIGHUP, worker.ivr.reload)


async def run_worker(settings: Settings) -> None:
    worker = Worker(settings)
    install_signal_handlers(worker)
    await worker.run()


__all__ = ["Worker", "load_ivr", "run_worker"]
