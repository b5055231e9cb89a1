"""Transfers as a resource: ``POST /transfers``, ``GET``/``DELETE /transfers/{id}``, ``complete``.

A transfer names the party that is moved (``call``, a channel id), where it goes (``to``) and how
(``mode``). A blind one is completed when the answer is sent. An attended one is a conversation
in three steps: the moved party hears music while the party it was talking to (the initiator)
rings the target; once the target answers, ``complete`` connects the moved party to the target
and releases the initiator, while ``DELETE`` (cancel) hangs the target up and gives the initiator
the moved party back. Both answer the transfer as it is afterwards.
"""

from __future__ import annotations

import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Body, Path, Response, status

from stasis_app.calls.registry import LiveRegistry
from stasis_app.errors import ChannelNotFound
from stasis_app.http.models import ID_PATTERN, NewTransfer, TransferOut
from stasis_app.http.routes import (
    AUTH_ERRORS,
    CONFLICT,
    NO_CHANNEL,
    NO_EXTENSION,
    UNAVAILABLE,
    error_responses,
)
from stasis_app.http.seams import CallControl

TransferIdPath = Annotated[
    str,
    Path(pattern=ID_PATTERN, max_length=128, description="A transfer id from POST /transfers"),
]
NO_TRANSFER = "transfer-not-found: no transfer with that id (live or recent)"


def transfer_router(registry: LiveRegistry, control: CallControl) -> APIRouter:
    router = APIRouter(tags=["transfers"], responses=AUTH_ERRORS)

    @router.post(
        "/transfers",
        response_model=TransferOut,
        status_code=status.HTTP_201_CREATED,
        responses=error_responses(
            {
                404: f"{NO_CHANNEL}; {NO_EXTENSION}",
                409: f"{UNAVAILABLE}; {CONFLICT} (e.g. the party talks to no one)",
            }
        ),
    )
    async def start_transfer(
        request: Annotated[NewTransfer, Body()], response: Response
    ) -> TransferOut:
        """Transfer the party on channel ``call`` to extension ``to``. ``blind`` (the default)
        answers a completed transfer; ``attended`` answers it ringing: follow it with
        ``GET /transfers/{id}``, then complete or cancel it. ``Location`` names the transfer."""
        if registry.channel(request.call) is None:
            raise ChannelNotFound(request.call)
        view = await control.start_transfer(request.call, request.to, request.mode)
        response.headers["Location"] = f"/transfers/{urllib.parse.quote(view.id, safe='')}"
        return TransferOut.model_validate(view)

    @router.get(
        "/transfers/{transfer_id}",
        response_model=TransferOut,
        responses=error_responses({404: NO_TRANSFER}),
    )
    async def get_transfer(transfer_id: TransferIdPath) -> TransferOut:
        """One transfer: ringing, answered, completed or cancelled (with the reason)."""
        return TransferOut.model_validate(control.get_transfer(transfer_id))

    @router.post(
        "/transfers/{transfer_id}/complete",
        response_model=TransferOut,
        responses=error_responses(
            {404: NO_TRANSFER, 409: f"{CONFLICT}: the target has not answered, or it has ended"}
        ),
    )
    async def complete_transfer(transfer_id: TransferIdPath) -> TransferOut:
        """Connect the moved party to the answered target and release the initiator."""
        return TransferOut.model_validate(await control.complete_transfer(transfer_id))

    @router.delete(
        "/transfers/{transfer_id}",
        response_model=TransferOut,
        responses=error_responses({404: NO_TRANSFER, 409: f"{CONFLICT}: it has already ended"}),
    )
    async def cancel_transfer(transfer_id: TransferIdPath) -> TransferOut:
        """Cancel: hang up the target (ringing or answered) and give the initiator the moved
        party back. The transfer stays readable, ``cancelled``."""
        return TransferOut.model_validate(await control.cancel_transfer(transfer_id))

    return router


__all__ = ["transfer_router"]
