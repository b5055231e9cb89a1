"""The live state the REST API answers from: channels, bridges and endpoints, kept by ARI events.

The dispatcher feeds every event to :meth:`LiveRegistry.apply` on the websocket reader's stack, so
``apply`` is a few dict operations and never awaits or does I/O. After every (re)connect, recovery
replaces the whole state with what Asterisk reports (:meth:`LiveRegistry.reset`), because events
that happened while the websocket was down are lost. Readers get frozen snapshots (``*View``), so
a route can never change the state, and a snapshot never changes under a route's feet.

Rules:

* a channel appears on ``StasisStart``; one of our outbound legs (``<call>-leg<n>``) appears on
  its first event, since it is subscribed from origination and rings before it enters Stasis;
* a channel disappears on ``StasisEnd`` or ``ChannelDestroyed``; its id is remembered for a while
  so that a straggling event (a ``ChannelVarset`` after ``StasisEnd``) cannot resurrect it;
* the dialed extension is StasisStart's ``args[0]``; for our legs (args ``("dialed", call_id)``)
  it is the resource of the channel name (``PJSIP/2000-00000001`` -> ``2000``);
* ``answered`` is the time of the event that first showed the channel ``Up``;
* an endpoint's state comes from ``PeerStatusChange`` (and the endpoint inside
  ``ContactStatusChange``); its channels are the live channels whose name names it
  (``PJSIP/1000-00000004`` -> ``PJSIP/1000``), counted under the name a channel had when it
  appeared, since Asterisk's own list arrives only with ``EndpointStateChange``, which the
  endpoint app does not hear (decision 0015);
* contacts come from ``ContactStatusChange``, which the ARI events module does not model yet, so
  it is read here from the raw JSON, defensively: a malformed one is ignored.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from stasis_app.ari import (
    Bridge,
    BridgeCreated,
    BridgeDestroyed,
    Channel,
    ChannelDestroyed,
    ChannelEnteredBridge,
    ChannelLeftBridge,
    EndpointStateChange,
    Event,
    PeerStatusChange,
    StasisEnd,
    StasisStart,
    UnknownEvent,
)
from stasis_app.ari.ids import BridgeId, ChannelId, EndpointId
from stasis_app.ari.models import Endpoint
from stasis_app.calls.naming import LEG_ARG, call_of, endpoint_of, extension_of, is_leg
from stasis_app.errors import AriProtocolError

_FORGET_AFTER = 512  # removed channel ids remembered against straggling events


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: ChannelId
    name: str
    state: str
    caller_number: str
    caller_name: str
    connected_number: str
    connected_name: str
    dialed: str
    call_id: str
    bridge_id: BridgeId | None
    created: datetime
    answered: datetime | None
    menu: str | None
    # Last: channels_json() splices it onto each channel's cached JSON.
    duration: float  # seconds since ``created``, by the registry's clock


@dataclass(frozen=True, slots=True)
class BridgeView:
    id: BridgeId
    name: str
    bridge_type: str
    technology: str
    channels: tuple[ChannelId, ...]
    created: datetime | None


@dataclass(frozen=True, slots=True)
class ContactView:
    uri: str
    status: str  # Reachable | Unreachable | Unknown | NonQualified
    rtt_ms: float | None


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: EndpointId
    technology: str
    resource: str
    state: str  # online | offline | unknown
    channel_ids: tuple[ChannelId, ...]
    contacts: tuple[ContactView, ...]


@dataclass(slots=True)
class _Live:
    """What the registry knows about one channel beyond Asterisk's own snapshot of it."""

    channel: Channel
    dialed: str
    call_id: str
    bridge: BridgeId | None = None
    answered: datetime | None = None
    menu: str | None = None
    # The endpoint it was counted under: kept, because a channel's name can change under it.
    endpoint: str = ""
    # This channel's JSON for /channels, up to (not including) its duration; None when stale.
    json: bytes | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: object) -> None:
        # Every change to what the view shows makes the cached JSON stale: no caller can forget.
        object.__setattr__(self, name, value)
        if name != "json":
            object.__setattr__(self, "json", None)


@dataclass(slots=True)
class _Ep:
    endpoint: Endpoint
    contacts: dict[str, ContactView] = field(default_factory=dict)


def _identity(channel: Channel, args: tuple[str, ...] | None) -> tuple[str, str]:
    """(dialed extension, call id) of a channel, from its Stasis args or its id and name."""
    if args and args[0] == LEG_ARG:
        return extension_of(channel.name), args[1] if len(args) > 1 else channel.id
    if is_leg(channel.id):
        return extension_of(channel.name), call_of(channel.id)
    if args:
        return args[0], channel.id
    return (channel.dialplan.exten if channel.dialplan else ""), channel.id


class LiveRegistry:
    """Channels, bridges and endpoints as ARI events describe them; see the module rules."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._channels: dict[ChannelId, _Live] = {}
        self._bridges: dict[BridgeId, Bridge] = {}
        self._endpoints: dict[EndpointId, _Ep] = {}
        self._gone: set[ChannelId] = set()
        self._gone_order: deque[ChannelId] = deque()
        # Live channels per endpoint (from channel names, "PJSIP/1000-00000001" -> "PJSIP/1000"):
        # the queues ask whether a phone is on a call at every offer, and /endpoints lists an
        # endpoint's channels, so they are kept as channels come and go, not searched.
        self._per_endpoint: dict[str, dict[ChannelId, None]] = {}
        self.resets = 0

    # ------------------------------------------------------------------------------ feeding
    def apply(self, event: Event) -> None:
        """Update the state from one ARI event. O(1), no I/O: runs on the reader's stack."""
        if isinstance(event, StasisStart):
            self._track(event.channel, event.args, event.timestamp)
        elif isinstance(event, (StasisEnd, ChannelDestroyed)):
            self._forget(event.channel.id)
        elif isinstance(event, (ChannelEnteredBridge, ChannelLeftBridge)):
            self._membership(event)
        elif isinstance(event, BridgeCreated):
            self._bridges[event.bridge.id] = event.bridge
        elif isinstance(event, BridgeDestroyed):
            self._bridges.pop(event.bridge.id, None)
        elif isinstance(event, (PeerStatusChange, EndpointStateChange)):
            self._endpoint(event.endpoint)
        elif isinstance(event, UnknownEvent):
            if event.type == "ContactStatusChange":
                self._contact(event.raw)
        else:
            # ChannelStateChange, ChannelCallerId, ChannelConnectedLine, ChannelDialplan, Dial...
            # all carry a fresh snapshot of their channel: keep the newest.
            channel = getattr(event, "channel", None)
            if isinstance(channel, Channel):
                self._refresh(channel, event.timestamp)

    def reset(
        self, channels: list[Channel], bridges: list[Bridge], endpoints: list[Endpoint]
    ) -> None:
        """Replace the state with Asterisk's after a reconnect.

        What only we know (dialed extension, answer time, IVR menu) survives for channels that
        still exist; contacts survive for endpoints still online (ARI cannot list them).
        """
        old = self._channels
        self._channels = {}
        for channel in channels:
            known = old.get(channel.id)
            if known is not None:
                known.channel = channel
                self._channels[channel.id] = known
            else:
                dialed, call_id = _identity(channel, None)
                # An Up channel's answer time is unknown after a restart: better unsaid than wrong.
                self._channels[channel.id] = _Live(channel, dialed, call_id)
        self._per_endpoint = {}
        for live in self._channels.values():
            self._join(live)
        self._bridges = {b.id: b for b in bridges}
        for bridge in bridges:
            for member in bridge.channels:
                if member in self._channels:
                    self._channels[member].bridge = bridge.id
        for live in self._channels.values():
            if live.bridge is not None and live.bridge not in self._bridges:
                live.bridge = None
        old_eps = self._endpoints
        self._endpoints = {}
        for endpoint in endpoints:
            previous = old_eps.get(endpoint.id)
            keep = previous.contacts if previous and endpoint.state == "online" else {}
            self._endpoints[endpoint.id] = _Ep(endpoint, dict(keep))
        self._gone.clear()
        self._gone_order.clear()
        self.resets += 1

    def set_menu(self, channel_id: ChannelId, menu: str | None) -> None:
        """The call layer's word on which IVR menu a channel is in (None: not in the IVR)."""
        live = self._channels.get(channel_id)
        if live is not None:
            live.menu = menu

    # ------------------------------------------------------------------------------ reading
    @property
    def channel_count(self) -> int:
        """How many channels are live (O(1), for /metrics)."""
        return len(self._channels)

    def channels(self) -> list[ChannelView]:
        """Every live channel, oldest first."""
        now = self._now()
        return [_live_view(live, now) for live in sorted(self._channels.values(), key=_age)]

    def channels_json(self) -> bytes:
        """``channels()`` as the JSON of ``{"channels": [...]}``, for GET /channels.

        The busiest read, on the loop that also reads ARI: each channel's JSON is kept until the
        channel changes, and only its duration is written per request. With 500 channels that is
        ~0.8 ms instead of ~2.9 ms for views plus serialisation (tests/unit/test_registry.py
        holds it equal to ``channels()``).
        """
        now = self._now()
        parts = []
        for live in sorted(self._channels.values(), key=_age):
            if live.json is None:
                whole = _VIEW_JSON.dump_json(_live_view(live, 0.0))
                live.json = whole[: whole.rindex(b',"duration":')]
            parts.append(b'%s,"duration":%r}' % (live.json, _duration(live, now)))
        return b'{"channels":[' + b",".join(parts) + b"]}"

    def channel(self, channel_id: str) -> ChannelView | None:
        live = self._channels.get(ChannelId(channel_id))
        return _live_view(live, self._now()) if live is not None else None

    def bridges(self) -> list[BridgeView]:
        return sorted((_bridge_view(b) for b in self._bridges.values()), key=lambda v: v.id)

    def bridge(self, bridge_id: str) -> BridgeView | None:
        bridge = self._bridges.get(BridgeId(bridge_id))
        return _bridge_view(bridge) if bridge is not None else None

    def endpoints(self) -> list[EndpointView]:
        views = [self._endpoint_view(ep) for ep in self._endpoints.values()]
        return sorted(views, key=lambda v: (v.technology, v.resource))

    def busy(self, extension: str) -> bool:
        """Whether a live channel (one we see) is the phone ``extension``'s."""
        return f"PJSIP/{extension}" in self._per_endpoint

    def online(self, extension: str) -> bool:
        """Whether the PJSIP endpoint ``extension`` is registered (online)."""
        ep = self._endpoints.get(EndpointId(f"PJSIP/{extension}"))
        return ep is not None and ep.endpoint.state == "online"

    def endpoint(self, endpoint_id: str) -> EndpointView | None:
        ep = self._endpoints.get(EndpointId(endpoint_id))
        return self._endpoint_view(ep) if ep is not None else None

    # ------------------------------------------------------------------------------ internals
    def _endpoint_view(self, ep: _Ep) -> EndpointView:
        e = ep.endpoint
        return EndpointView(
            id=e.id,
            technology=e.technology,
            resource=e.resource,
            state=e.state or "unknown",
            channel_ids=tuple(self._per_endpoint.get(e.id, ())),
            contacts=tuple(sorted(ep.contacts.values(), key=lambda c: c.uri)),
        )

    def _track(self, channel: Channel, args: tuple[str, ...], at: datetime) -> None:
        dialed, call_id = _identity(channel, args)
        live = self._channels.get(channel.id)
        if live is None:
            live = _Live(channel, dialed, call_id)
            self._channels[channel.id] = live
            self._join(live)
            self._gone.discard(channel.id)
        else:  # a leg we saw ringing has answered and entered Stasis
            live.dialed, live.call_id = dialed or live.dialed, call_id
        self._update(live, channel, at)

    def _membership(self, event: ChannelEnteredBridge | ChannelLeftBridge) -> None:
        self._bridges[event.bridge.id] = event.bridge  # the event carries the new member list
        if event.channel is None:
            return
        live = self._refresh(event.channel, event.timestamp)
        if live is None:
            return
        if isinstance(event, ChannelEnteredBridge):
            live.bridge = event.bridge.id
        elif live.bridge == event.bridge.id:
            live.bridge = None

    def _refresh(self, channel: Channel, at: datetime) -> _Live | None:
        live = self._channels.get(channel.id)
        if live is None:
            if not is_leg(channel.id) or channel.id in self._gone:
                return None
            dialed, call_id = _identity(channel, None)
            live = _Live(channel, dialed, call_id)
            self._channels[channel.id] = live
            self._join(live)
        self._update(live, channel, at)
        return live

    @staticmethod
    def _update(live: _Live, channel: Channel, at: datetime) -> None:
        live.channel = channel
        if live.answered is None and channel.state == "Up":
            live.answered = at

    def _join(self, live: _Live) -> None:
        live.endpoint = endpoint_of(live.channel.name)
        self._per_endpoint.setdefault(live.endpoint, {})[live.channel.id] = None

    def _leave(self, live: _Live) -> None:
        members = self._per_endpoint.get(live.endpoint)
        if members is not None:
            members.pop(live.channel.id, None)
            if not members:
                del self._per_endpoint[live.endpoint]

    def _forget(self, channel_id: ChannelId) -> None:
        live = self._channels.pop(channel_id, None)
        if live is not None:
            self._leave(live)
        if channel_id not in self._gone:
            self._gone.add(channel_id)
            self._gone_order.append(channel_id)
            if len(self._gone_order) > _FORGET_AFTER:
                self._gone.discard(self._gone_order.popleft())

    def _endpoint(self, endpoint: Endpoint) -> _Ep:
        ep = self._endpoints.get(endpoint.id)
        if ep is None:
            ep = self._endpoints[endpoint.id] = _Ep(endpoint)
        else:
            ep.endpoint = endpoint
        if endpoint.state == "offline":
            ep.contacts.clear()  # an unregistered phone has no contact worth showing
        return ep

    def _contact(self, raw: Mapping[str, Any]) -> None:
        parsed = parse_contact_status(raw)
        if parsed is None:
            return
        endpoint, contact = parsed
        ep = self._endpoints.get(endpoint.id)
        if ep is None:
            ep = self._endpoints[endpoint.id] = _Ep(endpoint)
        elif endpoint.state is not None:
            ep.endpoint = endpoint
        if contact.status == "Removed":
            ep.contacts.pop(contact.uri, None)
        else:
            ep.contacts[contact.uri] = contact


def parse_contact_status(raw: Mapping[str, Any]) -> tuple[Endpoint, ContactView] | None:
    """A ContactStatusChange's endpoint and contact, or None when the JSON is not usable."""
    info, endpoint_json = raw.get("contact_info"), raw.get("endpoint")
    if not isinstance(info, Mapping) or not isinstance(endpoint_json, Mapping):
        return None
    try:
        endpoint = Endpoint.from_json(endpoint_json)
    except AriProtocolError:
        return None
    uri, status = info.get("uri"), info.get("contact_status")
    if not isinstance(uri, str) or not uri or not isinstance(status, str):
        return None
    rtt: float | None = None
    usec = info.get("roundtrip_usec")
    if isinstance(usec, (str, int)) and not isinstance(usec, bool):
        try:
            rtt = round(int(usec) / 1000, 3)
        except ValueError:
            rtt = None
    if rtt is not None and rtt <= 0:
        rtt = None  # Asterisk reports 0 when it has not measured (e.g. qualify disabled)
    return endpoint, ContactView(uri, status, rtt)


def _bridge_view(bridge: Bridge) -> BridgeView:
    return BridgeView(
        id=bridge.id,
        name=bridge.name,
        bridge_type=bridge.bridge_type,
        technology=bridge.technology,
        channels=bridge.channels,
        created=bridge.creationtime,
    )


def _age(live: _Live) -> tuple[datetime, str]:
    """Oldest first; the id breaks ties."""
    return live.channel.creationtime, live.channel.id


def _live_view(live: _Live, now: float) -> ChannelView:
    c = live.channel
    return ChannelView(
        id=c.id,
        name=c.name,
        state=c.state,
        caller_number=c.caller.number,
        caller_name=c.caller.name,
        connected_number=c.connected.number,
        connected_name=c.connected.name,
        dialed=live.dialed,
        call_id=live.call_id,
        bridge_id=live.bridge,
        created=c.creationtime,
        answered=live.answered,
        menu=live.menu,
        duration=_duration(live, now),
    )


def _duration(live: _Live, now: float) -> float:
    return round(max(0.0, now - live.channel.creationtime.timestamp()), 3)


_VIEW_JSON: TypeAdapter[ChannelView] = TypeAdapter(ChannelView)

__all__ = [
    "BridgeView",
    "ChannelView",
    "ContactView",
    "EndpointView",
    "LiveRegistry",
    "parse_contact_status",
]
