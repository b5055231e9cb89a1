"""How the worker names what it creates in Asterisk, in one place (pure).

Every id the worker chooses is derived from the call id (the id of the channel that started the
call), which is what lets recovery find a call's channels and bridges again after a restart:

* outbound legs: ``<call>-leg<n>``; they enter Stasis with the args ``("dialed", <call>)``;
* the call's bridge: ``<call>-bridge``, and ``<call>-bridge<n>`` for the n-th one it makes (a
  transfer or a queue answer makes a new one: a fresh id, because Asterisk answers the DELETE of
  the old bridge before it has let go of its id, and a CREATE of the same id then fails 409);
  an attended transfer's consultation: ``<call>-consult<n>``;
* a caller waiting in a queue: the holding bridge ``<call>-queue<n>`` named ``cti-queue:<queue>``
  (its creation time is when the caller joined: recovery restores the queue's order from it);
* playbacks: ``<call>-p<token>`` (IVR prompts; ``<call>-s<n>p<token>`` in the call's n-th visit
  of the IVR) and ``<call>-say<n>`` (the call's own prompts);
* click-to-dial: the first leg is ``click-<random>`` and enters Stasis with ``("click", <to>)``.
"""

from __future__ import annotations

from typing import Final

from stasis_app.ari.ids import BridgeId, ChannelId, PlaybackId

LEG_MARK: Final = "-leg"
LEG_ARG: Final = "dialed"  # Stasis args of a leg we originated: ("dialed", call_id)
CLICK_ARG: Final = "click"  # Stasis args of a click-to-dial first leg: ("click", <to extension>)
BRIDGE_SUFFIX: Final = "-bridge"
CONSULT_MARK: Final = "-consult"
QUEUE_MARK: Final = "-queue"
QUEUE_BRIDGE_NAME: Final = "cti-queue:"
ECHO_CONTEXT: Final = "cti-echo"  # the dialplan context that echoes (ARI has no echo operation)


def leg_id(call_id: str, n: int) -> ChannelId:
    return ChannelId(f"{call_id}{LEG_MARK}{n}")


def bridge_id(call_id: str, n: int = 1) -> BridgeId:
    """The call's n-th bridge (see the module docstring)."""
    return BridgeId(f"{call_id}{BRIDGE_SUFFIX}" if n == 1 else f"{call_id}{BRIDGE_SUFFIX}{n}")


def bridge_number(bridge: str) -> int:
    """Which of its call's bridges ``bridge`` is (1 for ``<call>-bridge``)."""
    _, _, n = bridge.rpartition(BRIDGE_SUFFIX)
    return int(n) if n.isdigit() else 1


def consult_bridge_id(call_id: str, n: int) -> BridgeId:
    return BridgeId(f"{call_id}{CONSULT_MARK}{n}")


def queue_bridge_id(call_id: str, n: int) -> BridgeId:
    return BridgeId(f"{call_id}{QUEUE_MARK}{n}")


def queue_bridge_name(queue: str) -> str:
    return f"{QUEUE_BRIDGE_NAME}{queue}"


def queue_of_bridge(bridge_id: str, name: str) -> str | None:
    """The queue a holding bridge of ours holds callers for, or None if it is not one."""
    if QUEUE_MARK in bridge_id and name.startswith(QUEUE_BRIDGE_NAME):
        return name.removeprefix(QUEUE_BRIDGE_NAME) or None
    return None


def ivr_playback_id(call_id: str, session: int, token: int) -> PlaybackId:
    # The session number keeps ids unique when a call enters the IVR again (a transfer to 500):
    # the tokens of each IVR session start at 1.
    return PlaybackId(f"{call_id}-p{token}" if session == 1 else f"{call_id}-s{session}p{token}")


def say_playback_id(call_id: str, n: int) -> PlaybackId:
    return PlaybackId(f"{call_id}-say{n}")


def is_leg(channel_id: str) -> bool:
    return LEG_MARK in channel_id


def call_of(resource_id: str) -> str:
    """The call id of one of our legs or bridges (a caller's channel id is its own call id)."""
    for mark in (LEG_MARK, CONSULT_MARK, QUEUE_MARK, BRIDGE_SUFFIX):
        if mark in resource_id:
            return resource_id.split(mark, 1)[0]
    return resource_id


def is_call_bridge(bridge: str) -> bool:
    head, mark, n = bridge.rpartition(BRIDGE_SUFFIX)
    return bool(head and mark) and (n == "" or n.isdigit())


def is_consult_bridge(bridge: str) -> bool:
    return CONSULT_MARK in bridge


def extension_of(channel_name: str) -> str:
    """``"PJSIP/2000-00000001"`` -> ``"2000"``; ``""`` when the name has no resource."""
    _, _, rest = channel_name.partition("/")
    return rest.rsplit("-", 1)[0] if "-" in rest else rest


def endpoint_of(channel_name: str) -> str:
    """``"PJSIP/2000-00000001"`` -> ``"PJSIP/2000"``: the endpoint id a channel belongs to."""
    technology, _, _ = channel_name.partition("/")
    return f"{technology}/{extension_of(channel_name)}"


__all__ = [
    "BRIDGE_SUFFIX",
    "CLICK_ARG",
    "CONSULT_MARK",
    "ECHO_CONTEXT",
    "LEG_ARG",
    "LEG_MARK",
    "QUEUE_BRIDGE_NAME",
    "QUEUE_MARK",
    "bridge_id",
    "bridge_number",
    "call_of",
    "consult_bridge_id",
    "endpoint_of",
    "extension_of",
    "is_call_bridge",
    "is_consult_bridge",
    "is_leg",
    "ivr_playback_id",
    "leg_id",
    "queue_bridge_id",
    "queue_bridge_name",
    "queue_of_bridge",
    "say_playback_id",
]
