"""ARI events (Asterisk 22 ``events.json``) as frozen dataclasses, and :func:`parse_event`.

Rules:

* every event the product acts on has its own class; every other ``type`` becomes
  :class:`UnknownEvent` with the raw JSON kept, so a new Asterisk event never crashes the reader;
* a *known* type whose body lacks a field the product relies on raises
  :class:`~stasis_app.ari.models.AriProtocolError` naming the type and the field; the stream logs
  it and drops that one event;
* every event has ``channel_id``: the channel it belongs to, used by the dispatcher to route it to
  the call task (``None`` when it belongs to no channel, e.g. a bridge playback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from stasis_app.ari.ids import ChannelId
from stasis_app.ari.models import (
    AriProtocolError,
    Bridge,
    Channel,
    Endpoint,
    Fields,
    Playback,
    parse_time,
)


@dataclass(frozen=True, slots=True)
class _Event:
    type: ClassVar[str]
    application: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class _ChannelEvent(_Event):
    """An event about one channel, which is also its routing key."""

    channel: Channel

    @property
    def channel_id(self) -> ChannelId | None:
        return self.channel.id


@dataclass(frozen=True, slots=True)
class StasisStart(_ChannelEvent):
    type: ClassVar[str] = "StasisStart"
    args: tuple[str, ...]
    replace_channel: Channel | None


@dataclass(frozen=True, slots=True)
class StasisEnd(_ChannelEvent):
    type: ClassVar[str] = "StasisEnd"


@dataclass(frozen=True, slots=True)
class ChannelStateChange(_ChannelEvent):
    type: ClassVar[str] = "ChannelStateChange"


@dataclass(frozen=True, slots=True)
class ChannelDtmfReceived(_ChannelEvent):
    type: ClassVar[str] = "ChannelDtmfReceived"
    digit: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class ChannelHangupRequest(_ChannelEvent):
    """``cause`` 32 after an ARI hangup is Asterisk's soft-hangup flag, not Q.850 (lab notes)."""

    type: ClassVar[str] = "ChannelHangupRequest"
    cause: int | None
    soft: bool


@dataclass(frozen=True, slots=True)
class ChannelDestroyed(_ChannelEvent):
    type: ClassVar[str] = "ChannelDestroyed"
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class ChannelCallerId(_ChannelEvent):
    type: ClassVar[str] = "ChannelCallerId"
    caller_presentation: int
    caller_presentation_txt: str


@dataclass(frozen=True, slots=True)
class ChannelConnectedLine(_ChannelEvent):
    type: ClassVar[str] = "ChannelConnectedLine"


@dataclass(frozen=True, slots=True)
class ChannelDialplan(_ChannelEvent):
    type: ClassVar[str] = "ChannelDialplan"
    dialplan_app: str
    dialplan_app_data: str


@dataclass(frozen=True, slots=True)
class ApplicationMoveFailed(_ChannelEvent):
    type: ClassVar[str] = "ApplicationMoveFailed"
    destination: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChannelVarset(_Event):
    """A variable changed; without ``channel`` it is a global variable."""

    type: ClassVar[str] = "ChannelVarset"
    variable: str
    value: str
    channel: Channel | None

    @property
    def channel_id(self) -> ChannelId | None:
        return self.channel.id if self.channel else None


@dataclass(frozen=True, slots=True)
class _PlaybackEvent(_Event):
    playback: Playback

    @property
    def channel_id(self) -> ChannelId | None:
        """Routed by ``target_uri`` ``"channel:<id>"``; a bridge playback has no channel."""
        return self.playback.channel_id


@dataclass(frozen=True, slots=True)
class PlaybackStarted(_PlaybackEvent):
    type: ClassVar[str] = "PlaybackStarted"


@dataclass(frozen=True, slots=True)
class PlaybackFinished(_PlaybackEvent):
    """``playback.state`` is ``"done"``, or ``"failed"`` when the caller hung up mid-prompt."""

    type: ClassVar[str] = "PlaybackFinished"


@dataclass(frozen=True, slots=True)
class ChannelEnteredBridge(_Event):
    type: ClassVar[str] = "ChannelEnteredBridge"
    bridge: Bridge
    channel: Channel | None  # optional in the ARI description

    @property
    def channel_id(self) -> ChannelId | None:
        return self.channel.id if self.channel else None


@dataclass(frozen=True, slots=True)
class ChannelLeftBridge(_ChannelEvent):
    type: ClassVar[str] = "ChannelLeftBridge"
    bridge: Bridge


@dataclass(frozen=True, slots=True)
class _NoChannelEvent(_Event):
    @property
    def channel_id(self) -> ChannelId | None:
        return None


@dataclass(frozen=True, slots=True)
class BridgeCreated(_NoChannelEvent):
    type: ClassVar[str] = "BridgeCreated"
    bridge: Bridge


@dataclass(frozen=True, slots=True)
class BridgeDestroyed(_NoChannelEvent):
    type: ClassVar[str] = "BridgeDestroyed"
    bridge: Bridge


@dataclass(frozen=True, slots=True)
class EndpointStateChange(_NoChannelEvent):
    type: ClassVar[str] = "EndpointStateChange"
    endpoint: Endpoint


@dataclass(frozen=True, slots=True)
class PeerStatusChange(_NoChannelEvent):
    """An endpoint became reachable or not. PJSIP publishes one on every online/offline change,
    after the endpoint's new state is set, so ``endpoint.state`` is the new state; unlike
    EndpointStateChange it is not sent each time a channel comes or goes on the endpoint."""

    type: ClassVar[str] = "PeerStatusChange"
    endpoint: Endpoint
    peer_status: str
    cause: str | None


@dataclass(frozen=True, slots=True)
class DeviceStateChanged(_NoChannelEvent):
    type: ClassVar[str] = "DeviceStateChanged"
    device_name: str
    device_state: str


@dataclass(frozen=True, slots=True)
class ApplicationReplaced(_NoChannelEvent):
    """Another websocket took our app name over (only one consumer per app, lab notes)."""

    type: ClassVar[str] = "ApplicationReplaced"


@dataclass(frozen=True, slots=True)
class Dial(_Event):
    """Progress of a dial. Routed by ``peer``, the dialed channel, which always exists."""

    type: ClassVar[str] = "Dial"
    peer: Channel
    caller: Channel | None
    dialstatus: str
    dialstring: str | None
    forward: str | None
    forwarded: Channel | None

    @property
    def channel_id(self) -> ChannelId | None:
        return self.peer.id


@dataclass(frozen=True, slots=True)
class ChannelTransfer(_Event):
    """A phone asked to transfer its call (SIP REFER) and Asterisk left the transfer to us
    (``PJSIP_TRANSFER_HANDLING(ari-only)``). Routed by ``source``, the phone's own channel.

    Blind: ``destination`` is the extension the phone dialed. Attended: the phone first called
    the target in a second dialog; ``replaces`` is that dialog's channel (in our app), and
    ``replaces_peer`` the target it talks to. (Asterisk 22.10 fills ``destination`` for an
    attended transfer too, whatever events.json says: ``replaces`` is what tells them apart.)
    Every ``transfer_progress`` we send comes back as another ChannelTransfer with ``state``
    set; only the one without ``state`` is the phone's request.
    """

    type: ClassVar[str] = "ChannelTransfer"
    source: Channel  # referred_by.source_channel
    source_peer: Channel | None  # referred_by.connected_channel
    destination: str | None  # refer_to.requested_destination.destination
    protocol_id: str | None  # refer_to.requested_destination.protocol_id (SIP Call-ID)
    replaces: Channel | None  # refer_to.destination_channel
    replaces_peer: Channel | None  # refer_to.connected_channel
    state: str | None

    @property
    def channel_id(self) -> ChannelId | None:
        return self.source.id


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """Any event type this module does not model; ``raw`` is the JSON as received.

    ``application`` and ``timestamp`` are None when absent or unreadable (``MissingParams``
    messages have neither): an event we do not understand is never a reason to fail.
    """

    type: str
    application: str | None
    timestamp: datetime | None
    raw: Mapping[str, Any]

    @property
    def channel_id(self) -> ChannelId | None:
        """Best effort: ``channel.id`` when present, so e.g. ChannelHold still reaches its call."""
        channel = self.raw.get("channel")
        if isinstance(channel, Mapping) and isinstance(channel.get("id"), str):
            return ChannelId(channel["id"])
        return None


Event = (
    StasisStart
    | StasisEnd
    | ChannelStateChange
    | ChannelDtmfReceived
    | ChannelHangupRequest
    | ChannelDestroyed
    | ChannelVarset
    | ChannelCallerId
    | ChannelConnectedLine
    | ChannelDialplan
    | PlaybackStarted
    | PlaybackFinished
    | ChannelEnteredBridge
    | ChannelLeftBridge
    | BridgeCreated
    | BridgeDestroyed
    | Dial
    | EndpointStateChange
    | PeerStatusChange
    | DeviceStateChanged
    | ApplicationReplaced
    | ApplicationMoveFailed
    | ChannelTransfer
    | UnknownEvent
)


def _channel(f: Fields) -> Channel:
    return Channel.parse(f.obj("channel"))


def _opt_channel(f: Fields, key: str) -> Channel | None:
    sub = f.opt_obj(key)
    return Channel.parse(sub) if sub is not None else None


def _channel_transfer(f: Fields, app: str, ts: datetime) -> ChannelTransfer:
    by, to = f.obj("referred_by"), f.obj("refer_to")
    wanted = to.obj("requested_destination")
    return ChannelTransfer(
        app,
        ts,
        source=Channel.parse(by.obj("source_channel")),
        source_peer=_opt_channel(by, "connected_channel"),
        destination=wanted.opt_text("destination"),
        protocol_id=wanted.opt_text("protocol_id"),
        replaces=_opt_channel(to, "destination_channel"),
        replaces_peer=_opt_channel(to, "connected_channel"),
        state=f.opt_text("state"),
    )


def _peer_status(f: Fields, app: str, ts: datetime) -> PeerStatusChange:
    peer = f.obj("peer")
    endpoint = Endpoint.parse(f.obj("endpoint"))
    return PeerStatusChange(app, ts, endpoint, peer.text("peer_status"), peer.opt_text("cause"))


def _device_state(f: Fields, app: str, ts: datetime) -> DeviceStateChanged:
    state = f.obj("device_state")
    return DeviceStateChanged(app, ts, state.text("name"), state.text("state"))


# One parser per type: (fields, application, timestamp) -> event.
_PARSERS: dict[str, Callable[[Fields, str, datetime], Event]] = {
    "StasisStart": lambda f, a, t: StasisStart(
        a, t, _channel(f), f.texts("args"), _opt_channel(f, "replace_channel")
    ),
    "StasisEnd": lambda f, a, t: StasisEnd(a, t, _channel(f)),
    "ChannelStateChange": lambda f, a, t: ChannelStateChange(a, t, _channel(f)),
    "ChannelDtmfReceived": lambda f, a, t: ChannelDtmfReceived(
        a, t, _channel(f), f.text("digit"), f.integer("duration_ms")
    ),
    "ChannelHangupRequest": lambda f, a, t: ChannelHangupRequest(
        a, t, _channel(f), f.opt_integer("cause"), f.flag("soft", default=False)
    ),
    "ChannelDestroyed": lambda f, a, t: ChannelDestroyed(
        a, t, _channel(f), f.integer("cause"), f.text("cause_txt")
    ),
    "ChannelVarset": lambda f, a, t: ChannelVarset(
        a, t, f.text("variable"), f.text("value"), _opt_channel(f, "channel")
    ),
    "ChannelCallerId": lambda f, a, t: ChannelCallerId(
        a, t, _channel(f), f.integer("caller_presentation"), f.text("caller_presentation_txt")
    ),
    "ChannelConnectedLine": lambda f, a, t: ChannelConnectedLine(a, t, _channel(f)),
    "ChannelDialplan": lambda f, a, t: ChannelDialplan(
        a, t, _channel(f), f.text("dialplan_app"), f.text("dialplan_app_data")
    ),
    "PlaybackStarted": lambda f, a, t: PlaybackStarted(a, t, Playback.parse(f.obj("playback"))),
    "PlaybackFinished": lambda f, a, t: PlaybackFinished(a, t, Playback.parse(f.obj("playback"))),
    "ChannelEnteredBridge": lambda f, a, t: ChannelEnteredBridge(
        a, t, Bridge.parse(f.obj("bridge")), _opt_channel(f, "channel")
    ),
    "ChannelLeftBridge": lambda f, a, t: ChannelLeftBridge(
        a, t, _channel(f), Bridge.parse(f.obj("bridge"))
    ),
    "BridgeCreated": lambda f, a, t: BridgeCreated(a, t, Bridge.parse(f.obj("bridge"))),
    "BridgeDestroyed": lambda f, a, t: BridgeDestroyed(a, t, Bridge.parse(f.obj("bridge"))),
    "Dial": lambda f, a, t: Dial(
        a,
        t,
        peer=Channel.parse(f.obj("peer")),
        caller=_opt_channel(f, "caller"),
        dialstatus=f.text("dialstatus"),
        dialstring=f.opt_text("dialstring"),
        forward=f.opt_text("forward"),
        forwarded=_opt_channel(f, "forwarded"),
    ),
    "EndpointStateChange": lambda f, a, t: EndpointStateChange(
        a, t, Endpoint.parse(f.obj("endpoint"))
    ),
    "PeerStatusChange": _peer_status,
    "DeviceStateChanged": _device_state,
    "ChannelTransfer": _channel_transfer,
    "ApplicationReplaced": lambda f, a, t: ApplicationReplaced(a, t),
    "ApplicationMoveFailed": lambda f, a, t: ApplicationMoveFailed(
        a, t, _channel(f), f.text("destination"), f.texts("args")
    ),
}

KNOWN_EVENT_TYPES: frozenset[str] = frozenset(_PARSERS)


def _unknown(event_type: str, data: Mapping[str, Any]) -> UnknownEvent:
    app = data.get("application")
    raw_ts = data.get("timestamp")
    timestamp = None
    if isinstance(raw_ts, str):
        try:
            timestamp = parse_time(raw_ts)
        except ValueError:
            timestamp = None
    return UnknownEvent(event_type, app if isinstance(app, str) else None, timestamp, data)


def parse_event(data: Mapping[str, Any]) -> Event:
    """Turn one decoded websocket message into an :data:`Event`.

    Raises :class:`AriProtocolError` when the message has no ``type`` or when a known type lacks a
    field; an unknown type is returned as :class:`UnknownEvent`.
    """
    event_type = data.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise AriProtocolError("event", "type", "is missing")
    parser = _PARSERS.get(event_type)
    if parser is None:
        return _unknown(event_type, data)
    f = Fields(data, f"{event_type} event")
    return parser(f, f.text("application"), f.time("timestamp"))


__all__ = [
    "KNOWN_EVENT_TYPES",
    "ApplicationMoveFailed",
    "ApplicationReplaced",
    "BridgeCreated",
    "BridgeDestroyed",
    "ChannelCallerId",
    "ChannelConnectedLine",
    "ChannelDestroyed",
    "ChannelDialplan",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "ChannelTransfer",
    "ChannelVarset",
    "DeviceStateChanged",
    "Dial",
    "EndpointStateChange",
    "Event",
    "PeerStatusChange",
    "PlaybackFinished",
    "PlaybackStarted",
    "StasisEnd",
    "StasisStart",
    "UnknownEvent",
    "parse_event",
]
