"""Typed ARI REST operations, checked against the Asterisk 22 API description (rest-api/*.json).

Every method is one REST call and keeps no state between calls. Status mapping, the same for all:
2xx -> the parsed model (or None); 401 -> ``AriAuthError``; 404 -> ``AriNotFound``; 409 ->
``AriConflict``; anything else -> ``AriHttpError`` (method, path, status, body); transport failure
-> ``AriConnectionError`` (raised by the transport); a 2xx body of the wrong shape ->
``AriProtocolError``.

Teardown helpers (``hangup``, ``destroy_bridge``, ``stop_playback``, ``remove_channel``) take
``missing_ok``: during teardown "already gone" is success, because the caller, Asterisk or a
concurrent task may have ended the resource first. Only the answers the API documents as "not
found" are swallowed; a 409 ("not in Stasis") means the resource still exists in a state we do not
control, and is still raised.

Every id that goes into a URL path is checked first (:func:`_seg`): ``.``, ``..`` or a character
that would end or re-split the path raises ``AriInvalidId`` before any request. Ids we choose
ourselves at creation (``channel_id``, ``other_channel_id``, ``bridge_id``, ``playback_id``) are
checked there too, so an id that could never be used in a path is never created.

List-valued parameters (``media``, ``appArgs``, ``channel``) are sent comma-joined, the form
Asterisk splits; a value containing a comma is refused with ``ValueError`` rather than silently
split into two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from stasis_app.ari.ids import BridgeId, ChannelId, EndpointId, PlaybackId
from stasis_app.ari.models import (
    Application,
    AriProtocolError,
    AsteriskInfo,
    Bridge,
    Channel,
    Endpoint,
    Fields,
    Playback,
)
from stasis_app.ari.transport import RestResponse, RestTransport
from stasis_app.errors import AriAuthError, AriConflict, AriHttpError, AriInvalidId, AriNotFound

T = TypeVar("T")

# Characters that end the path (? #), split it (/ and \, which some servers treat as /), or let a
# second decoding produce one of those (%). Whitespace and control characters have no business in
# an id and could split a request line if a library let them through.
_PATH_BREAKER = re.compile(r"[/\\?#%\x00-\x20\x7f]")


def _checked(value: str) -> str:
    """``value`` if it can be one URL path segment as-is; else ``AriInvalidId``."""
    if value in ("", ".", ".."):
        # URL normalisation (yarl, httpx, proxies) drops "." and resolves "..": the request
        # would reach another resource, e.g. DELETE /channels/.. -> DELETE /.
        raise AriInvalidId(value, "empty, '.' and '..' are not ids")
    bad = _PATH_BREAKER.search(value)
    if bad is not None:
        raise AriInvalidId(value, f"contains {bad.group()!r}")
    return value


def _maybe_checked(value: str | None) -> str | None:
    return None if value is None else _checked(value)


def _seg(value: str) -> str:
    """One path segment: checked, then escaped (``:``, ``@``, non-ASCII stay one segment)."""
    return quote(_checked(value), safe="")


def _joined(name: str, values: Sequence[str]) -> str:
    for value in values:
        if "," in value:
            raise ValueError(f"{name}: {value!r} contains a comma, which Asterisk would split")
    return ",".join(values)


def _params(**values: str | int | None) -> dict[str, str]:
    """Query parameters, dropping the unset ones so Asterisk applies its own defaults."""
    return {k: str(v) for k, v in values.items() if v is not None}


class AriClient:
    """The ARI operations cti uses, over any :class:`RestTransport`."""

    def __init__(
        self, transport: RestTransport, app: str, *, max_call_seconds: int | None = None
    ) -> None:
        self._transport = transport
        self.app = app
        self.max_call_seconds = max_call_seconds

    def _leg_variables(self, variables: Mapping[str, str] | None) -> dict[str, str] | None:
        """The originate body's variables: the absolute call limit first, then the caller's.

        Channels we originate never pass through the dialplan's ``Set(TIMEOUT(absolute)=...)``,
        so without this a leg could outlive the worker that forgot it, up to forever. Putting it
        here covers every originate, present and future, instead of each caller remembering.
        """
        merged: dict[str, str] = {}
        if self.max_call_seconds is not None:
            merged["TIMEOUT(absolute)"] = str(self.max_call_seconds)
        merged.update(variables or {})
        return merged or None

    # -- plumbing -----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        body: object | None = None,
        *,
        gone: frozenset[int] = frozenset(),
    ) -> RestResponse:
        """One request. A status in ``gone`` (teardown of a dead thing) is returned, not raised."""
        response = await self._transport.request(method, path, params=params, json=body)
        status = response.status
        if 200 <= status < 300 or status in gone:
            return response
        if status == 401:
            raise AriAuthError(f"ARI rejected the credentials ({method} {path} -> 401)")
        error = {404: AriNotFound, 409: AriConflict}.get(status, AriHttpError)
        raise error(method, path, status, response.text)

    async def _parsed(
        self,
        parse: Callable[[Any], T],
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        body: object | None = None,
    ) -> T:
        response = await self._call(method, path, params, body)
        try:
            data = response.json()
        except ValueError:
            raise AriProtocolError(f"answer to {method} {path}", "(body)", "is not JSON") from None
        return parse(data)

    # -- channels -----------------------------------------------------------------------------

    async def answer(self, channel_id: ChannelId) -> None:
        await self._call("POST", f"/channels/{_seg(channel_id)}/answer")

    async def ring(self, channel_id: ChannelId) -> None:
        await self._call("POST", f"/channels/{_seg(channel_id)}/ring")

    async def stop_ringing(self, channel_id: ChannelId, *, missing_ok: bool = False) -> None:
        gone = frozenset({404}) if missing_ok else frozenset()
        await self._call("DELETE", f"/channels/{_seg(channel_id)}/ring", gone=gone)

    async def play(
        self,
        channel_id: ChannelId,
        media: Sequence[str],
        *,
        lang: str | None = None,
        playback_id: PlaybackId | None = None,
    ) -> Playback:
        """Start playing ``media`` URIs (``sound:...``, ``digits:...``) in order.

        With ``playback_id`` the id is ours (``POST .../play/{playbackId}``), so the caller knows it
        before the answer and can stop it even if the answer is lost.
        """
        if not media:
            raise ValueError("play: media must name at least one URI")
        path = f"/channels/{_seg(channel_id)}/play"
        if playback_id is not None:
            path += f"/{_seg(playback_id)}"
        params = _params(media=_joined("media", media), lang=lang)
        return await self._parsed(Playback.from_json, "POST", path, params)

    async def stop_playback(self, playback_id: PlaybackId, *, missing_ok: bool = False) -> None:
        gone = frozenset({404}) if missing_ok else frozenset()
        await self._call("DELETE", f"/playbacks/{_seg(playback_id)}", gone=gone)

    async def hangup(
        self,
        channel_id: ChannelId,
        *,
        reason_code: int | None = None,
        reason: str | None = None,
        missing_ok: bool = False,
    ) -> None:
        """Hang up. Prefer ``reason_code`` (Q.850, e.g. 17 -> SIP 486): ``reason="normal"`` on a
        ringing inbound channel sends 603 (lab notes). The two are mutually exclusive in ARI."""
        if reason_code is not None and reason is not None:
            raise ValueError("hangup: reason_code and reason are mutually exclusive")
        gone = frozenset({404}) if missing_ok else frozenset()
        params = _params(reason_code=reason_code, reason=reason)
        await self._call("DELETE", f"/channels/{_seg(channel_id)}", params, gone=gone)

    async def originate(
        self,
        endpoint: EndpointId | str,
        *,
        app: str | None = None,
        app_args: Sequence[str] = (),
        caller_id: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109  -- ARI's ring timeout, not ours
        channel_id: ChannelId | None = None,
        other_channel_id: ChannelId | None = None,
        originator: ChannelId | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Dial ``endpoint`` straight into Stasis ``app`` (default: ours); ``timeout`` in s. The
        channel carries ``TIMEOUT(absolute)`` = ``max_call_seconds`` unless ``variables`` set it."""
        params = _params(
            endpoint=endpoint,
            app=app or self.app,
            appArgs=_joined("app_args", app_args) if app_args else None,
            callerId=caller_id,
            timeout=timeout,
            channelId=_maybe_checked(channel_id),
            otherChannelId=_maybe_checked(other_channel_id),
            originator=originator,
        )
        merged = self._leg_variables(variables)
        body = {"variables": merged} if merged else None
        return await self._parsed(Channel.from_json, "POST", "/channels", params, body)

    async def create_channel(
        self,
        endpoint: EndpointId | str,
        *,
        app: str | None = None,
        app_args: Sequence[str] = (),
        channel_id: ChannelId | None = None,
        other_channel_id: ChannelId | None = None,
        originator: ChannelId | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Create a channel without dialing it; :meth:`dial` starts the call."""
        params = _params(
            endpoint=endpoint,
            app=app or self.app,
            appArgs=_joined("app_args", app_args) if app_args else None,
            channelId=_maybe_checked(channel_id),
            otherChannelId=_maybe_checked(other_channel_id),
            originator=originator,
        )
        merged = self._leg_variables(variables)
        body = {"variables": merged} if merged else None
        return await self._parsed(Channel.from_json, "POST", "/channels/create", params, body)

    async def dial(
        self,
        channel_id: ChannelId,
        *,
        caller: ChannelId | None = None,
        timeout: int | None = None,  # noqa: ASYNC109  -- ARI's ring timeout (s), not ours
    ) -> None:
        params = _params(caller=caller, timeout=timeout)
        await self._call("POST", f"/channels/{_seg(channel_id)}/dial", params)

    async def transfer_progress(self, channel_id: ChannelId, state: str) -> None:
        """Tell the phone that asked for a transfer (REFER) how it goes: ``channel_progress``,
        ``channel_answered``, ``channel_unavailable``, ``channel_declined`` ... (Asterisk sends
        the phone a NOTIFY with the matching SIP status)."""
        params = _params(states=state)
        await self._call("POST", f"/channels/{_seg(channel_id)}/transfer_progress", params)

    async def continue_in_dialplan(
        self, channel_id: ChannelId, *, context: str, extension: str, priority: int = 1
    ) -> None:
        params = _params(context=context, extension=extension, priority=priority)
        await self._call("POST", f"/channels/{_seg(channel_id)}/continue", params)

    async def redirect(self, channel_id: ChannelId, endpoint: EndpointId | str) -> None:
        """Redirect (SIP 302) a channel not yet answered to another endpoint."""
        await self._call(
            "POST", f"/channels/{_seg(channel_id)}/redirect", _params(endpoint=endpoint)
        )

    async def get_variable(self, channel_id: ChannelId, name: str) -> str:
        """A channel variable or function (``HANGUPCAUSE``, ``CALLERID(num)``)."""

        def value(d: Any) -> str:
            return Fields(d, "Variable").text("value")

        path = f"/channels/{_seg(channel_id)}/variable"
        return await self._parsed(value, "GET", path, _params(variable=name))

    async def set_variable(self, channel_id: ChannelId, name: str, value: str) -> None:
        params = _params(variable=name, value=value)
        await self._call("POST", f"/channels/{_seg(channel_id)}/variable", params)

    async def get_channel(self, channel_id: ChannelId) -> Channel:
        return await self._parsed(Channel.from_json, "GET", f"/channels/{_seg(channel_id)}")

    async def list_channels(self) -> list[Channel]:
        return await self._parsed(_list_of(Channel.from_json), "GET", "/channels")

    # -- bridges ------------------------------------------------------------------------------

    async def create_bridge(
        self,
        *,
        bridge_type: str = "mixing",
        bridge_id: BridgeId | None = None,
        name: str | None = None,
    ) -> Bridge:
        """``bridge_type`` is ARI's comma list, e.g. ``"mixing"`` or ``"mixing,dtmf_events"``."""
        params = _params(type=bridge_type, bridgeId=_maybe_checked(bridge_id), name=name)
        return await self._parsed(Bridge.from_json, "POST", "/bridges", params)

    async def add_channel(self, bridge_id: BridgeId, channel_ids: Sequence[ChannelId]) -> None:
        if not channel_ids:
            raise ValueError("add_channel: channel_ids must name at least one channel")
        params = _params(channel=_joined("channel_ids", channel_ids))
        await self._call("POST", f"/bridges/{_seg(bridge_id)}/addChannel", params)

    async def remove_channel(
        self, bridge_id: BridgeId, channel_id: ChannelId, *, missing_ok: bool = False
    ) -> None:
        """With ``missing_ok`` the documented "gone" answers are success: 400 channel not found,
        404 bridge not found, 422 channel not in this bridge. 409 (bridge not in Stasis) is not."""
        gone = frozenset({400, 404, 422}) if missing_ok else frozenset()
        params = _params(channel=channel_id)
        await self._call("POST", f"/bridges/{_seg(bridge_id)}/removeChannel", params, gone=gone)

    async def destroy_bridge(self, bridge_id: BridgeId, *, missing_ok: bool = False) -> None:
        gone = frozenset({404}) if missing_ok else frozenset()
        await self._call("DELETE", f"/bridges/{_seg(bridge_id)}", gone=gone)

    async def start_bridge_moh(self, bridge_id: BridgeId, moh_class: str | None = None) -> None:
        """Music on hold to everyone in the bridge (``moh_class`` default: the "default" class)."""
        params = _params(mohClass=moh_class)
        await self._call("POST", f"/bridges/{_seg(bridge_id)}/moh", params)

    async def stop_bridge_moh(self, bridge_id: BridgeId, *, missing_ok: bool = False) -> None:
        """With ``missing_ok``, a bridge that is gone (404) is success."""
        gone = frozenset({404}) if missing_ok else frozenset()
        await self._call("DELETE", f"/bridges/{_seg(bridge_id)}/moh", gone=gone)

    async def get_bridge(self, bridge_id: BridgeId) -> Bridge:
        return await self._parsed(Bridge.from_json, "GET", f"/bridges/{_seg(bridge_id)}")

    async def list_bridges(self) -> list[Bridge]:
        return await self._parsed(_list_of(Bridge.from_json), "GET", "/bridges")

    # -- endpoints, application, system -------------------------------------------------------

    async def list_endpoints(self) -> list[Endpoint]:
        return await self._parsed(_list_of(Endpoint.from_json), "GET", "/endpoints")

    async def get_endpoint(self, tech: str, resource: str) -> Endpoint:
        path = f"/endpoints/{_seg(tech)}/{_seg(resource)}"
        return await self._parsed(Endpoint.from_json, "GET", path)

    async def get_application(self) -> Application:
        """Our app as Asterisk sees it: the channels still in Stasis after a reconnect."""
        path = f"/applications/{_seg(self.app)}"
        return await self._parsed(Application.from_json, "GET", path)

    async def subscribe(self, event_source: str) -> Application:
        """Also receive events of ``event_source`` (``endpoint:PJSIP``, ``channel:<id>``...)."""
        path = f"/applications/{_seg(self.app)}/subscription"
        params = _params(eventSource=event_source)
        return await self._parsed(Application.from_json, "POST", path, params)

    async def unsubscribe(self, event_source: str) -> Application:
        """Take back one :meth:`subscribe` of ``event_source``. Asterisk counts subscriptions:
        each subscribe needs its own unsubscribe before the events stop."""
        path = f"/applications/{_seg(self.app)}/subscription"
        params = _params(eventSource=event_source)
        return await self._parsed(Application.from_json, "DELETE", path, params)

    async def set_event_filter(
        self, *, allowed: Sequence[str] = (), disallowed: Sequence[str] = ()
    ) -> Application:
        """Only ``allowed`` event types reach this app (empty: all), never ``disallowed`` ones.
        Both lists are replaced, so a filter left by an earlier run cannot linger."""
        path = f"/applications/{_seg(self.app)}/eventFilter"
        body = {
            "allowed": [{"type": kind} for kind in allowed],
            "disallowed": [{"type": kind} for kind in disallowed],
        }
        return await self._parsed(Application.from_json, "PUT", path, None, body)

    def for_app(self, app: str) -> AriClient:
        """A client for another Stasis app name over the same transport (connection pool)."""
        return AriClient(self._transport, app, max_call_seconds=self.max_call_seconds)

    async def asterisk_info(self) -> AsteriskInfo:
        return await self._parsed(AsteriskInfo.from_json, "GET", "/asterisk/info")


def _list_of(parse: Callable[[Mapping[str, Any]], T]) -> Callable[[Any], list[T]]:
    def parse_list(data: Any) -> list[T]:
        if not isinstance(data, list):
            raise AriProtocolError("list answer", "(body)", "is not a JSON list")
        return [parse(item) for item in data]

    return parse_list


__all__ = ["AriClient"]
