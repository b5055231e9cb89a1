"""A thin, typed ARI client owned by cti: ids, models, events, REST client, event stream.

Nothing outside this package sees raw ARI JSON: REST answers become frozen models
(:mod:`.models`), websocket messages become frozen events (:mod:`.events`), failures become the
``AriError`` tree of :mod:`stasis_app.errors` (plus :class:`AriProtocolError` for malformed JSON).
"""

from stasis_app.ari.client import AriClient
from stasis_app.ari.events import (
    ApplicationMoveFailed,
    ApplicationReplaced,
    BridgeCreated,
    BridgeDestroyed,
    ChannelCallerId,
    ChannelConnectedLine,
    ChannelDestroyed,
    ChannelDialplan,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelStateChange,
    ChannelTransfer,
    ChannelVarset,
    DeviceStateChanged,
    Dial,
    EndpointStateChange,
    Event,
    PlaybackFinished,
    PlaybackStarted,
    StasisEnd,
    StasisStart,
    UnknownEvent,
    parse_event,
)
from stasis_app.ari.http11 import Http11Transport
from stasis_app.ari.ids import BridgeId, ChannelId, EndpointId, PlaybackId
from stasis_app.ari.models import (
    Application,
    AriProtocolError,
    AsteriskInfo,
    Bridge,
    CallerId,
    Channel,
    DialplanCEP,
    Endpoint,
    Playback,
)
from stasis_app.ari.stream import Backoff, EventStream
from stasis_app.ari.transport import AiohttpTransport, RestResponse, RestTransport

__all__ = [
    "AiohttpTransport",
    "Application",
    "ApplicationMoveFailed",
    "ApplicationReplaced",
    "AriClient",
    "AriProtocolError",
    "AsteriskInfo",
    "Backoff",
    "Bridge",
    "BridgeCreated",
    "BridgeDestroyed",
    "BridgeId",
    "CallerId",
    "Channel",
    "ChannelCallerId",
    "ChannelConnectedLine",
    "ChannelDestroyed",
    "ChannelDialplan",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelId",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "ChannelTransfer",
    "ChannelVarset",
    "DeviceStateChanged",
    "Dial",
    "DialplanCEP",
    "Endpoint",
    "EndpointId",
    "EndpointStateChange",
    "Event",
    "EventStream",
    "Http11Transport",
    "Playback",
    "PlaybackFinished",
    "PlaybackId",
    "PlaybackStarted",
    "RestResponse",
    "RestTransport",
    "StasisEnd",
    "StasisStart",
    "UnknownEvent",
    "parse_event",
]
