"""Call control for the REST API: click-to-dial, hangup and blind transfer (``CallControl``).

Control never touches a call's state directly: it asks Asterisk (originate, hangup) or puts a
request on the owning call's queue, so the call task stays the only place that changes a call.
"""

from __future__ import annotations

import uuid

from stasis_app.ari import AriClient
from stasis_app.ari.ids import ChannelId
from stasis_app.calls import causes
from stasis_app.calls.call import CLICK_ARG, TransferRequest
from stasis_app.calls.dispatcher import Dispatcher
from stasis_app.calls.registry import LiveRegistry
from stasis_app.calls.routing import Nowhere, ToExtension, route
from stasis_app.errors import (
    AriNotFound,
    ChannelNotFound,
    ExtensionNotFound,
    ExtensionUnavailable,
)


class WorkerControl:
    def __init__(
        self,
        client: AriClient,
        dispatcher: Dispatcher,
        registry: LiveRegistry,
        *,
        ring_timeout: float,
    ) -> None:
        self._client = client
        self._dispatcher = dispatcher
        self._registry = registry
        self._ring_timeout = ring_timeout

    async def _require_phone(self, extension: str) -> None:
        """The extension must be a PJSIP endpoint with a registered contact."""
        try:
            endpoint = await self._client.get_endpoint("PJSIP", extension)
        except AriNotFound:
            raise ExtensionNotFound(extension) from None
        if endpoint.state != "online":
            raise ExtensionUnavailable(extension)

    def _require_destination(self, extension: str) -> None:
        if isinstance(route(extension), Nowhere):
            raise ExtensionNotFound(extension)

    async def click_to_dial(self, from_extension: str, to_extension: str) -> str:
        """Ring ``from_extension``; when it answers, the call routes to ``to_extension`` exactly
        as if that phone had dialed it (so 500 and 7777 work too)."""
        if not isinstance(route(from_extension), ToExtension):
            raise ExtensionNotFound(from_extension)
        self._require_destination(to_extension)
        await self._require_phone(from_extension)
        if isinstance(route(to_extension), ToExtension):
            await self._require_phone(to_extension)
        channel = ChannelId(f"click-{uuid.uuid4().hex[:16]}")
        await self._client.originate(
            f"PJSIP/{from_extension}",
            app_args=(CLICK_ARG, to_extension),
            # The far end sees the agent's own number, as if the agent had dialed.
            caller_id=f'"Extension {from_extension}" <{from_extension}>',
            timeout=round(self._ring_timeout),
            channel_id=channel,
        )
        return str(channel)

    async def hangup(self, channel_id: str) -> None:
        channel = ChannelId(channel_id)
        if self._registry.channel(channel) is None and self._dispatcher.owner(channel) is None:
            raise ChannelNotFound(channel_id)
        try:
            await self._client.hangup(channel, reason_code=causes.NORMAL)
        except AriNotFound:
            raise ChannelNotFound(channel_id) from None

    async def transfer(self, channel_id: str, extension: str) -> None:
        """Move the call that ``channel_id`` belongs to: its caller goes to ``extension`` and
        whatever it was connected to (an agent's leg, the IVR) is ended. Given an agent's leg,
        it is the party the agent talks to that moves, which is what an agent's "transfer"
        button means."""
        call = self._dispatcher.owner(ChannelId(channel_id))
        if call is None:
            raise ChannelNotFound(channel_id)
        self._require_destination(extension)
        if isinstance(route(extension), ToExtension):
            await self._require_phone(extension)
        call.deliver(TransferRequest(extension))
