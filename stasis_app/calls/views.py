"""Frozen snapshots of live calls and transfers, for the REST API (pure data, no behaviour).

The call machine builds them on request (``CallMachine.view()``); a route can neither change a
call through them nor see one change under its feet.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal


class Role(enum.Enum):
    CALLER = "caller"  # the channel that started the call (or, for click-to-dial, the agent)
    CALLEE = "callee"  # a phone the call rang and connected
    TARGET = "target"  # the phone an attended transfer consults


class PartyState(enum.Enum):
    RINGING = "ringing"  # being rung, not answered yet
    UP = "up"  # answered, not talking to another party (IVR, prompts, ringback)
    TALKING = "talking"  # in a bridge with another party
    HOLDING = "holding"  # put the others on hold (or is consulting a transfer target)
    HELD = "held"  # on hold: hears music


class TransferState(enum.Enum):
    RINGING = "ringing"  # the target is being rung; the moved party hears music
    ANSWERED = "answered"  # initiator and target talk; the moved party hears music
    COMPLETED = "completed"  # the moved party and the target talk; the initiator was released
    CANCELLED = "cancelled"  # the initiator has the moved party back (``reason`` says why)


@dataclass(frozen=True, slots=True)
class PartyView:
    channel_id: str
    extension: str
    role: Role
    state: PartyState


@dataclass(frozen=True, slots=True)
class TransferView:
    id: str
    call_id: str
    mode: Literal["blind", "attended"]  # blind transfers are COMPLETED when created
    state: TransferState
    moved: str  # channel id of the party that is moved
    initiator: str | None  # channel id of the party that consults the target
    extension: str  # the target's extension
    target: str | None  # the target's channel id, once it is being rung
    # Why it was cancelled: cancelled, busy, no-answer, unavailable, unknown-extension,
    # target-hangup, moved-hangup, call-ended (or, for a blind one, moved-hangup: the moved
    # party was gone by the time it was routed).
    reason: str | None


@dataclass(frozen=True, slots=True)
class LiveCallView:
    id: str
    caller_number: str
    caller_name: str
    dialed: str
    stage: str
    started: float  # epoch seconds
    parties: tuple[PartyView, ...]
    bridge_id: str | None
    transfer: TransferView | None
    ivr_path: tuple[str, ...] = ()  # the menus and options the caller went through
    queue: str | None = None  # the queue the caller came through (waiting in it, or served)


__all__ = ["LiveCallView", "PartyState", "PartyView", "Role", "TransferState", "TransferView"]
