"""Call control for the REST API (``CallControl``): click-to-dial, hangup, transfers, hold.

Control never touches a call's state directly: it asks Asterisk (originate, hangup) or hands a
request to the owning call's task and waits until the call has acted on it, so the call task stays
the only place that changes a call. Checks that need Asterisk (is that phone registered?) are made
here, before the request reaches the call, so a client gets a 404/409 at once.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

from stasis_app.ari import AriClient
from stasis_app.ari.ids import ChannelId
from stasis_app.calls import causes, naming
from stasis_app.calls.call import LEG_VARIABLES, Call
from stasis_app.calls.dispatcher import Dispatcher
from stasis_app.calls.messages import (
    AttendedTransfer,
    BlindTransfer,
    CancelTransfer,
    CompleteTransfer,
    Hold,
    Unhold,
)
from stasis_app.calls.registry import LiveRegistry
from stasis_app.calls.routing import Nowhere, ToExtension, route
from stasis_app.calls.views import LiveCallView, TransferState, TransferView
from stasis_app.errors import (
    AriNotFound,
    CallStateConflict,
    ChannelNotFound,
    ExtensionNotFound,
    ExtensionUnavailable,
    InvalidRequest,
    TransferNotFound,
)

# Ended transfers stay readable (GET /transfers/{id}) for this many newer ones.
_KEEP_TRANSFERS = 1000


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
        # transfer id -> the call that owns it, or the final view of a blind transfer.
        self._transfers: OrderedDict[str, Call | TransferView] = OrderedDict()

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

    def _owner(self, channel_id: str) -> Call:
        call = self._dispatcher.owner(ChannelId(channel_id))
        if call is None or ChannelId(channel_id) not in call.machine.parties:
            raise ChannelNotFound(channel_id)
        return call

    # ------------------------------------------------------------------------ click, hangup
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
            app_args=(naming.CLICK_ARG, to_extension),
            # The far end sees the agent's own number, as if the agent had dialed.
            caller_id=f'"Extension {from_extension}" <{from_extension}>',
            timeout=round(self._ring_timeout),
            channel_id=channel,
            variables=LEG_VARIABLES,
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

    # ----------------------------------------------------------------------------- transfers
    async def transfer(self, channel_id: str, extension: str) -> None:
        """Blind-transfer the call ``channel_id`` belongs to. Given a leg we dialed (an agent's
        phone), it is the party the agent talks to that moves, which is what an agent's
        "transfer" button means; given the caller, the caller moves."""
        call = self._owner(channel_id)
        channel = ChannelId(channel_id)
        moved = channel
        if naming.is_leg(channel_id):
            moved = call.machine.other_talking(channel) or channel
        await self._blind(call, moved, extension)

    async def start_transfer(self, channel_id: str, extension: str, mode: str) -> TransferView:
        call = self._owner(channel_id)
        moved = ChannelId(channel_id)
        if mode == "blind":
            await self._blind(call, moved, extension)
            party = call.machine.parties.get(moved)
            view = TransferView(
                id=uuid.uuid4().hex[:16],
                call_id=call.id,
                mode="blind",
                state=TransferState.COMPLETED,
                moved=moved,
                initiator=None,
                extension=extension,
                target=None,
                reason=None if party is not None else "moved-hangup",
            )
            self._keep(view.id, view)
            return view
        if mode != "attended":
            raise InvalidRequest("body.mode", f"must be 'blind' or 'attended', got {mode!r}")
        if not isinstance(route(extension), ToExtension):
            raise ExtensionNotFound(extension)
        transfer_id = uuid.uuid4().hex[:16]
        await call.ask(AttendedTransfer(transfer_id, moved, extension, "api"))
        self._keep(transfer_id, call)
        return self.get_transfer(transfer_id)

    def get_transfer(self, transfer_id: str) -> TransferView:
        found = self._transfers.get(transfer_id)
        view = found.transfer_view(transfer_id) if isinstance(found, Call) else found
        if view is None:
            raise TransferNotFound(transfer_id)
        return view

    async def complete_transfer(self, transfer_id: str) -> TransferView:
        await self._transfer_call(transfer_id).ask(CompleteTransfer(transfer_id))
        return self.get_transfer(transfer_id)

    async def cancel_transfer(self, transfer_id: str) -> TransferView:
        await self._transfer_call(transfer_id).ask(CancelTransfer(transfer_id))
        return self.get_transfer(transfer_id)

    def _transfer_call(self, transfer_id: str) -> Call:
        found = self._transfers.get(transfer_id)
        if found is None:
            raise TransferNotFound(transfer_id)
        if not isinstance(found, Call):
            # A blind transfer is over the moment it is made: nothing to complete or cancel.
            raise CallStateConflict(f"transfer {transfer_id}", f"is {found.state.value}")
        return found

    async def _blind(self, call: Call, moved: ChannelId, extension: str) -> None:
        self._require_destination(extension)
        if isinstance(route(extension), ToExtension):
            await self._require_phone(extension)
        await call.ask(BlindTransfer(moved, extension, "api"))

    def _keep(self, transfer_id: str, owner: Call | TransferView) -> None:
        self._transfers[transfer_id] = owner
        while len(self._transfers) > _KEEP_TRANSFERS:
            self._transfers.popitem(last=False)

    # ---------------------------------------------------------------------------------- hold
    async def hold(self, channel_id: str) -> None:
        await self._owner(channel_id).ask(Hold(ChannelId(channel_id)))

    async def unhold(self, channel_id: str) -> None:
        await self._owner(channel_id).ask(Unhold(ChannelId(channel_id)))

    # ------------------------------------------------------------------------------ queries
    def live_calls(self) -> list[LiveCallView]:
        views = [call.view() for call in self._dispatcher.calls if not call.machine.finished]
        return sorted(views, key=lambda v: (v.started, v.id))
