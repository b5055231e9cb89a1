"""What the REST API needs from the worker, as Protocols, so routes are testable without Asterisk.

The worker implements :class:`CallControl` (it owns the ARI client and the calls) and
:class:`WorkerStatus`, its queue service :class:`QueueControl`; the call store implements
:class:`CallHistory`. Errors a client can act on are raised as
:class:`~stasis_app.errors.ApiError` subclasses; :class:`~stasis_app.errors.AriError` means
Asterisk failed us and becomes a 502/503.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stasis_app.calls.views import LiveCallView, TransferView
    from stasis_app.events.elastic import SinkStatus
    from stasis_app.events.store import CallDetail, CallSummary, DeadLetter, StoreStatus
    from stasis_app.health import HealthFacts
    from stasis_app.histogram import HistogramSnapshot
    from stasis_app.lagmonitor import LoopLag
    from stasis_app.queues.views import AgentView, QueueView
    from stasis_app.supervisor import TaskState


class CallControl(Protocol):
    async def click_to_dial(self, from_extension: str, to_extension: str) -> str:
        """Ring ``from_extension``; when it answers, connect it to ``to_extension``.

        Returns the new call's id. Raises ExtensionNotFound / ExtensionUnavailable.
        """

    async def hangup(self, channel_id: str) -> None:
        """Hang the channel up (its call ends as usual). Raises ChannelNotFound."""

    async def transfer(self, channel_id: str, extension: str) -> None:
        """Blind-transfer the channel's call to ``extension``.

        Given a leg the worker dialed (an agent's phone), the party it talks to moves (an
        agent's "transfer" button); given the caller's channel, the caller moves.
        Raises ChannelNotFound / ExtensionNotFound / ExtensionUnavailable.
        """

    async def start_transfer(self, channel_id: str, extension: str, mode: str) -> TransferView:
        """Move the party ``channel_id`` to ``extension``; ``mode`` is "blind" or "attended".

        Blind: the party is routed to ``extension`` at once and the others are released; the
        returned view is already COMPLETED (ExtensionUnavailable when that phone is not
        registered). Attended: the party hears music, the party it was talking to (the
        initiator) rings ``extension``; complete or cancel later. A target that is not
        registered ends the transfer at once: the view comes back CANCELLED with the reason
        "unavailable", and the initiator has the party back (every outcome is a call event).
        Raises ChannelNotFound / ExtensionNotFound / ExtensionUnavailable / CallStateConflict.
        """

    def get_transfer(self, transfer_id: str) -> TransferView:
        """Raises TransferNotFound."""

    async def complete_transfer(self, transfer_id: str) -> TransferView:
        """Bridge the moved party with the target and release the initiator.

        Raises TransferNotFound / CallStateConflict (not answered yet, or already ended).
        """

    async def cancel_transfer(self, transfer_id: str) -> TransferView:
        """Hang up the target (ringing or answered) and give the initiator the moved party back.

        Raises TransferNotFound / CallStateConflict (already ended).
        """

    async def hold(self, channel_id: str) -> None:
        """``channel_id`` puts the party it talks to on hold: that party hears music.

        Raises ChannelNotFound / CallStateConflict (not talking to anyone, already holding).
        """

    async def unhold(self, channel_id: str) -> None:
        """Take the call back from hold. Raises ChannelNotFound / CallStateConflict."""

    def live_calls(self) -> list[LiveCallView]:
        """Every live call with its parties, oldest first."""


class QueueControl(Protocol):
    """Queues and agents (the worker's ACD). Every method is synchronous: the ACD is plain state
    on the event loop, so a request changes it at once, between two ARI events."""

    def queues(self) -> list[QueueView]:
        """Every queue, in the order of the queues file."""

    def queue(self, name: str) -> QueueView:
        """Raises QueueNotFound."""

    def agents(self) -> list[AgentView]:
        """Every extension any queue names (members and agents), by extension."""

    def login(self, extension: str, queues: Sequence[str] | None) -> AgentView:
        """Log ``extension`` in to ``queues`` (None: every queue that lists it as an agent).

        Raises AgentNotFound / QueueNotFound / AgentStateConflict (a queue does not list it).
        """

    def logout(self, extension: str, queues: Sequence[str] | None) -> AgentView:
        """Log out of ``queues`` (None: every queue it is logged in to dynamically). Static
        members cannot log out (pause them instead). Raises AgentNotFound / QueueNotFound /
        AgentStateConflict. No new call is offered to it; a phone already ringing may still be
        answered, and a call it is on goes on."""

    def pause(self, extension: str, reason: str | None) -> AgentView:
        """Stop offering calls to ``extension`` (in every queue). Pausing again only changes the
        reason. Raises AgentNotFound / AgentStateConflict (logged out)."""

    def unpause(self, extension: str) -> AgentView:
        """Raises AgentNotFound / AgentStateConflict (not paused)."""


class WorkerStatus(Protocol):
    """What /health and /metrics read, at request time. Every member must be cheap and free of
    I/O: they run on the loop that reads ARI, at every probe and every scrape."""

    @property
    def ari_connected(self) -> bool: ...
    @property
    def reconnects(self) -> int: ...
    @property
    def asterisk_version(self) -> str | None: ...
    @property
    def asterisk_started(self) -> datetime | None: ...
    @property
    def version(self) -> str: ...
    @property
    def loop_lag(self) -> LoopLag: ...
    @property
    def health_facts(self) -> HealthFacts: ...
    @property
    def store_status(self) -> StoreStatus: ...
    @property
    def sink_status(self) -> SinkStatus | None:
        """None when no Elasticsearch sink is configured."""

    @property
    def endpoint_reconnects(self) -> int: ...
    @property
    def active_calls(self) -> int: ...
    @property
    def live_channels(self) -> int: ...
    @property
    def calls_ended(self) -> Mapping[str, int]:
        """Calls ended since start, by disposition."""

    @property
    def options_chosen(self) -> Mapping[tuple[str, str], int]:
        """IVR options chosen since start, by (menu, digits)."""

    @property
    def ari_latency(self) -> Mapping[str, HistogramSnapshot]:
        """ARI REST request durations (seconds) by HTTP method."""

    @property
    def task_states(self) -> Sequence[TaskState]:
        """The supervised background tasks: phase and restarts."""


class CallHistory(Protocol):
    """The call store's read side (blocking: the API calls it through ``asyncio.to_thread``)."""

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
    ) -> Sequence[CallSummary]: ...

    def dead_letters(self, limit: int = 100) -> Sequence[DeadLetter]: ...

    def get_call(self, call_id: str) -> CallDetail:
        """Raises :class:`~stasis_app.errors.CallNotFound`."""
        ...


__all__ = ["CallControl", "CallHistory", "QueueControl", "WorkerStatus"]
