"""Request and response schemas of the REST API (pydantic), and the input rules they enforce.

Requests are strict: no type coercion (``1000`` is not the extension ``"1000"``), no unknown
fields, every string bounded. Responses mirror the registry's frozen views field for field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from stasis_app.calls.views import PartyState, Role, TransferState
from stasis_app.queues.model import Strategy
from stasis_app.queues.views import AgentState

EXTENSION_PATTERN = r"^[0-9]{2,10}$"
# ARI ids ("1732614000.123"), ours ("1732614000.123-leg1", "…-bridge") and UUIDs: no slashes.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"

Extension = Annotated[
    str,
    StringConstraints(pattern=EXTENSION_PATTERN, min_length=2, max_length=10),
    Field(description="An internal extension: 2 to 10 digits", examples=["2000"]),
]


ChannelIdField = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, max_length=128),
    Field(description="An ARI channel id", examples=["1732614000.123"]),
]
TransferMode = Literal["blind", "attended"]

QUEUE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
QueueName = Annotated[
    str,
    StringConstraints(pattern=QUEUE_PATTERN, min_length=1, max_length=64),
    Field(description="A queue's name from the queues file", examples=["sales"]),
]
# Printable: no control characters (C0, DEL, C1) nor line breaks, and no space at either end, so
# a reason prints on one line of `cti agents` as it was typed. Korean is as welcome as ASCII.
_EDGE = r"[^\x00-\x20\x7f-\x9f\u2028\u2029]"
_INNER = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
REASON_PATTERN = rf"^{_EDGE}(?:{_INNER}{{0,62}}{_EDGE})?$"
_REASON = re.compile(REASON_PATTERN)


def _printable(reason: str) -> str:
    # The pattern is checked here rather than by pydantic, whose message would quote it.
    if not _REASON.fullmatch(reason):
        raise ValueError("must be printable, on one line, without a space at either end")
    return reason


PauseReason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_printable),
    Field(
        description="1 to 64 printable characters, e.g. lunch",
        examples=["lunch"],
        json_schema_extra={"pattern": REASON_PATTERN},
    ),
]


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CallRequest(_Request):
    """Click-to-dial: ring ``from_extension`` first; when it answers, call ``to_extension``."""

    from_extension: Extension
    to_extension: Extension


class TransferRequest(_Request):
    """Blind transfer of the channel's call to ``extension``."""

    extension: Extension


class NewTransfer(_Request):
    """Move the party on channel ``call`` to extension ``to``.

    ``blind``: it is routed there at once and the others are released. ``attended``: it hears
    music while the party it was talking to (the initiator) rings ``to``; then complete or cancel.
    """

    call: ChannelIdField = Field(description="The channel of the party that is moved")
    to: Extension
    mode: TransferMode = "blind"


class AgentQueues(_Request):
    """The queues to log in to or out of; absent or null: every queue that applies."""

    queues: Annotated[list[QueueName], Field(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="Login: absent means every queue that lists the extension as an agent. "
        "Logout: absent means every queue it is logged in to.",
    )


class PauseRequest(_Request):
    """Why the agent takes no calls for now (shown in `cti agents` and the queue views)."""

    reason: PauseReason | None = None


class CallCreated(_Response):
    call_id: str


class ChannelOut(_Response):
    id: str
    name: str
    state: str = Field(description="Asterisk's channel state: Down, Ring, Ringing, Up, Busy ...")
    caller_number: str
    caller_name: str
    connected_number: str
    connected_name: str
    dialed: str = Field(description="The extension this channel was dialed at")
    call_id: str = Field(description="The call this channel belongs to")
    bridge_id: str | None
    created: datetime
    answered: datetime | None
    menu: str | None = Field(description="The IVR menu the caller is in, if any")
    duration: float = Field(ge=0, description="Seconds since the channel was created")


class ChannelList(_Response):
    channels: list[ChannelOut]


class BridgeOut(_Response):
    id: str
    name: str
    bridge_type: str
    technology: str
    channels: list[str]
    created: datetime | None


class BridgeList(_Response):
    bridges: list[BridgeOut]


class ContactOut(_Response):
    uri: str
    status: str = Field(description="Reachable, Unreachable, Unknown or NonQualified")
    rtt_ms: float | None = Field(description="Last qualify round trip, milliseconds")


class EndpointOut(_Response):
    id: str = Field(examples=["PJSIP/2000"])
    technology: str
    resource: str
    state: str = Field(description="online (registered), offline or unknown")
    channel_ids: list[str]
    contacts: list[ContactOut]


class EndpointList(_Response):
    endpoints: list[EndpointOut]


class ProblemOut(_Response):
    code: str = Field(
        description="ari-disconnected, store-failing, task-dead (blocking); "
        "endpoints-disconnected, shipping-stopped, shipping-backing-off, store-retrying, "
        "task-dead, task-restarting (not)"
    )
    message: str
    blocking: bool = Field(description="true: the worker cannot serve calls (503)")


class ShippingOut(_Response):
    """The Elasticsearch sink; counts of the store's outbox as the sink last read them."""

    state: str = Field(
        description="starting, running, backing-off, stopped-auth, stopped-no-template or stopped"
    )
    shipped: int = Field(ge=0, description="Events delivered by this process")
    pending: int = Field(ge=0, description="Events waiting to be shipped")
    dead_letters: int = Field(ge=0, description="Events refused for their content")


class StoreOut(_Response):
    writer_alive: bool
    backlog: int = Field(ge=0, description="Items queued for the history writer thread")
    write_failures: int = Field(ge=0, description="Failed write transactions since start")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="unavailable (HTTP 503): a blocking problem, the worker cannot serve calls; "
        "degraded: calls are served but something needs a look; ok: nothing to report"
    )
    problems: list[ProblemOut] = Field(
        default_factory=list, description="Why the status is not ok, blocking ones first"
    )
    ari_connected: bool
    reconnects: int = Field(ge=0)
    asterisk_version: str | None
    asterisk_started: datetime | None
    asterisk_uptime: float | None = Field(description="Seconds since Asterisk started")
    version: str = Field(description="The worker's version")
    loop_lag_max_ms: float = Field(ge=0, description="Worst event-loop lag since start (ms)")
    loop_lag_recent_p99_ms: float = Field(ge=0, description="Loop lag p99, last ~30 s (ms)")
    loop_lag_recent_max_ms: float = Field(ge=0, description="Worst loop lag, last ~30 s (ms)")
    store: StoreOut | None = Field(default=None, description="The call history writer")
    shipping: ShippingOut | None = Field(
        default=None, description="Elasticsearch shipping; null when CTI_ELASTICSEARCH_URL is unset"
    )


class LiveOut(BaseModel):
    status: Literal["alive"] = "alive"


class PartyOut(_Response):
    channel_id: str
    extension: str
    role: Role = Field(description="caller, callee, or target (of an attended transfer)")
    state: PartyState = Field(
        description="ringing, up (answered, alone), talking, holding (put the others on hold, "
        "or consults a transfer target), held (hears music)"
    )


class TransferOut(_Response):
    id: str
    call_id: str
    mode: TransferMode
    state: TransferState = Field(
        description="ringing (the target), answered (initiator and target talk), completed, "
        "cancelled (the initiator has the moved party back; reason says why)"
    )
    moved: str = Field(description="The channel of the party that is moved")
    initiator: str | None = Field(description="The channel that consults the target")
    extension: str = Field(description="The target's extension")
    target: str | None = Field(description="The target's channel, once it is being rung")
    reason: str | None = Field(description="Why it was cancelled: cancelled, busy, no-answer ...")


class LiveCallOut(_Response):
    id: str
    caller_number: str
    caller_name: str
    dialed: str = Field(description="The extension the caller dialed")
    stage: str = Field(description="ivr, dialing, bridged, holding, consulting, echo ...")
    started: datetime
    duration: float = Field(ge=0, description="Seconds since the call started")
    bridge_id: str | None
    parties: list[PartyOut]
    transfer: TransferOut | None = Field(description="The attended transfer in progress, if any")
    ivr_path: list[str] = Field(
        description="The IVR menus and options the caller went through, e.g. main, main:1"
    )
    queue: str | None = Field(description="The queue the caller came through, if any")


class LiveCallList(BaseModel):
    calls: list[LiveCallOut]


class AgentOut(_Response):
    extension: str
    state: AgentState = Field(
        description="logged-out, available, ringing (offered a queue call), on-call, wrap-up "
        "(after a queue call, for the queue's wrap-up time), paused"
    )
    since: datetime = Field(description="When it entered its state")
    seconds_in_state: float = Field(ge=0)
    queues: list[str] = Field(description="The queues it is logged in to (static and dynamic)")
    pause_reason: str | None
    reachable: bool = Field(
        description="false: its phone is not registered, or it is on a call outside the "
        "queues; it is not offered calls"
    )
    calls_today: int = Field(ge=0, description="Queue calls it answered today")
    call_id: str | None = Field(description="The call it is ringing for or talking on")


class AgentList(BaseModel):
    agents: list[AgentOut]


class WaitingOut(_Response):
    call_id: str
    caller_number: str
    caller_name: str
    position: int = Field(ge=1, description="1 is the next caller to be served")
    joined: datetime
    waiting_seconds: float = Field(ge=0)
    offered_to: list[str] = Field(description="The agents whose phones ring for it now")


class QueueStatsOut(_Response):
    """Today's figures (since local midnight); definitions in docs/queues.md."""

    date: str = Field(description="YYYY-MM-DD, local", examples=["2024-05-01"])
    offered: int = Field(ge=0, description="Callers who joined")
    answered: int = Field(ge=0)
    abandoned: int = Field(ge=0, description="Hung up while waiting")
    overflowed: int = Field(ge=0, description="Sent on by max_wait or max_callers")
    answered_within_sl: int = Field(ge=0, description="Answered within the service level")
    service_level_pct: float | None = Field(
        description="100 * answered_within_sl / (answered + abandoned + overflowed); "
        "null before any caller was served"
    )
    service_level_threshold: float = Field(description="Seconds: the service level's limit")
    average_speed_of_answer: float | None = Field(description="Mean wait of answered callers, s")
    longest_wait: float = Field(ge=0, description="Longest wait today (waiting now included), s")
    average_handle_time: float | None = Field(description="Mean talk + wrap-up time, s")


class QueueOut(_Response):
    name: str
    strategy: Strategy
    waiting: list[WaitingOut] = Field(description="Callers waiting, next to be served first")
    agents: list[AgentOut] = Field(description="Its members and agents, logged in or not")
    today: QueueStatsOut


class QueueList(BaseModel):
    queues: list[QueueOut]


class CallSummaryOut(_Response):
    call_id: str
    started: float
    ended: float | None
    caller: str | None
    dialed: str | None
    callee: str | None
    disposition: str | None = Field(description="None while the call is in progress")
    cause: int | None
    duration: float | None
    ivr_path: list[str]


class CallList(BaseModel):
    calls: list[CallSummaryOut]


class TimelineEventOut(_Response):
    event_id: str
    at: float
    action: str
    state: str
    doc: dict[str, Any]


class DeadLetterOut(_Response):
    event_id: str
    call_id: str
    action: str
    reason: str = Field(description="Why Elasticsearch refused the document")
    at: float = Field(description="When it was refused (Unix seconds)")


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetterOut]


class CallDetailOut(BaseModel):
    summary: CallSummaryOut
    events: list[TimelineEventOut]


class ErrorBody(BaseModel):
    code: str = Field(examples=["channel-not-found"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    """Every error answer has this shape; ``code`` is stable, ``message`` is for people."""

    error: ErrorBody


__all__ = [
    "EXTENSION_PATTERN",
    "ID_PATTERN",
    "QUEUE_PATTERN",
    "REASON_PATTERN",
    "AgentList",
    "AgentOut",
    "AgentQueues",
    "BridgeList",
    "BridgeOut",
    "CallCreated",
    "CallDetailOut",
    "CallList",
    "CallRequest",
    "CallSummaryOut",
    "ChannelIdField",
    "ChannelList",
    "ChannelOut",
    "ContactOut",
    "DeadLetterList",
    "DeadLetterOut",
    "EndpointList",
    "EndpointOut",
    "ErrorBody",
    "ErrorOut",
    "Extension",
    "HealthOut",
    "LiveCallList",
    "LiveCallOut",
    "LiveOut",
    "NewTransfer",
    "PartyOut",
    "PauseReason",
    "PauseRequest",
    "ProblemOut",
    "QueueList",
    "QueueName",
    "QueueOut",
    "QueueStatsOut",
    "ShippingOut",
    "StoreOut",
    "TimelineEventOut",
    "TransferMode",
    "TransferOut",
    "TransferRequest",
    "WaitingOut",
]
