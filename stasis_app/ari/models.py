"""ARI resources (Asterisk 22 ``channels.json``, ``bridges.json`` ...) as frozen dataclasses.

Parsing rules, the same for every model:

* a field the product relies on is *required*: when it is missing or has the wrong JSON type,
  :class:`AriProtocolError` names the model and the dotted path of the field;
* every other field is optional: missing means ``None`` (or an empty value), so an older or newer
  Asterisk that drops or adds a field does not break the worker;
* unknown extra fields are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self, cast

from stasis_app.ari.ids import BridgeId, ChannelId, EndpointId, PlaybackId
from stasis_app.errors import AriProtocolError


def parse_time(raw: str) -> datetime:
    """Parse an ARI date such as ``2024-05-01T10:00:00.123+0000``.

    Python 3.11's ``fromisoformat`` accepts the colon-less ``+0000`` offset Asterisk writes (checked
    on 3.11.7), so no hand-written format string is needed.
    """
    return datetime.fromisoformat(raw)


class Fields:
    """Typed, path-aware access to one JSON object; every failure names the field's full path."""

    __slots__ = ("_data", "_kind", "_prefix")

    def __init__(self, data: object, kind: str, prefix: str = "") -> None:
        if not isinstance(data, Mapping):
            raise AriProtocolError(kind, prefix or "(root)", "is not a JSON object")
        self._data: Mapping[str, Any] = data
        self._kind = kind
        self._prefix = prefix

    @property
    def raw(self) -> Mapping[str, Any]:
        return self._data

    def _path(self, key: str) -> str:
        return f"{self._prefix}.{key}" if self._prefix else key

    def _get(self, key: str, kind: type | tuple[type, ...], label: str) -> Any:
        value = self._data.get(key)
        if type(value) is kind:
            # The usual case, decided with one lookup: ~150 reads per call make this loop-hot.
            return value
        return self._checked(key, kind, label)

    def _checked(self, key: str, kind: type | tuple[type, ...], label: str) -> Any:
        if key not in self._data or self._data[key] is None:
            raise AriProtocolError(self._kind, self._path(key), "is missing")
        value = self._data[key]
        # bool is an int in Python; a JSON true where a number belongs is still malformed.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise AriProtocolError(
                self._kind, self._path(key), f"should be {label}, got {type(value).__name__}"
            )
        return value

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def text(self, key: str) -> str:
        value: str = self._get(key, str, "a string")
        return value

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def integer(self, key: str) -> int:
        value: int = self._get(key, int, "an integer")
        return value

    def opt_integer(self, key: str) -> int | None:
        return self.integer(key) if self.has(key) else None

    def flag(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        value: bool = self._get(key, bool, "a boolean")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings; missing means empty (ARI omits empty lists in some versions)."""
        if not self.has(key):
            return ()
        values: list[Any] = self._get(key, list, "a list")
        for index, item in enumerate(values):
            if not isinstance(item, str):
                raise AriProtocolError(self._kind, f"{self._path(key)}[{index}]", "is not a string")
        return tuple(values)

    def time(self, key: str) -> datetime:
        raw = self.text(key)
        try:
            return parse_time(raw)
        except ValueError:
            raise AriProtocolError(
                self._kind, self._path(key), f"is not an ARI date: {raw!r}"
            ) from None

    def opt_time(self, key: str) -> datetime | None:
        return self.time(key) if self.has(key) else None

    def obj(self, key: str) -> Fields:
        value = self._data.get(key)
        if type(value) is not dict:  # JSON objects are dicts; anything else gets checked
            value = self._checked(key, Mapping, "an object")
        return Fields(value, self._kind, self._path(key))

    def opt_obj(self, key: str) -> Fields | None:
        return self.obj(key) if self.has(key) else None


@dataclass(frozen=True, slots=True)
class CallerId:
    name: str
    number: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        return cls.parse(Fields(d, "CallerID"))

    @classmethod
    def parse(cls, f: Fields | None) -> Self:
        if f is None:
            return cls("", "")
        return cls(name=f.opt_text("name") or "", number=f.opt_text("number") or "")


@dataclass(frozen=True, slots=True)
class DialplanCEP:
    """Where a channel is in the dialplan (context, extension, priority)."""

    context: str
    exten: str
    priority: int
    app_name: str | None = None
    app_data: str | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        return cls.parse(Fields(d, "DialplanCEP"))

    @classmethod
    def parse(cls, f: Fields) -> Self:
        return cls(
            context=f.text("context"),
            exten=f.text("exten"),
            priority=f.integer("priority"),
            app_name=f.opt_text("app_name"),
            app_data=f.opt_text("app_data"),
        )


@dataclass(frozen=True, slots=True)
class Channel:
    id: ChannelId
    name: str
    state: str
    caller: CallerId
    connected: CallerId
    dialplan: DialplanCEP | None
    creationtime: datetime
    language: str
    accountcode: str | None = None
    protocol_id: str | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        return cls.parse(Fields(d, "Channel"))

    @classmethod
    def parse(cls, f: Fields) -> Self:
        dialplan = f.opt_obj("dialplan")
        return cls(
            id=ChannelId(f.text("id")),
            name=f.text("name"),
            state=f.text("state"),
            caller=CallerId.parse(f.opt_obj("caller")),
            connected=CallerId.parse(f.opt_obj("connected")),
            dialplan=DialplanCEP.parse(dialplan) if dialplan is not None else None,
            creationtime=f.time("creationtime"),
            language=f.opt_text("language") or "",
            accountcode=f.opt_text("accountcode"),
            protocol_id=f.opt_text("protocol_id"),
        )


@dataclass(frozen=True, slots=True)
class Bridge:
    id: BridgeId
    technology: str
    bridge_type: str
    bridge_class: str
    channels: tuple[ChannelId, ...]
    name: str
    creationtime: datetime | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        return cls.parse(Fields(d, "Bridge"))

    @classmethod
    def parse(cls, f: Fields) -> Self:
        return cls(
            id=BridgeId(f.text("id")),
            technology=f.opt_text("technology") or "",
            bridge_type=f.opt_text("bridge_type") or "",
            bridge_class=f.opt_text("bridge_class") or "",
            channels=cast("tuple[ChannelId, ...]", f.texts("channels")),
            name=f.opt_text("name") or "",
            creationtime=f.opt_time("creationtime"),
        )


@dataclass(frozen=True, slots=True)
class Playback:
    id: PlaybackId
    media_uri: str
    target_uri: str
    language: str | None
    state: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        return cls.parse(Fields(d, "Playback"))

    @classmethod
    def parse(cls, f: Fields) -> Self:
        return cls(
            id=PlaybackId(f.text("id")),
            media_uri=f.text("media_uri"),
            target_uri=f.text("target_uri"),
            language=f.opt_text("language"),
            state=f.text("state"),
        )

    @property
    def channel_id(self) -> ChannelId | None:
        """The channel played to, from ``target_uri`` ``"channel:<id>"``; None for a bridge."""
        scheme, sep, rest = self.target_uri.partition(":")
        return ChannelId(rest) if sep and scheme == "channel" and rest else None


@dataclass(frozen=True, slots=True)
class Endpoint:
    technology: str
    resource: str
    state: str | None
    channel_ids: tuple[ChannelId, ...]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        return cls.parse(Fields(d, "Endpoint"))

    @classmethod
    def parse(cls, f: Fields) -> Self:
        return cls(
            technology=f.text("technology"),
            resource=f.text("resource"),
            state=f.opt_text("state"),
            # texts() has checked every id; the NewType is static only, and a per-id call
            # costs: an endpoint with 500 calls sends 500 ids on every channel it gains or loses.
            channel_ids=cast("tuple[ChannelId, ...]", f.texts("channel_ids")),
        )

    @property
    def id(self) -> EndpointId:
        return EndpointId(f"{self.technology}/{self.resource}")


@dataclass(frozen=True, slots=True)
class Application:
    """What Asterisk holds for our Stasis app; the reconcile step after a reconnect reads it."""

    name: str
    channel_ids: tuple[ChannelId, ...]
    bridge_ids: tuple[BridgeId, ...]
    endpoint_ids: tuple[EndpointId, ...]
    device_names: tuple[str, ...]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        f = Fields(d, "Application")
        return cls(
            name=f.text("name"),
            channel_ids=cast("tuple[ChannelId, ...]", f.texts("channel_ids")),
            bridge_ids=cast("tuple[BridgeId, ...]", f.texts("bridge_ids")),
            endpoint_ids=cast("tuple[EndpointId, ...]", f.texts("endpoint_ids")),
            device_names=f.texts("device_names"),
        )


@dataclass(frozen=True, slots=True)
class AsteriskInfo:
    """``GET /asterisk/info``. Every section is optional in the API, so every field may be None."""

    version: str | None = None
    entity_id: str | None = None
    startup_time: datetime | None = None
    last_reload_time: datetime | None = None
    default_language: str | None = None
    build_os: str | None = None
    build_machine: str | None = None
    build_date: str | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        f = Fields(d, "AsteriskInfo")
        system, status = f.opt_obj("system"), f.opt_obj("status")
        config, build = f.opt_obj("config"), f.opt_obj("build")
        return cls(
            version=system.opt_text("version") if system else None,
            entity_id=system.opt_text("entity_id") if system else None,
            startup_time=status.opt_time("startup_time") if status else None,
            last_reload_time=status.opt_time("last_reload_time") if status else None,
            default_language=config.opt_text("default_language") if config else None,
            build_os=build.opt_text("os") if build else None,
            build_machine=build.opt_text("machine") if build else None,
            build_date=build.opt_text("date") if build else None,
        )


__all__ = [
    "Application",
    "AriProtocolError",
    "AsteriskInfo",
    "Bridge",
    "CallerId",
    "Channel",
    "DialplanCEP",
    "Endpoint",
    "Playback",
]
