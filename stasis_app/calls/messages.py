"""What flows in and out of the call machine: inputs, operations and notes (frozen dataclasses).

Inputs say what happened: a party answered or left, a key was pressed, a playback ended, a timer
fired, an operation failed, or someone asked for something (transfer, hold, shutdown).
Outputs are what the call task must do, in order: ARI operations, timers, facts to record (call
events from the catalogue), and notes for the worker (route a channel's events to this call, show
an IVR menu on the live view).
"""

from __future__ import annotations

from dataclasses import dataclass

from stasis_app.ari.ids import BridgeId, ChannelId, PlaybackId
from stasis_app.events.catalogue import Fact

# -- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartyAnswered:
    """A leg we originated answered (it entered Stasis)."""

    channel: ChannelId


@dataclass(frozen=True, slots=True)
class PartyGone:
    """A party's channel left Stasis or was destroyed; ``cause`` is Q.850 when Asterisk said."""

    channel: ChannelId
    cause: int | None = None


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    channel: ChannelId
    digit: str


@dataclass(frozen=True, slots=True)
class PlaybackDone:
    playback: PlaybackId


@dataclass(frozen=True, slots=True)
class TimerFired:
    token: int


@dataclass(frozen=True, slots=True)
class EndpointChecked:
    """The answer to :class:`CheckEndpoint`: ``online``, ``offline`` or ``missing``."""

    extension: str
    state: str


@dataclass(frozen=True, slots=True)
class OperationFailed:
    """Asterisk refused ``op`` (``status`` 0: it could not be reached at all)."""

    op: Operation
    status: int
    message: str = ""


@dataclass(frozen=True, slots=True)
class BlindTransfer:
    """Route ``moved`` to ``extension``; every other party of the call is released."""

    moved: ChannelId
    extension: str
    by: str  # api, phone


@dataclass(frozen=True, slots=True)
class AttendedTransfer:
    """``moved`` hears music while the party it talks to consults ``extension``."""

    transfer: str
    moved: ChannelId
    extension: str
    by: str


@dataclass(frozen=True, slots=True)
class CompleteTransfer:
    transfer: str


@dataclass(frozen=True, slots=True)
class CancelTransfer:
    transfer: str


@dataclass(frozen=True, slots=True)
class Hold:
    """``channel`` puts the party it talks to on hold."""

    channel: ChannelId


@dataclass(frozen=True, slots=True)
class Unhold:
    channel: ChannelId


@dataclass(frozen=True, slots=True)
class PhoneTransfer:
    """The phone on ``source`` pressed its blind-transfer button (SIP REFER) to ``extension``."""

    source: ChannelId
    extension: str


@dataclass(frozen=True, slots=True)
class GiveUp:
    """A phone's attended transfer merges this call into another: hand ``channel`` (still up)
    over to the other call, and end this one."""

    channel: ChannelId


@dataclass(frozen=True, slots=True)
class TakeOver:
    """A phone's attended transfer from ``source``: ``party`` (``extension``), handed over by the
    call ``source`` consulted it in, replaces ``source`` in this call."""

    source: ChannelId
    party: ChannelId
    extension: str
    transfer: str


@dataclass(frozen=True, slots=True)
class QueueOffer:
    """The queue offers this call to ``agents`` (ring each for ``ring_timeout`` seconds)."""

    queue: str
    agents: tuple[str, ...]
    ring_timeout: float


@dataclass(frozen=True, slots=True)
class QueueAnnounce:
    """Tell the waiting caller their position and estimated wait (None: do not say it)."""

    position: int | None
    wait_minutes: int | None


@dataclass(frozen=True, slots=True)
class QueueExpired:
    """The caller waited the queue's max_wait: send them where on_max_wait says."""


@dataclass(frozen=True, slots=True)
class QueueRefused:
    """The queue would not take the caller (``reason``: full, unknown-queue)."""

    queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class Shutdown:
    """The worker is stopping: end the call now with ``cause``."""

    cause: int


Request = (
    BlindTransfer
    | AttendedTransfer
    | CompleteTransfer
    | CancelTransfer
    | Hold
    | Unhold
    | GiveUp
    | TakeOver
)
Input = (
    PartyAnswered
    | PartyGone
    | DtmfReceived
    | PlaybackDone
    | TimerFired
    | EndpointChecked
    | OperationFailed
    | PhoneTransfer
    | QueueOffer
    | QueueAnnounce
    | QueueExpired
    | QueueRefused
    | Request
    | Shutdown
)

# -- operations: the call task performs these against Asterisk -------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    channel: ChannelId


@dataclass(frozen=True, slots=True)
class Ring:
    """Ringback for ``channel`` (in-band when it is already answered)."""

    channel: ChannelId


@dataclass(frozen=True, slots=True)
class StopRinging:
    channel: ChannelId


@dataclass(frozen=True, slots=True)
class PlayMedia:
    channel: ChannelId
    playback: PlaybackId
    prompts: tuple[str, ...]  # names under sounds/cti
    language: str | None


@dataclass(frozen=True, slots=True)
class StopMedia:
    playback: PlaybackId


@dataclass(frozen=True, slots=True)
class Originate:
    """Ring ``extension`` as channel ``leg``; it enters Stasis with ``args`` when answered."""

    leg: ChannelId
    extension: str
    caller_id: str
    args: tuple[str, ...]
    originator: ChannelId | None
    timeout: float | None = None  # seconds it rings; None: the worker's CTI_RING_TIMEOUT


@dataclass(frozen=True, slots=True)
class HangupChannel:
    channel: ChannelId
    cause: int


@dataclass(frozen=True, slots=True)
class CreateBridge:
    bridge: BridgeId
    holding: bool = False  # a holding bridge (callers wait, hear music) instead of mixing
    name: str | None = None  # None: cti-<call>


@dataclass(frozen=True, slots=True)
class AddToBridge:
    bridge: BridgeId
    channels: tuple[ChannelId, ...]


@dataclass(frozen=True, slots=True)
class RemoveFromBridge:
    bridge: BridgeId
    channel: ChannelId


@dataclass(frozen=True, slots=True)
class DestroyBridge:
    bridge: BridgeId


@dataclass(frozen=True, slots=True)
class StartMoh:
    """Music on hold to everyone in ``bridge`` (``music``: the class; None: default)."""

    bridge: BridgeId
    music: str | None = None


@dataclass(frozen=True, slots=True)
class StopMoh:
    bridge: BridgeId


@dataclass(frozen=True, slots=True)
class ContinueInDialplan:
    channel: ChannelId
    context: str
    extension: str


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """Tell the phone that asked for a transfer how it went (Asterisk NOTIFYs it): e.g.
    ``channel_answered`` (done: the phone hangs up its leg) or ``channel_declined``."""

    channel: ChannelId
    state: str


@dataclass(frozen=True, slots=True)
class CheckEndpoint:
    """Ask whether ``extension`` is a registered phone; the answer is :class:`EndpointChecked`."""

    extension: str


Operation = (
    Answer
    | Ring
    | StopRinging
    | PlayMedia
    | StopMedia
    | Originate
    | HangupChannel
    | CreateBridge
    | AddToBridge
    | RemoveFromBridge
    | DestroyBridge
    | StartMoh
    | StopMoh
    | ContinueInDialplan
    | TransferProgress
    | CheckEndpoint
)

# -- the rest of the outputs ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartTimer:
    token: int
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    token: int


@dataclass(frozen=True, slots=True)
class Record:
    """Record ``fact`` as a call event."""

    fact: Fact


@dataclass(frozen=True, slots=True)
class Bind:
    """Route ``channel``'s ARI events to this call (before it exists: legs are bound first)."""

    channel: ChannelId


@dataclass(frozen=True, slots=True)
class ShowMenu:
    """The live view's IVR menu for ``channel`` (None: it left the IVR)."""

    channel: ChannelId
    menu: str | None


@dataclass(frozen=True, slots=True)
class JoinQueue:
    """The anchor joins ``queue`` (``joined``: when it first did, for a call recovered after a
    restart). A refusal comes back as :class:`QueueRefused`."""

    queue: str
    joined: float | None = None


@dataclass(frozen=True, slots=True)
class LeaveQueue:
    """The anchor left its queue: ``abandoned``, ``overflowed`` (to ``to``) or ``dropped``."""

    outcome: str
    to: str = ""


@dataclass(frozen=True, slots=True)
class OfferMissed:
    """The offered ``agent`` did not take the call (its leg failed or gave up ringing)."""

    agent: str


@dataclass(frozen=True, slots=True)
class OfferTaken:
    """The offered ``agent`` answered on ``channel``: it talks to the caller now."""

    agent: str
    channel: ChannelId


QueueNote = JoinQueue | LeaveQueue | OfferMissed | OfferTaken
Output = Operation | StartTimer | CancelTimer | Record | Bind | ShowMenu | QueueNote
