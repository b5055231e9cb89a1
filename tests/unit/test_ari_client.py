"""Specification of the ARI REST client, against a real HTTP server on 127.0.0.1.

The server records every request (method, raw path, query, headers, JSON body) and answers what a
test told it to, like Asterisk would. Every test runs over every transport, so the seam is proven.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from stasis_app.ari import (
    AiohttpTransport,
    AriClient,
    BridgeId,
    ChannelId,
    EndpointId,
    PlaybackId,
    RestTransport,
)
from stasis_app.ari.http11 import Http11Transport
from stasis_app.ari.models import AriProtocolError
from stasis_app.ari.transport import HttpxTransport
from stasis_app.errors import (
    AriAuthError,
    AriConflict,
    AriConnectionError,
    AriHttpError,
    AriInvalidId,
    AriNotFound,
)

USER, PASSWORD = "cti", "s3cret-pw"
CHANNEL = ChannelId("1714557600.12")
TS = "2024-05-01T10:00:00.123+0000"
CHANNEL_JSON = {
    "id": CHANNEL,
    "name": "PJSIP/2000-00000005",
    "state": "Down",
    "protocol_id": "",
    "caller": {"name": "", "number": ""},
    "connected": {"name": "", "number": ""},
    "accountcode": "",
    "dialplan": {"context": "default", "exten": "s", "priority": 1, "app_name": "", "app_data": ""},
    "creationtime": TS,
    "language": "en",
}
BRIDGE_JSON = {
    "id": "b-1",
    "technology": "simple_bridge",
    "bridge_type": "mixing",
    "bridge_class": "stasis",
    "creator": "Stasis",
    "name": "call-42",
    "channels": [],
    "creationtime": TS,
}
PLAYBACK_JSON = {
    "id": "pb-7",
    "media_uri": "sound:ivr/welcome",
    "target_uri": f"channel:{CHANNEL}",
    "language": "fr",
    "state": "queued",
}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeAri:
    """An HTTP server answering like ARI: canned replies by (method, path), 204 otherwise."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    replies: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def reply(self, method: str, path: str, status: int, body: Any = None) -> None:
        self.replies[(method, path)] = (status, body)

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        path = request.url.raw_path
        self.seen.append(
            Seen(
                method=request.method,
                path=path,
                query=list(request.query.items()),
                headers=dict(request.headers),
                body=json.loads(raw) if raw else None,
            )
        )
        if path in self.hang:
            await self.release.wait()
        status, body = self.replies.get((request.method, path), (204, None))
        if body is None:
            return web.Response(status=status)
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)


@pytest_asyncio.fixture
async def ari() -> AsyncIterator[FakeAri]:
    fake = FakeAri()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    yield fake
    fake.release.set()
    await runner.cleanup()


def make_transport(kind: str, url: str, timeout: float = 5.0) -> RestTransport:
    if kind == "aiohttp":
        return AiohttpTransport(url, USER, PASSWORD, timeout=timeout)
    if kind == "http11":
        return Http11Transport(url, USER, PASSWORD, timeout=timeout)
    return HttpxTransport(url, USER, PASSWORD, timeout=timeout)


@pytest.fixture(params=["http11", "aiohttp", "httpx"])
def transport_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest_asyncio.fixture
async def client(ari: FakeAri, transport_kind: str) -> AsyncIterator[AriClient]:
    transport = make_transport(transport_kind, ari.url)
    yield AriClient(transport, "cti")
    await transport.aclose()


# -- requests: path, parameters, auth --------------------------------------------------------


@pytest.mark.asyncio
async def test_credentials_travel_in_a_basic_auth_header_only(
    client: AriClient, ari: FakeAri
) -> None:
    """Every request carries ``Authorization: Basic``; the password is in no URL."""
    await client.answer(CHANNEL)

    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert ari.last.headers["Authorization"] == expected
    assert PASSWORD not in ari.last.path
    assert all(PASSWORD not in value for _, value in ari.last.query)


@pytest.mark.asyncio
async def test_answer_and_ring_post_to_the_channel(client: AriClient, ari: FakeAri) -> None:
    """answer/ring are POST /ari/channels/{id}/answer and /ring without parameters."""
    await client.answer(CHANNEL)
    await client.ring(CHANNEL)

    assert [(s.method, s.path, s.query) for s in ari.seen] == [
        ("POST", f"/ari/channels/{CHANNEL}/answer", []),
        ("POST", f"/ari/channels/{CHANNEL}/ring", []),
    ]


@pytest.mark.asyncio
async def test_stop_ringing_deletes_the_ring_and_may_tolerate_a_gone_channel(
    client: AriClient, ari: FakeAri
) -> None:
    """stop_ringing is DELETE /channels/{id}/ring; with missing_ok a 404 is success."""
    ari.reply("DELETE", f"/ari/channels/{CHANNEL}/ring", 404, {"message": "Channel not found"})

    await client.stop_ringing(CHANNEL, missing_ok=True)

    assert [(s.method, s.path) for s in ari.seen] == [("DELETE", f"/ari/channels/{CHANNEL}/ring")]


@pytest.mark.asyncio
async def test_subscribe_adds_an_event_source_to_our_app(client: AriClient, ari: FakeAri) -> None:
    """subscribe() posts eventSource to /applications/{app}/subscription."""
    ari.reply(
        "POST",
        "/ari/applications/cti/subscription",
        200,
        {"name": "cti", "channel_ids": [], "bridge_ids": [], "endpoint_ids": ["PJSIP/1000"]},
    )

    app = await client.subscribe("endpoint:PJSIP")

    assert app.endpoint_ids == ("PJSIP/1000",)
    assert ari.last.query == [("eventSource", "endpoint:PJSIP")]


@pytest.mark.asyncio
async def test_event_filter_replaces_both_lists(client: AriClient, ari: FakeAri) -> None:
    """set_event_filter PUTs both lists as [{"type": ...}] so no earlier filter lingers."""
    ari.reply(
        "PUT",
        "/ari/applications/cti/eventFilter",
        200,
        {"name": "cti", "channel_ids": [], "bridge_ids": [], "endpoint_ids": []},
    )

    await client.set_event_filter(disallowed=["ChannelVarset"])

    assert ari.last.body == {"allowed": [], "disallowed": [{"type": "ChannelVarset"}]}


@pytest.mark.asyncio
async def test_play_sends_media_comma_joined_and_returns_the_playback(
    client: AriClient, ari: FakeAri
) -> None:
    """play() posts ``media`` as one comma list (what Asterisk splits) and parses the Playback."""
    ari.reply("POST", f"/ari/channels/{CHANNEL}/play", 201, PLAYBACK_JSON)

    playback = await client.play(CHANNEL, ["sound:ivr/welcome", "digits:42"], lang="fr")

    assert ari.last.query == [("media", "sound:ivr/welcome,digits:42"), ("lang", "fr")]
    assert playback.id == "pb-7"
    assert playback.channel_id == CHANNEL


@pytest.mark.asyncio
async def test_play_with_our_own_id_uses_the_play_with_id_path(
    client: AriClient, ari: FakeAri
) -> None:
    """With a playback id the request is POST /channels/{id}/play/{playbackId}."""
    ari.reply("POST", f"/ari/channels/{CHANNEL}/play/pb-7", 201, PLAYBACK_JSON)

    await client.play(CHANNEL, ["sound:ivr/welcome"], playback_id=PlaybackId("pb-7"))

    assert ari.last.path == f"/ari/channels/{CHANNEL}/play/pb-7"
    assert ari.last.query == [("media", "sound:ivr/welcome")]


@pytest.mark.asyncio
async def test_a_media_uri_containing_a_comma_is_refused_before_any_request(
    client: AriClient, ari: FakeAri
) -> None:
    """Asterisk would split it in two; the client refuses instead of guessing."""
    with pytest.raises(ValueError, match="comma"):
        await client.play(CHANNEL, ["sound:a,b"])

    assert ari.seen == []


@pytest.mark.asyncio
async def test_ids_are_escaped_in_paths(client: AriClient, ari: FakeAri) -> None:
    """An id holding characters a path may not carry raw stays one escaped path segment."""
    await client.answer(ChannelId("caf\u00e9-1.2"))

    assert ari.last.path == "/ari/channels/caf%C3%A9-1.2/answer"


UNSAFE_IDS = ["", ".", "..", "a/b", "../asterisk", "a\\b", "a?b=1", "a#b", "a%2Fb", "a b", "a\nb"]


@pytest.mark.asyncio
@pytest.mark.parametrize("unsafe", UNSAFE_IDS)
@pytest.mark.parametrize(
    "operation",
    [
        lambda c, i: c.answer(ChannelId(i)),
        lambda c, i: c.hangup(ChannelId(i), missing_ok=True),
        lambda c, i: c.play(ChannelId("1.2"), ["sound:x"], playback_id=PlaybackId(i)),
        lambda c, i: c.stop_playback(PlaybackId(i)),
        lambda c, i: c.destroy_bridge(BridgeId(i)),
        lambda c, i: c.get_endpoint("PJSIP", i),
        lambda c, i: c.for_app(i).get_application(),
        lambda c, i: c.originate("PJSIP/2000", channel_id=ChannelId(i)),
        lambda c, i: c.create_channel("PJSIP/2000", other_channel_id=ChannelId(i)),
        lambda c, i: c.create_bridge(bridge_id=BridgeId(i)),
    ],
    ids=[
        "answer",
        "hangup",
        "play-id",
        "stop-playback",
        "destroy-bridge",
        "endpoint",
        "app",
        "originate-id",
        "create-other-id",
        "bridge-id",
    ],
)
async def test_an_id_that_would_change_the_url_path_is_refused_before_any_request(
    client: AriClient, ari: FakeAri, unsafe: str, operation: Any
) -> None:
    """'.', '..', '/', '\\', '?', '#', '%' or whitespace in an id: AriInvalidId, nothing sent.
    Ids we choose at creation are checked too, so such an id is never created."""
    with pytest.raises(AriInvalidId) as raised:
        await operation(client, unsafe)

    assert raised.value.value == unsafe
    assert ari.seen == []


@pytest.mark.asyncio
async def test_stop_playback_deletes_it(client: AriClient, ari: FakeAri) -> None:
    """stop_playback is DELETE /ari/playbacks/{id}."""
    await client.stop_playback(PlaybackId("pb-7"))

    assert (ari.last.method, ari.last.path) == ("DELETE", "/ari/playbacks/pb-7")


@pytest.mark.asyncio
async def test_hangup_sends_the_reason_code(client: AriClient, ari: FakeAri) -> None:
    """hangup is DELETE /ari/channels/{id} with ``reason_code`` when given."""
    await client.hangup(CHANNEL, reason_code=17)
    await client.hangup(CHANNEL)

    assert [(s.method, s.path, s.query) for s in ari.seen] == [
        ("DELETE", f"/ari/channels/{CHANNEL}", [("reason_code", "17")]),
        ("DELETE", f"/ari/channels/{CHANNEL}", []),
    ]


@pytest.mark.asyncio
async def test_hangup_refuses_both_reason_forms(client: AriClient) -> None:
    """reason_code and reason are mutually exclusive in ARI."""
    with pytest.raises(ValueError, match="mutually exclusive"):
        await client.hangup(CHANNEL, reason_code=17, reason="busy")


@pytest.mark.asyncio
async def test_originate_puts_variables_in_the_json_body(client: AriClient, ari: FakeAri) -> None:
    """originate is POST /ari/channels: app, appArgs... as query, variables as JSON body."""
    ari.reply("POST", "/ari/channels", 200, CHANNEL_JSON)

    channel = await client.originate(
        EndpointId("PJSIP/2000"),
        app_args=["agent", "42"],
        caller_id='"CTI" <500>',
        timeout=20,
        channel_id=CHANNEL,
        variables={"CALLERID(name)": "CTI"},
    )

    assert channel.id == CHANNEL
    assert dict(ari.last.query) == {
        "endpoint": "PJSIP/2000",
        "app": "cti",
        "appArgs": "agent,42",
        "callerId": '"CTI" <500>',
        "timeout": "20",
        "channelId": CHANNEL,
    }
    assert ari.last.body == {"variables": {"CALLERID(name)": "CTI"}}


@pytest.mark.asyncio
async def test_originate_without_variables_sends_no_body(client: AriClient, ari: FakeAri) -> None:
    """Without variables there is no JSON body at all."""
    ari.reply("POST", "/ari/channels", 200, CHANNEL_JSON)

    await client.originate("PJSIP/2000")

    assert ari.last.body is None
    assert dict(ari.last.query) == {"endpoint": "PJSIP/2000", "app": "cti"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/ari/channels", lambda c, v: c.originate("PJSIP/2000", variables=v)),
        ("/ari/channels/create", lambda c, v: c.create_channel("PJSIP/2000", variables=v)),
        ("/ari/channels", lambda c, v: c.for_app("cti-other").originate("PJSIP/2000", variables=v)),
    ],
    ids=["originate", "create", "other-app"],
)
@pytest.mark.parametrize(
    "case",
    [
        (None, {"TIMEOUT(absolute)": "14400"}),
        ({"A()": "x"}, {"TIMEOUT(absolute)": "14400", "A()": "x"}),
        ({"TIMEOUT(absolute)": "60"}, {"TIMEOUT(absolute)": "60"}),
    ],
    ids=["alone", "with-others", "caller-overrides"],
)
async def test_every_channel_we_originate_carries_the_absolute_call_limit(
    ari: FakeAri,
    transport_kind: str,
    path: str,
    operation: Any,
    case: tuple[dict[str, str] | None, dict[str, str]],
) -> None:
    """Originated legs skip the dialplan's Set(TIMEOUT(absolute)=...): the client sets it on each
    one, in the originate body's variables, from its max_call_seconds."""
    variables, expected = case
    ari.reply("POST", path, 200, CHANNEL_JSON)
    transport = make_transport(transport_kind, ari.url)
    client = AriClient(transport, "cti", max_call_seconds=14400)
    try:
        await operation(client, variables)
    finally:
        await transport.aclose()

    assert (ari.last.method, ari.last.path) == ("POST", path)
    assert ari.last.body == {"variables": expected}


@pytest.mark.asyncio
async def test_create_then_dial(client: AriClient, ari: FakeAri) -> None:
    """create_channel is POST /channels/create; dial is POST /channels/{id}/dial."""
    ari.reply("POST", "/ari/channels/create", 200, CHANNEL_JSON)

    channel = await client.create_channel(
        "PJSIP/2000", channel_id=CHANNEL, originator=ChannelId("1714557600.11")
    )
    await client.dial(channel.id, caller=ChannelId("1714557600.11"), timeout=30)

    create, dial = ari.seen
    assert (create.path, dict(create.query)) == (
        "/ari/channels/create",
        {
            "endpoint": "PJSIP/2000",
            "app": "cti",
            "channelId": CHANNEL,
            "originator": "1714557600.11",
        },
    )
    assert (dial.method, dial.path, dict(dial.query)) == (
        "POST",
        f"/ari/channels/{CHANNEL}/dial",
        {"caller": "1714557600.11", "timeout": "30"},
    )


@pytest.mark.asyncio
async def test_continue_in_dialplan(client: AriClient, ari: FakeAri) -> None:
    """continue_in_dialplan is POST /channels/{id}/continue with context, extension, priority."""
    await client.continue_in_dialplan(CHANNEL, context="fallback", extension="s")

    assert ari.last.path == f"/ari/channels/{CHANNEL}/continue"
    assert ari.last.query == [("context", "fallback"), ("extension", "s"), ("priority", "1")]


@pytest.mark.asyncio
async def test_redirect(client: AriClient, ari: FakeAri) -> None:
    """redirect is POST /channels/{id}/redirect?endpoint=..."""
    await client.redirect(CHANNEL, "PJSIP/3000")

    assert (ari.last.path, ari.last.query) == (
        f"/ari/channels/{CHANNEL}/redirect",
        [("endpoint", "PJSIP/3000")],
    )


@pytest.mark.asyncio
async def test_channel_variables(client: AriClient, ari: FakeAri) -> None:
    """get_variable reads ``value`` from GET .../variable; set_variable posts variable+value."""
    ari.reply("GET", f"/ari/channels/{CHANNEL}/variable", 200, {"value": "17"})

    assert await client.get_variable(CHANNEL, "HANGUPCAUSE") == "17"
    await client.set_variable(CHANNEL, "CTI_CALL", "c-1")

    get, put = ari.seen
    assert (get.method, get.query) == ("GET", [("variable", "HANGUPCAUSE")])
    assert (put.method, put.path, put.query) == (
        "POST",
        f"/ari/channels/{CHANNEL}/variable",
        [("variable", "CTI_CALL"), ("value", "c-1")],
    )


@pytest.mark.asyncio
async def test_get_and_list_channels(client: AriClient, ari: FakeAri) -> None:
    """GET /channels/{id} and GET /channels parse into Channel models."""
    ari.reply("GET", f"/ari/channels/{CHANNEL}", 200, CHANNEL_JSON)
    ari.reply("GET", "/ari/channels", 200, [CHANNEL_JSON, CHANNEL_JSON])

    assert (await client.get_channel(CHANNEL)).name == "PJSIP/2000-00000005"
    assert [c.id for c in await client.list_channels()] == [CHANNEL, CHANNEL]


@pytest.mark.asyncio
async def test_bridge_lifecycle(client: AriClient, ari: FakeAri) -> None:
    """create, add, remove, get, list and destroy hit the documented bridge paths."""
    ari.reply("POST", "/ari/bridges", 200, BRIDGE_JSON)
    ari.reply("GET", "/ari/bridges/b-1", 200, BRIDGE_JSON)
    ari.reply("GET", "/ari/bridges", 200, [BRIDGE_JSON])
    other = ChannelId("1714557600.13")

    bridge = await client.create_bridge(name="call-42")
    await client.add_channel(bridge.id, [CHANNEL, other])
    await client.remove_channel(bridge.id, other)
    assert (await client.get_bridge(bridge.id)).name == "call-42"
    assert len(await client.list_bridges()) == 1
    await client.destroy_bridge(bridge.id)

    assert [(s.method, s.path, s.query) for s in ari.seen] == [
        ("POST", "/ari/bridges", [("type", "mixing"), ("name", "call-42")]),
        ("POST", "/ari/bridges/b-1/addChannel", [("channel", f"{CHANNEL},{other}")]),
        ("POST", "/ari/bridges/b-1/removeChannel", [("channel", other)]),
        ("GET", "/ari/bridges/b-1", []),
        ("GET", "/ari/bridges", []),
        ("DELETE", "/ari/bridges/b-1", []),
    ]


@pytest.mark.asyncio
async def test_endpoints_application_and_info(client: AriClient, ari: FakeAri) -> None:
    """Endpoints, our application and /asterisk/info are read from their documented paths."""
    endpoint = {"technology": "PJSIP", "resource": "2000", "state": "online", "channel_ids": []}
    ari.reply("GET", "/ari/endpoints", 200, [endpoint])
    ari.reply("GET", "/ari/endpoints/PJSIP/2000", 200, endpoint)
    ari.reply(
        "GET",
        "/ari/applications/cti",
        200,
        {"name": "cti", "channel_ids": [CHANNEL], "bridge_ids": [], "endpoint_ids": []},
    )
    ari.reply("GET", "/ari/asterisk/info", 200, {"system": {"version": "22.10.0"}})

    assert [e.id for e in await client.list_endpoints()] == ["PJSIP/2000"]
    assert (await client.get_endpoint("PJSIP", "2000")).state == "online"
    assert (await client.get_application()).channel_ids == (CHANNEL,)
    assert (await client.asterisk_info()).version == "22.10.0"


# -- error mapping ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_401_is_an_auth_error_without_the_password(client: AriClient, ari: FakeAri) -> None:
    """Rejected credentials raise AriAuthError (fatal), which never shows the password."""
    ari.reply("POST", f"/ari/channels/{CHANNEL}/answer", 401, "Authentication required")

    with pytest.raises(AriAuthError) as caught:
        await client.answer(CHANNEL)

    assert PASSWORD not in str(caught.value)


@pytest.mark.asyncio
async def test_404_is_not_found_with_method_path_status_and_body(
    client: AriClient, ari: FakeAri
) -> None:
    """A 404 raises AriNotFound carrying what was asked and what Asterisk said."""
    ari.reply("POST", f"/ari/channels/{CHANNEL}/answer", 404, {"message": "Channel not found"})

    with pytest.raises(AriNotFound) as caught:
        await client.answer(CHANNEL)

    error = caught.value
    assert (error.method, error.path, error.status) == (
        "POST",
        f"/channels/{CHANNEL}/answer",
        404,
    )
    assert "Channel not found" in error.body


@pytest.mark.asyncio
async def test_409_is_a_conflict(client: AriClient, ari: FakeAri) -> None:
    """A 409 (e.g. channel not in Stasis) raises AriConflict."""
    ari.reply("POST", f"/ari/channels/{CHANNEL}/answer", 409, {"message": "not in Stasis"})

    with pytest.raises(AriConflict):
        await client.answer(CHANNEL)


@pytest.mark.asyncio
async def test_other_statuses_are_plain_http_errors(client: AriClient, ari: FakeAri) -> None:
    """Any other non-2xx (here 500) raises AriHttpError, not one of its subclasses."""
    ari.reply("POST", f"/ari/channels/{CHANNEL}/answer", 500, "boom")

    with pytest.raises(AriHttpError) as caught:
        await client.answer(CHANNEL)

    assert type(caught.value) is AriHttpError
    assert (caught.value.status, caught.value.body) == (500, "boom")


@pytest.mark.asyncio
async def test_a_2xx_answer_that_is_not_json_is_a_protocol_error(
    client: AriClient, ari: FakeAri
) -> None:
    """A model was promised; garbage is reported as AriProtocolError."""
    ari.reply("GET", f"/ari/channels/{CHANNEL}", 200, "<html>")

    with pytest.raises(AriProtocolError):
        await client.get_channel(CHANNEL)


@pytest.mark.asyncio
async def test_missing_ok_makes_an_already_gone_resource_a_success(
    client: AriClient, ari: FakeAri
) -> None:
    """Teardown with missing_ok swallows 404: the thing is already gone, which was the goal."""
    ari.reply("DELETE", f"/ari/channels/{CHANNEL}", 404, {"message": "Channel not found"})
    ari.reply("DELETE", "/ari/bridges/b-1", 404, {"message": "Bridge not found"})
    ari.reply("DELETE", "/ari/playbacks/pb-7", 404, {"message": "Playback not found"})

    await client.hangup(CHANNEL, missing_ok=True)
    await client.destroy_bridge(BridgeId("b-1"), missing_ok=True)
    await client.stop_playback(PlaybackId("pb-7"), missing_ok=True)

    with pytest.raises(AriNotFound):
        await client.hangup(CHANNEL)


@pytest.mark.parametrize("status", [400, 404, 422])
@pytest.mark.asyncio
async def test_remove_channel_missing_ok_accepts_every_documented_gone_answer(
    client: AriClient, ari: FakeAri, status: int
) -> None:
    """400 channel not found, 404 bridge not found, 422 channel not in bridge: all "gone"."""
    ari.reply("POST", "/ari/bridges/b-1/removeChannel", status, {"message": "gone"})

    await client.remove_channel(BridgeId("b-1"), CHANNEL, missing_ok=True)


@pytest.mark.asyncio
async def test_missing_ok_does_not_hide_a_conflict(client: AriClient, ari: FakeAri) -> None:
    """409 (bridge not in Stasis) means the bridge exists out of our hands: still raised."""
    ari.reply("POST", "/ari/bridges/b-1/removeChannel", 409, {"message": "not in Stasis"})

    with pytest.raises(AriConflict):
        await client.remove_channel(BridgeId("b-1"), CHANNEL, missing_ok=True)


# -- transport failures ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.asyncio
async def test_connection_refused_is_a_connection_error_naming_the_request(
    transport_kind: str,
) -> None:
    """Nobody listening -> AriConnectionError with method and path, without the password."""
    transport = make_transport(transport_kind, f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(AriConnectionError) as caught:
            await AriClient(transport, "cti").answer(CHANNEL)
    finally:
        await transport.aclose()

    assert f"POST /channels/{CHANNEL}/answer" in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.asyncio
async def test_a_request_that_times_out_is_a_connection_error(
    ari: FakeAri, transport_kind: str
) -> None:
    """A server that never answers yields AriConnectionError after the transport timeout."""
    ari.hang.add(f"/ari/channels/{CHANNEL}/answer")
    transport = make_transport(transport_kind, ari.url, timeout=0.2)
    try:
        with pytest.raises(AriConnectionError, match="answer"):
            await AriClient(transport, "cti").answer(CHANNEL)
    finally:
        await transport.aclose()


@pytest.mark.asyncio
async def test_a_closed_transport_fails_like_an_unreachable_asterisk(
    ari: FakeAri, transport_kind: str
) -> None:
    """After aclose() requests raise AriConnectionError, the ordinary shutdown path."""
    transport = make_transport(transport_kind, ari.url)
    await transport.aclose()

    with pytest.raises(AriConnectionError, match="closed"):
        await AriClient(transport, "cti").answer(CHANNEL)


def test_credentials_in_the_base_url_are_refused_without_echoing_them() -> None:
    """user:pass@host would put the secret in every URL; it is refused and not repeated."""
    with pytest.raises(ValueError, match="not in the base URL") as caught:
        AiohttpTransport(f"http://cti:{PASSWORD}@127.0.0.1:8088", USER, PASSWORD)

    assert PASSWORD not in str(caught.value)


def test_importing_the_package_does_not_need_httpx() -> None:
    """httpx is dev-only: a fresh interpreter imports stasis_app.ari without loading it."""
    import subprocess
    import sys

    code = "import sys, stasis_app.ari; assert 'httpx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
