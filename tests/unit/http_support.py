"""Shared builders for the registry, bus and REST API tests (no tests here).

Events are built as Asterisk 22 sends them (``events.json`` shapes) and go through the real
``parse_event``, so the registry and the routes are tested against what the worker really receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from stasis_app.ari import Event, parse_event
from stasis_app.calls.registry import LiveRegistry
from stasis_app.errors import (
    CallNotFound,
    ChannelNotFound,
    ExtensionNotFound,
    ExtensionUnavailable,
)
from stasis_app.events import CallEvent
from stasis_app.events.bus import EventBus
from stasis_app.events.store import CallDetail, CallSummary, DeadLetter, TimelineEvent
from stasis_app.http import create_app
from stasis_app.lagmonitor import LoopLag

TOKEN = "s3cret-token-for-tests"
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
EPOCH0 = T0.timestamp()


def ts(seconds: float = 0.0) -> str:
    """An ARI timestamp ``seconds`` after T0."""
    return datetime.fromtimestamp(EPOCH0 + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + (
        "+0000"
    )


def channel_json(
    channel_id: str = "1714557600.12",
    *,
    name: str = "PJSIP/1000-00000004",
    state: str = "Ring",
    caller: tuple[str, str] = ("Alice", "1000"),
    connected: tuple[str, str] = ("", ""),
    exten: str = "2000",
    created: float = 0.0,
) -> dict[str, Any]:
    return {
        "id": channel_id,
        "name": name,
        "state": state,
        "protocol_id": "3c2a9f1e@127.0.0.1",
        "caller": {"name": caller[0], "number": caller[1]},
        "connected": {"name": connected[0], "number": connected[1]},
        "accountcode": "",
        "dialplan": {
            "context": "cti-stasis",
            "exten": exten,
            "priority": 3,
            "app_name": "Stasis",
            "app_data": f"cti,{exten}",
        },
        "creationtime": ts(created),
        "language": "en",
    }


def bridge_json(
    bridge_id: str = "1714557600.12-bridge", channels: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "id": bridge_id,
        "technology": "simple_bridge",
        "bridge_type": "mixing",
        "bridge_class": "stasis",
        "creator": "Stasis",
        "name": "cti-1714557600.12",
        "channels": list(channels),
        "creationtime": ts(5),
        "video_mode": "none",
    }


def endpoint_json(resource: str = "2000", state: str = "online") -> dict[str, Any]:
    return {"technology": "PJSIP", "resource": resource, "state": state, "channel_ids": []}


def event(event_type: str, at: float = 0.0, **body: Any) -> Event:
    """Parse one event shaped like Asterisk's, ``at`` seconds after T0."""
    data = {
        "type": event_type,
        "timestamp": ts(at),
        "application": "cti",
        "asterisk_id": "02:42:ac:11:00:02",
        **body,
    }
    return parse_event(data)


def contact_event(
    resource: str = "2000",
    status: str = "Reachable",
    uri: str = "sip:2000@192.0.2.10:5060",
    rtt_usec: str | None = "12345",
) -> Event:
    info: dict[str, Any] = {"uri": uri, "contact_status": status, "aor": resource}
    if rtt_usec is not None:
        info["roundtrip_usec"] = rtt_usec
    return event("ContactStatusChange", endpoint=endpoint_json(resource), contact_info=info)


def call_event(action: str, call_id: str = "c1", **data: Any) -> CallEvent:
    return CallEvent(call_id, action, data, caller="1000", dialed="2000", at=EPOCH0)


class Clock:
    """A settable clock for durations."""

    def __init__(self, now: float = EPOCH0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeControl:
    """CallControl over a fixed set of extensions and the channels a test says exist."""

    extensions: dict[str, bool] = field(default_factory=lambda: {"1000": True, "2000": True})
    channels: set[str] = field(default_factory=set)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def _check(self, extension: str) -> None:
        if extension not in self.extensions:
            raise ExtensionNotFound(extension)
        if not self.extensions[extension]:
            raise ExtensionUnavailable(extension)

    async def click_to_dial(self, from_extension: str, to_extension: str) -> str:
        self._check(from_extension)
        self._check(to_extension)
        self.calls.append(("call", from_extension, to_extension))
        return f"api-{len(self.calls)}"

    async def hangup(self, channel_id: str) -> None:
        if channel_id not in self.channels:
            raise ChannelNotFound(channel_id)
        self.calls.append(("hangup", channel_id))

    async def transfer(self, channel_id: str, extension: str) -> None:
        if channel_id not in self.channels:
            raise ChannelNotFound(channel_id)
        self._check(extension)
        self.calls.append(("transfer", channel_id, extension))


@dataclass
class FakeStatus:
    ari_connected: bool = True
    reconnects: int = 2
    asterisk_version: str | None = "22.5.0"
    asterisk_started: datetime | None = T0
    version: str = "0.1.0"
    loop_lag: LoopLag = field(default_factory=lambda: LoopLag(12.5, 1.5, 3.0))


class FakeHistory:
    """A CallHistory holding one finished call."""

    def __init__(self) -> None:
        self.summary = CallSummary(
            call_id="c1",
            started=EPOCH0,
            ended=EPOCH0 + 12,
            caller="1000",
            dialed="2000",
            callee="2000",
            disposition="answered",
            cause=16,
            duration=12.0,
            ivr_path=(),
        )
        self.queries: list[dict[str, Any]] = []

    def list_calls(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        caller: str | None = None,
        extension: str | None = None,
        disposition: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[CallSummary]:
        query = {"since": since, "until": until, "caller": caller, "extension": extension}
        query |= {"disposition": disposition, "limit": limit, "offset": offset}
        self.queries.append({k: v for k, v in query.items() if v is not None})
        return [self.summary][offset : offset + limit]

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        letter = DeadLetter("e9", "c1", "digit", "mapper_parsing_exception: bad digit", EPOCH0)
        return [letter][:limit]

    def get_call(self, call_id: str) -> CallDetail:
        if call_id != "c1":
            raise CallNotFound(call_id)
        event = TimelineEvent("e1", EPOCH0, "call-started", "shipped", {"event": {"action": "x"}})
        return CallDetail(self.summary, (event,))


def make_app(
    registry: LiveRegistry | None = None,
    *,
    bus: EventBus | None = None,
    control: FakeControl | None = None,
    history: FakeHistory | None = None,
    status: FakeStatus | None = None,
    cors_origins: tuple[str, ...] = (),
) -> FastAPI:
    return create_app(
        registry=registry or LiveRegistry(now=Clock(EPOCH0 + 30)),
        bus=bus or EventBus(),
        control=control or FakeControl(),
        status=status or FakeStatus(),
        token=TOKEN,
        history=history,
        cors_origins=cors_origins,
        now=Clock(EPOCH0 + 100),
    )


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client(app: FastAPI, *, auth: bool = True) -> httpx.AsyncClient:
    """An httpx client talking to ``app`` in process (no socket)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://cti.test",
        headers=dict(AUTH) if auth else None,
    )
